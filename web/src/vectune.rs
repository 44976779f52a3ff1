//! The `Vectune` class: the browser's face of the model manager ([`crate::manager`]) and the
//! predictions ([`crate::predict`]). Images are RGBA8 buffers (`ImageData.data`, a `Uint8Array`),
//! parameters plain objects (omitted ones take VTracer's defaults), results plain objects with the
//! same fields as the native CLI's `--json`. Bad input throws an `Error` with the core's message;
//! a missing or bad model never throws: its task is unavailable (see `status()`) and quality
//! predictions come from the heuristic, saying `source: "heuristic"`.

use core::cell::RefCell;

use js_sys::{
    Array, ArrayBuffer, Float32Array, Map, Object, Reflect, Uint8Array, Uint8ClampedArray,
};
use serde::Serialize;
use vectune_core::backend::{Backend, MemoryUsage};
use vectune_core::features;
use vectune_core::image::ImageRef;
use vectune_core::manifest::ModelEntry;
use vectune_core::params::Params;
use wasm_bindgen::prelude::*;

use crate::backend::NAME;
use crate::error::{js_error, to_js};
use crate::manager::{ModelManager, ModelReport, QualityPath};
use crate::predict::{self, Encoded, Prediction};

/// vectune with its models loaded (or none: then quality comes from the heuristic).
#[wasm_bindgen]
pub struct Vectune {
    manager: ModelManager,
    /// The last image the split form encoded (`predict`, `predictParams`).
    encoded: RefCell<Option<Encoded>>,
}

#[derive(Serialize)]
struct StatusJs<'a> {
    backend: &'static str,
    version: &'static str,
    simd: bool,
    quality: QualityPath,
    classifier: bool,
    correlation: bool,
    manifest_error: Option<&'a str>,
    models: &'a [ModelReport],
    memory: MemoryUsage,
}

/// One answer of `predictBatch`: a prediction or, for that item alone, an error.
#[derive(Serialize)]
#[serde(untagged)]
enum BatchAnswer {
    Prediction(Prediction),
    Error { error: String },
}

/// Bytes of a `Uint8Array`, `Uint8ClampedArray` or `ArrayBuffer` (copied into wasm memory).
fn bytes_of(value: &JsValue) -> Option<Vec<u8>> {
    if value.is_instance_of::<Uint8Array>()
        || value.is_instance_of::<Uint8ClampedArray>()
        || value.is_instance_of::<ArrayBuffer>()
    {
        Some(Uint8Array::new(value).to_vec())
    } else {
        None
    }
}

/// `obj[key]` for a `Map` or a plain object; `undefined` when absent.
fn lookup(models: &JsValue, key: &str) -> JsValue {
    if let Some(map) = models.dyn_ref::<Map>() {
        map.get(&JsValue::from_str(key))
    } else {
        Reflect::get(models, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }
}

/// The manifest as JSON text: a string as is, an object through `JSON.stringify`.
fn manifest_text(manifest: &JsValue) -> Result<String, JsError> {
    if let Some(s) = manifest.as_string() {
        return Ok(s);
    }
    if manifest.is_object() {
        let text = js_sys::JSON::stringify(manifest)
            .map_err(|_| JsError::new("manifest: JSON.stringify failed"))?;
        return Ok(String::from(text));
    }
    Err(JsError::new(
        "manifest must be the text of manifest.json or the parsed object",
    ))
}

/// A JS number that must be a whole `u32` (a width or a height).
fn dimension(value: &JsValue, what: &str) -> Result<u32, String> {
    match value.as_f64() {
        Some(v) if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) => Ok(v as u32),
        _ => Err(format!("{what} must be a whole number of pixels")),
    }
}

/// A JS array of parameter objects.
fn params_list(list: &JsValue) -> Result<Vec<Params>, JsError> {
    let array = list
        .dyn_ref::<Array>()
        .ok_or_else(|| JsError::new("parameter sets must be an array of objects"))?;
    array
        .iter()
        .enumerate()
        .map(|(i, p)| {
            crate::params::parse_value(p).map_err(|e| JsError::new(&format!("params[{i}]: {e}")))
        })
        .collect()
}

/// One `predictBatch` item: `{rgba, width, height, params}`.
struct BatchItem {
    rgba: JsValue,
    width: u32,
    height: u32,
    params: Params,
}

fn batch_item(item: &JsValue) -> Result<BatchItem, String> {
    if !item.is_object() {
        return Err("must be an object {rgba, width, height, params}".into());
    }
    let field = |name: &str| Reflect::get(item, &JsValue::from_str(name)).unwrap_or_default();
    Ok(BatchItem {
        rgba: field("rgba"),
        width: dimension(&field("width"), "width")?,
        height: dimension(&field("height"), "height")?,
        params: crate::params::parse_value(field("params"))?,
    })
}

#[wasm_bindgen]
impl Vectune {
    /// `new Vectune(manifest, models)`: `manifest` is the text of `manifest.json` or its parsed
    /// object (`undefined` for no models at all); `models` maps each model's name or file name to
    /// its bytes (`Uint8Array` or `ArrayBuffer`), as a plain object or a `Map`. Every file's
    /// sha256 is checked against the manifest before it is parsed; see `status()` for what loaded.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string | Manifest | undefined")] manifest: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ModelBytes | undefined")] models: JsValue,
    ) -> Result<Vectune, JsError> {
        if manifest.is_undefined() || manifest.is_null() {
            return Ok(Vectune {
                manager: ModelManager::empty(),
                encoded: RefCell::default(),
            });
        }
        let text = manifest_text(&manifest)?;
        if !(models.is_undefined() || models.is_null() || models.is_object()) {
            return Err(JsError::new(
                "models must be an object or a Map of model name (or file name) to bytes",
            ));
        }
        let manager = ModelManager::load(&text, |entry: &ModelEntry| {
            if models.is_undefined() || models.is_null() {
                return Err(format!("no bytes were given for `{}`", entry.file));
            }
            let mut value = lookup(&models, &entry.name);
            if value.is_undefined() {
                value = lookup(&models, &entry.file);
            }
            if value.is_undefined() || value.is_null() {
                return Err(format!(
                    "no bytes were given for `{}` (model `{}`)",
                    entry.file, entry.name
                ));
            }
            if let Some(why) = value.as_string() {
                return Err(format!("cannot use `{}`: {why}", entry.file));
            }
            bytes_of(&value).ok_or_else(|| {
                format!(
                    "the bytes for `{}` must be a Uint8Array or an ArrayBuffer",
                    entry.file
                )
            })
        });
        Ok(Vectune {
            manager,
            encoded: RefCell::default(),
        })
    }

    /// Predicted SSIM for an RGBA8 image and one parameter object:
    /// `{ssim, source: "model"|"heuristic", params, fallback?}`. The last image's encoding is
    /// kept: calling again with the same pixels (a slider moving) runs only the model's head.
    #[wasm_bindgen(unchecked_return_type = "Prediction")]
    pub fn predict(
        &self,
        rgba: &[u8],
        width: u32,
        height: u32,
        #[wasm_bindgen(unchecked_param_type = "ParamsInput")] params: JsValue,
    ) -> Result<JsValue, JsError> {
        let image = ImageRef::new(rgba, width, height).map_err(js_error)?;
        let params = crate::params::parse(params)?;
        let mut out =
            predict::predict_params_cached(&self.manager, &self.encoded, &image, &[params]);
        to_js(&out.pop())
    }

    /// Predictions for one image and many parameter objects, in order; the image is preprocessed
    /// and encoded once (encoder + head when the manifest has them).
    #[wasm_bindgen(js_name = predictParams, unchecked_return_type = "Prediction[]")]
    pub fn predict_params(
        &self,
        rgba: &[u8],
        width: u32,
        height: u32,
        #[wasm_bindgen(unchecked_param_type = "ParamsInput[]")] params: JsValue,
    ) -> Result<JsValue, JsError> {
        let image = ImageRef::new(rgba, width, height).map_err(js_error)?;
        let params = params_list(&params)?;
        to_js(&predict::predict_params_cached(
            &self.manager,
            &self.encoded,
            &image,
            &params,
        ))
    }

    /// Predictions for many `{rgba, width, height, params}` items, in order. An item that is
    /// invalid gets `{error}` in its place and the others are still answered; items sharing one
    /// `rgba` object (and size) are encoded once.
    #[wasm_bindgen(js_name = predictBatch, unchecked_return_type = "BatchAnswer[]")]
    pub fn predict_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "BatchItem[]")] items: JsValue,
    ) -> Result<JsValue, JsError> {
        let items = items.dyn_ref::<Array>().ok_or_else(|| {
            JsError::new("predictBatch takes an array of {rgba, width, height, params}")
        })?;
        let mut answers: Vec<Option<BatchAnswer>> = Vec::with_capacity(items.length() as usize);
        // (representative item, slots, parameter sets): one group per distinct image.
        let mut groups: Vec<(BatchItem, Vec<usize>, Vec<Params>)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match batch_item(&item) {
                Ok(item) => {
                    let same = groups.iter_mut().find(|(g, _, _)| {
                        Object::is(&g.rgba, &item.rgba)
                            && g.width == item.width
                            && g.height == item.height
                    });
                    match same {
                        Some((_, slots, params)) => {
                            slots.push(i);
                            params.push(item.params);
                        }
                        None => {
                            let params = vec![item.params];
                            groups.push((item, vec![i], params));
                        }
                    }
                    answers.push(None);
                }
                Err(e) => answers.push(Some(BatchAnswer::Error {
                    error: format!("items[{i}]: {e}"),
                })),
            }
        }
        for (item, slots, params) in groups {
            let predictions = bytes_of(&item.rgba)
                .ok_or_else(|| {
                    "rgba must be a Uint8Array, Uint8ClampedArray or ArrayBuffer".to_string()
                })
                .and_then(|rgba| {
                    let image =
                        ImageRef::new(&rgba, item.width, item.height).map_err(|e| e.to_string())?;
                    Ok(predict::predict_params(&self.manager, &image, &params))
                });
            match predictions {
                Ok(predictions) => {
                    for (slot, p) in slots.into_iter().zip(predictions) {
                        answers[slot] = Some(BatchAnswer::Prediction(p));
                    }
                }
                Err(e) => {
                    for slot in slots {
                        answers[slot] = Some(BatchAnswer::Error {
                            error: format!("items[{slot}]: {e}"),
                        });
                    }
                }
            }
        }
        to_js(&answers)
    }

    /// The logo's class and every class's probability: `{class, probabilities: {name: p}}`;
    /// throws when no classifier model is ready.
    #[wasm_bindgen(unchecked_return_type = "Classification")]
    pub fn classify(&self, rgba: &[u8], width: u32, height: u32) -> Result<JsValue, JsError> {
        let image = ImageRef::new(rgba, width, height).map_err(js_error)?;
        let c = predict::classify(&self.manager, &image).map_err(|e| JsError::new(&e))?;
        to_js(&c)
    }

    /// Runs one loaded graph on raw tensors, as onnxruntime-web's `session.run` does (for
    /// benchmarks and custom pipelines): `task` is `"quality"`, `"quality_encoder"`,
    /// `"quality_head"` or `"classifier"`; `feeds` maps each graph input name to `{data:
    /// Float32Array, shape: number[]}`. Returns the first output, flattened. No preprocessing:
    /// the inputs must already be what the graph takes (see the manifest).
    #[wasm_bindgen(js_name = runModel)]
    pub fn run_model(
        &self,
        task: &str,
        #[wasm_bindgen(
            unchecked_param_type = "Record<string, { data: Float32Array; shape: number[] }>"
        )]
        feeds: JsValue,
    ) -> Result<Float32Array, JsError> {
        let model = self.manager.models().by_task(task).map_err(js_error)?;
        if !feeds.is_object() {
            return Err(JsError::new(
                "feeds must be an object {inputName: {data: Float32Array, shape: number[]}}",
            ));
        }
        let mut owned: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
        for name in model.input_names() {
            let feed = Reflect::get(&feeds, &JsValue::from_str(name)).unwrap_or_default();
            if feed.is_undefined() || feed.is_null() {
                return Err(JsError::new(&format!("feeds has no input `{name}`")));
            }
            let data = Reflect::get(&feed, &JsValue::from_str("data")).unwrap_or_default();
            let data = data.dyn_ref::<Float32Array>().ok_or_else(|| {
                JsError::new(&format!("feeds.{name}.data must be a Float32Array"))
            })?;
            let shape = Reflect::get(&feed, &JsValue::from_str("shape")).unwrap_or_default();
            let shape = shape
                .dyn_ref::<Array>()
                .ok_or_else(|| JsError::new(&format!("feeds.{name}.shape must be an array")))?
                .iter()
                .map(|d| dimension(&d, &format!("feeds.{name}.shape[]")).map(|d| d as usize))
                .collect::<Result<Vec<usize>, String>>()
                .map_err(|e| JsError::new(&e))?;
            owned.push((name.clone(), shape, data.to_vec()));
        }
        let refs: Vec<(&str, Vec<usize>, &[f32])> = owned
            .iter()
            .map(|(n, s, d)| (n.as_str(), s.clone(), d.as_slice()))
            .collect();
        let out = model.run(&refs).map_err(js_error)?;
        Ok(Float32Array::from(out.as_slice()))
    }

    /// Suggested parameters for the logo: the smallest predicted SVG whose predicted SSIM reaches
    /// `target` (default 0.95) plus the safety `margin` (default 0), else the most faithful
    /// candidate; as `vectune suggest --json`.
    #[wasm_bindgen(unchecked_return_type = "Suggestion")]
    pub fn suggest(
        &self,
        rgba: &[u8],
        width: u32,
        height: u32,
        target: Option<f32>,
        margin: Option<f32>,
    ) -> Result<JsValue, JsError> {
        let image = ImageRef::new(rgba, width, height).map_err(js_error)?;
        let target = target.unwrap_or(vectune_core::suggest::DEFAULT_TARGET);
        let margin = margin.unwrap_or(vectune_core::suggest::DEFAULT_MARGIN);
        let s = predict::suggest(&self.manager, &image, target, margin)
            .map_err(|e| JsError::new(&e))?;
        to_js(&s)
    }

    /// The heuristic's prediction (no model), in the same shape as `predict`.
    #[wasm_bindgen(unchecked_return_type = "Prediction")]
    pub fn heuristic(
        &self,
        rgba: &[u8],
        width: u32,
        height: u32,
        #[wasm_bindgen(unchecked_param_type = "ParamsInput")] params: JsValue,
    ) -> Result<JsValue, JsError> {
        let image = ImageRef::new(rgba, width, height).map_err(js_error)?;
        let params = crate::params::parse(params)?;
        to_js(&vectune_core::predict::heuristic_from(
            &features::compute(&image),
            params,
            None,
        ))
    }

    /// Image statistics of an RGBA8 buffer, as the free function `features`.
    #[wasm_bindgen(unchecked_return_type = "Features")]
    pub fn features(&self, rgba: &[u8], width: u32, height: u32) -> Result<JsValue, JsError> {
        crate::features::features(rgba, width, height)
    }

    /// The vectune version.
    pub fn version(&self) -> String {
        crate::version()
    }

    /// What loaded and how predictions are made: `{backend, version, simd, quality:
    /// "split"|"combined"|"heuristic", classifier, correlation, manifest_error, models: [{name, task, format,
    /// backend, status: {state, reason?}, load_ms, warmup_ms, bytes}], memory}`.
    #[wasm_bindgen(unchecked_return_type = "Status")]
    pub fn status(&self) -> Result<JsValue, JsError> {
        to_js(&StatusJs {
            backend: NAME,
            version: vectune_core::VERSION,
            simd: cfg!(target_feature = "simd128"),
            quality: self.manager.quality_path(),
            classifier: self.manager.models().has_classifier(),
            correlation: self.manager.correlation().is_some(),
            manifest_error: self.manager.manifest_error(),
            models: self.manager.reports(),
            memory: self.manager.models().memory(),
        })
    }
}
