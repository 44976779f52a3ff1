//! The `Vectune` class: the browser's face of the core's models ([`crate::manager`]) and the
//! predictions ([`crate::predict`]). Images are RGBA8 buffers (`ImageData.data`, a `Uint8Array`),
//! parameters plain objects (omitted ones take VTracer's defaults), results plain objects with the
//! same fields as the native CLI's `--json`. Bad input throws an `Error` with the core's message
//! and `kind: "bad_input"`; a missing or bad model never throws from a prediction: its task is
//! unavailable (see `status()`) and quality predictions come from the heuristic, saying
//! `source: "heuristic"`.

use core::cell::RefCell;

use js_sys::{
    Array, ArrayBuffer, Float32Array, Map, Object, Reflect, Uint8Array, Uint8ClampedArray,
};
use serde::Serialize;
use vectune_core::batch::group_by;
use vectune_core::encoding::EncodingCache;
use vectune_core::features;
use vectune_core::image::ImageRef;
use vectune_core::manifest::{ModelEntry, Task};
use vectune_core::models::{Loaded, ModelReport, QualityPath};
use vectune_core::params::Params;
use wasm_bindgen::prelude::*;

use crate::backend::NAME;
use crate::error::{bad_input, js_error, to_js};
use crate::predict::{self, Prediction};

/// vectune with its models loaded (or none: then quality comes from the heuristic).
#[wasm_bindgen]
pub struct Vectune {
    loaded: Loaded,
    /// Encodings of the images predicted for (`predict`, `predictParams`, `predictBatch`).
    encodings: RefCell<EncodingCache>,
}

#[derive(Serialize)]
struct MemoryJs {
    model_bytes: u64,
}

#[derive(Serialize)]
struct StatusJs<'a> {
    backend: &'static str,
    version: &'static str,
    simd: bool,
    quality: &'static str,
    classifier: bool,
    correlation: bool,
    manifest_error: Option<&'a str>,
    models: &'a [ModelReport],
    memory: MemoryJs,
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
fn manifest_text(manifest: &JsValue) -> Result<String, JsValue> {
    if let Some(s) = manifest.as_string() {
        return Ok(s);
    }
    if manifest.is_object() {
        let text = js_sys::JSON::stringify(manifest)
            .map_err(|_| bad_input("manifest: JSON.stringify failed"))?;
        return Ok(String::from(text));
    }
    Err(bad_input(
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
fn params_list(list: &JsValue) -> Result<Vec<Params>, JsValue> {
    let array = list
        .dyn_ref::<Array>()
        .ok_or_else(|| bad_input("parameter sets must be an array of objects"))?;
    array
        .iter()
        .enumerate()
        .map(|(i, p)| {
            crate::params::parse_value(p).map_err(|e| bad_input(format!("params[{i}]: {e}")))
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
    ) -> Result<Vectune, JsValue> {
        let encodings = RefCell::new(EncodingCache::new(predict::ENCODINGS_BYTES));
        if manifest.is_undefined() || manifest.is_null() {
            return Ok(Vectune {
                loaded: crate::manager::empty(),
                encodings,
            });
        }
        let text = manifest_text(&manifest)?;
        if !(models.is_undefined() || models.is_null() || models.is_object()) {
            return Err(bad_input(
                "models must be an object or a Map of model name (or file name) to bytes",
            ));
        }
        let loaded = crate::manager::load(&text, |entry: &ModelEntry| {
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
        Ok(Vectune { loaded, encodings })
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
    ) -> Result<JsValue, JsValue> {
        let image = ImageRef::new(rgba, width, height).map_err(js_error)?;
        let params = crate::params::parse(params)?;
        let mut out = predict::predict_params(&self.loaded, &self.encodings, &image, &[params]);
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
    ) -> Result<JsValue, JsValue> {
        let image = ImageRef::new(rgba, width, height).map_err(js_error)?;
        let params = params_list(&params)?;
        to_js(&predict::predict_params(
            &self.loaded,
            &self.encodings,
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
    ) -> Result<JsValue, JsValue> {
        let items = items.dyn_ref::<Array>().ok_or_else(|| {
            bad_input("predictBatch takes an array of {rgba, width, height, params}")
        })?;
        let mut answers: Vec<Option<BatchAnswer>> = Vec::with_capacity(items.length() as usize);
        // (slot, item) for every item that parsed; grouped by image (the same `rgba` object and
        // size), each group encoded once
        let mut valid: Vec<(usize, BatchItem)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match batch_item(&item) {
                Ok(item) => {
                    valid.push((i, item));
                    answers.push(None);
                }
                Err(e) => answers.push(Some(BatchAnswer::Error {
                    error: format!("items[{i}]: {e}"),
                })),
            }
        }
        let same = |a: &(usize, BatchItem), b: &(usize, BatchItem)| {
            Object::is(&a.1.rgba, &b.1.rgba) && a.1.width == b.1.width && a.1.height == b.1.height
        };
        for group in group_by(&valid, same) {
            let first = &valid[group[0]].1;
            let params: Vec<Params> = group.iter().map(|&k| valid[k].1.params).collect();
            let predictions = bytes_of(&first.rgba)
                .ok_or_else(|| {
                    "rgba must be a Uint8Array, Uint8ClampedArray or ArrayBuffer".to_string()
                })
                .and_then(|rgba| {
                    let image = ImageRef::new(&rgba, first.width, first.height)
                        .map_err(|e| e.to_string())?;
                    Ok(predict::predict_params(
                        &self.loaded,
                        &self.encodings,
                        &image,
                        &params,
                    ))
                });
            for (n, &k) in group.iter().enumerate() {
                let slot = valid[k].0;
                answers[slot] = Some(match &predictions {
                    Ok(p) => BatchAnswer::Prediction(p[n].clone()),
                    Err(e) => BatchAnswer::Error {
                        error: format!("items[{slot}]: {e}"),
                    },
                });
            }
        }
        to_js(&answers)
    }

    /// The logo's class and every class's probability: `{class, probabilities: {name: p}}`;
    /// throws when no classifier model is ready.
    #[wasm_bindgen(unchecked_return_type = "Classification")]
    pub fn classify(&self, rgba: &[u8], width: u32, height: u32) -> Result<JsValue, JsValue> {
        let image = ImageRef::new(rgba, width, height).map_err(js_error)?;
        let c = predict::classify(&self.loaded, &image).map_err(js_error)?;
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
    ) -> Result<Float32Array, JsValue> {
        let task = match task {
            "quality" => Task::Quality,
            "quality_encoder" => Task::QualityEncoder,
            "quality_head" => Task::QualityHead,
            "classifier" => Task::Classifier,
            other => {
                return Err(bad_input(format!(
                    "unknown task `{other}` (quality, quality_encoder, quality_head, classifier)"
                )));
            }
        };
        let model = self.loaded.models.graph(task).map_err(js_error)?;
        if !feeds.is_object() {
            return Err(bad_input(
                "feeds must be an object {inputName: {data: Float32Array, shape: number[]}}",
            ));
        }
        let mut owned: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
        for name in model.input_names() {
            let feed = Reflect::get(&feeds, &JsValue::from_str(name)).unwrap_or_default();
            if feed.is_undefined() || feed.is_null() {
                return Err(bad_input(format!("feeds has no input `{name}`")));
            }
            let data = Reflect::get(&feed, &JsValue::from_str("data")).unwrap_or_default();
            let data = data
                .dyn_ref::<Float32Array>()
                .ok_or_else(|| bad_input(format!("feeds.{name}.data must be a Float32Array")))?;
            let shape = Reflect::get(&feed, &JsValue::from_str("shape")).unwrap_or_default();
            let shape = shape
                .dyn_ref::<Array>()
                .ok_or_else(|| bad_input(format!("feeds.{name}.shape must be an array")))?
                .iter()
                .map(|d| dimension(&d, &format!("feeds.{name}.shape[]")).map(|d| d as usize))
                .collect::<Result<Vec<usize>, String>>()
                .map_err(bad_input)?;
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
    ) -> Result<JsValue, JsValue> {
        let image = ImageRef::new(rgba, width, height).map_err(js_error)?;
        let target = target.unwrap_or(vectune_core::suggest::DEFAULT_TARGET);
        let margin = margin.unwrap_or(vectune_core::suggest::DEFAULT_MARGIN);
        let s = predict::suggest(&self.loaded, &image, target, margin).map_err(js_error)?;
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
    ) -> Result<JsValue, JsValue> {
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
    pub fn features(&self, rgba: &[u8], width: u32, height: u32) -> Result<JsValue, JsValue> {
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
    pub fn status(&self) -> Result<JsValue, JsValue> {
        let models = &self.loaded.models;
        to_js(&StatusJs {
            backend: NAME,
            version: vectune_core::VERSION,
            simd: cfg!(target_feature = "simd128"),
            quality: match models.quality_path() {
                Some(QualityPath::Split) => "split",
                Some(QualityPath::Combined) => "combined",
                None => "heuristic",
            },
            classifier: models.has_classifier(),
            correlation: self.loaded.correlation.is_some(),
            manifest_error: self.loaded.manifest_error.as_deref(),
            models: &self.loaded.reports,
            memory: MemoryJs {
                model_bytes: models.held_bytes(),
            },
        })
    }
}
