//! The domain API, `/v1`: JSON in and out; an image arrives as base64 in the JSON body
//! (`"image"`, a data URL's prefix allowed), as the `image` file part of a `multipart/form-data`
//! body (the other fields as parts holding JSON), or as the `image_id` of an earlier upload. The
//! numbers are the CLI's: the same manager, the same core calls.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use vectune_core::features;
use vectune_core::image::ImageRef;
use vectune_core::manifest::sha256_hex;
use vectune_core::params::{ParamKind, Params, SCHEMA};
use vectune_core::predict::Prediction;

use super::error::ApiError;
use super::{Shared, Timing};
use crate::image::RgbaImage;
use crate::manager::ModelManager;

/// The `/v1` routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/images", post(images))
        .route("/v1/predict", post(predict))
        .route("/v1/predict/batch", post(predict_batch))
        .route("/v1/classify", post(classify))
        .route("/v1/suggest", post(suggest))
        .route("/v1/measure", post(measure))
        .route("/v1/params", get(params))
        .route("/v1/models", get(models))
        .route("/v1/models/{name}/reload", post(reload))
}

/// A request body of type `T` from JSON or from `multipart/form-data`, with the image file's
/// bytes when it came as a part.
pub struct Body<T> {
    /// The fields.
    pub fields: T,
    /// The `image` part of a multipart body.
    pub file: Option<Vec<u8>>,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            let Json(fields) = Json::<T>::from_request(req, state).await?;
            return Ok(Body { fields, file: None });
        }
        let bad = |e: axum::extract::multipart::MultipartError| {
            let status = e.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(status, "payload_too_large", e.body_text())
            } else {
                ApiError::bad_input(
                    "body",
                    format!("malformed multipart body: {}", e.body_text()),
                )
            }
        };
        let mut parts = Multipart::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_input("body", e.body_text()))?;
        let mut object = Map::new();
        let mut file = None;
        while let Some(part) = parts.next_field().await.map_err(bad)? {
            let name = part.name().unwrap_or_default().to_string();
            if name == "image" {
                file = Some(part.bytes().await.map_err(bad)?.to_vec());
                continue;
            }
            let text = part.text().await.map_err(bad)?;
            // a part holds JSON (`0.95`, `true`, `{"color_precision": 4}`), else a plain string
            let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            object.insert(name, value);
        }
        let fields = serde_json::from_value(Value::Object(object)).map_err(|e| {
            let message = e.to_string();
            let field = message.split('`').nth(1).unwrap_or("body").to_string();
            ApiError::bad_input(&field, message)
        })?;
        Ok(Body { fields, file })
    }
}

/// A request's image fields, taken out of its body.
fn image_fields(image: Option<String>, image_id: Option<String>) -> ImageFields {
    ImageFields { image, image_id }
}

/// Where a request's image comes from.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ImageFields {
    /// Base64 of a PNG or JPEG file (a `data:...;base64,` prefix is skipped).
    #[serde(default)]
    pub image: Option<String>,
    /// The id `/v1/images` answered.
    #[serde(default)]
    pub image_id: Option<String>,
}

/// An image ready to use: its id (the sha256 of its file's bytes) and pixels.
pub struct Resolved {
    /// The id.
    pub id: String,
    /// The pixels.
    pub image: Arc<RgbaImage>,
    /// Decoding time, ms (0 for a kept image).
    pub decode_ms: f64,
}

/// The file's bytes of a request: a multipart part, else base64 in `image`.
fn file_bytes(fields: &ImageFields, file: Option<Vec<u8>>) -> Result<Option<Vec<u8>>, ApiError> {
    if let Some(f) = file {
        return Ok(Some(f));
    }
    let Some(b64) = &fields.image else {
        return Ok(None);
    };
    let data = b64.find("base64,").map_or(b64.as_str(), |i| &b64[i + 7..]);
    base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map(Some)
        .map_err(|e| ApiError::bad_input("image", format!("`image` is not base64: {e}")))
}

/// Decodes (on the calling worker) or looks up the request's image; a decoded image is kept for
/// later requests by its id.
fn resolve(
    state: &Shared,
    fields: &ImageFields,
    bytes: Option<Vec<u8>>,
) -> Result<Resolved, ApiError> {
    match (bytes, &fields.image_id) {
        (Some(bytes), None) => {
            let start = Instant::now();
            let id = sha256_hex(&bytes);
            let image = crate::image::decode(&bytes, std::path::Path::new("image"))?;
            image.view().map_err(vectune_core::error::Error::from)?;
            let image = Arc::new(image);
            state.keep_image(&id, image.clone());
            Ok(Resolved {
                id,
                image,
                decode_ms: start.elapsed().as_secs_f64() * 1e3,
            })
        }
        (None, Some(id)) => state
            .image(id)
            .map(|image| Resolved {
                id: id.clone(),
                image,
                decode_ms: 0.0,
            })
            .ok_or_else(|| {
                let mut e = ApiError::not_found(format!(
                    "no image `{id}` is kept (upload it with POST /v1/images, or send `image`)"
                ));
                e.field = Some("image_id".into());
                e
            }),
        (Some(_), Some(_)) => Err(ApiError::bad_input(
            "image_id",
            "give `image` or `image_id`, not both",
        )),
        (None, None) => Err(ApiError::bad_input(
            "image",
            "no image: give `image` (base64), an `image` file part, or `image_id`",
        )),
    }
}

/// `params` as one object (or absent: VTracer's defaults) or an array of objects.
fn parse_params(value: Option<Value>, max: usize) -> Result<(Vec<Params>, bool), ApiError> {
    let one = |v: Value, field: &str| {
        serde_json::from_value::<Params>(v).map_err(|e| ApiError::bad_input(field, e.to_string()))
    };
    match value {
        None | Some(Value::Null) => Ok((vec![Params::default()], false)),
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err(ApiError::bad_input("params", "`params` is an empty list"));
            }
            if items.len() > max {
                return Err(ApiError::bad_input(
                    "params",
                    format!(
                        "{} parameter sets is more than the limit of {max} (--max-params)",
                        items.len()
                    ),
                ));
            }
            let sets = items
                .into_iter()
                .enumerate()
                .map(|(i, v)| one(v, &format!("params[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((sets, true))
        }
        Some(v @ Value::Object(_)) => Ok((vec![one(v, "params")?], false)),
        Some(_) => Err(ApiError::bad_input(
            "params",
            "`params` must be an object or a list of objects",
        )),
    }
}

fn prediction_json(p: &Prediction) -> Value {
    let mut v = json!({ "ssim": p.ssim, "source": p.source, "params": p.params });
    if let Some(f) = &p.fallback {
        v["fallback"] = json!(f);
    }
    v
}

/// Counts predictions that fell back to the heuristic although a model was configured.
fn count_fallbacks(state: &Shared, manager: &ModelManager, predictions: &[Prediction]) {
    if predictions.iter().any(|p| p.fallback.is_some()) {
        let model = manager
            .quality_version()
            .unwrap_or_else(|| "quality".into());
        state
            .metrics()
            .failures
            .with_label_values(&[model.as_str(), "fallback"])
            .inc();
    }
}

fn timing(decode_ms: f64, t: Timing, total: Instant) -> Value {
    json!({
        "decode_ms": decode_ms,
        "queue_ms": t.queue_ms,
        "inference_ms": (t.work_ms - decode_ms).max(0.0),
        "total_ms": total.elapsed().as_secs_f64() * 1e3,
    })
}

/// Admits a request, then on a worker resolves its image (decoding the bytes, or the kept one by
/// id) and runs `work` on it with the manager; returns the image, what `work` answered, and the
/// time it waited and worked.
async fn on_image<T: Send + 'static>(
    state: &Shared,
    route: &'static str,
    image: ImageFields,
    file: Option<Vec<u8>>,
    work: impl FnOnce(&ModelManager, &ImageRef<'_>, &Resolved) -> Result<T, ApiError> + Send + 'static,
) -> Result<(Resolved, T, Timing, Arc<ModelManager>), ApiError> {
    let (_admitted, manager) = state.admit()?;
    let bytes = file_bytes(&image, file)?;
    let (s, m) = (state.clone(), manager.clone());
    let ((r, out), t) = state
        .run(route, move || {
            let r = resolve(&s, &image, bytes)?;
            let view = r.image.view().map_err(vectune_core::error::Error::from)?;
            let out = work(&m, &view, &r)?;
            Ok((r, out))
        })
        .await?;
    Ok((r, out, t, manager))
}

fn to_value(v: &impl serde::Serialize) -> Result<Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::internal(e.to_string()))
}

/// `POST /v1/images`: decodes and keeps an image (and its encoding) for later requests by id.
async fn images(
    State(state): State<Shared>,
    body: Body<ImageFields>,
) -> Result<Json<Value>, ApiError> {
    let total = Instant::now();
    if body.fields.image_id.is_some() || (body.fields.image.is_none() && body.file.is_none()) {
        return Err(ApiError::bad_input(
            "image",
            "give the image itself: `image` (base64) or an `image` file part",
        ));
    }
    let (r, f, t, _) = on_image(
        &state,
        "/v1/images",
        body.fields,
        body.file,
        |m, view, _| {
            // the encoding goes into the manager's embedding cache for the slider requests to come
            crate::predict::predict_params(m, view, &[Params::default()]);
            Ok(features::compute(view))
        },
    )
    .await?;
    Ok(Json(json!({
        "image_id": r.id,
        "width": r.image.width,
        "height": r.image.height,
        "features": f,
        "timing": timing(r.decode_ms, t, total),
    })))
}

/// An image and parameters: the body of predict (one set or a list), of a batch item, and of
/// measure (one set).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PredictFields {
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    image_id: Option<String>,
    #[serde(default)]
    params: Option<Value>,
}

/// `POST /v1/predict`: one parameter set (`"params": {...}`) or many (`"params": [...]`, the
/// image encoded once).
async fn predict(
    State(state): State<Shared>,
    body: Body<PredictFields>,
) -> Result<Json<Value>, ApiError> {
    let total = Instant::now();
    let Body { fields, file } = body;
    let (sets, many) = parse_params(fields.params, state.config().max_params)?;
    let image = image_fields(fields.image, fields.image_id);
    let (r, predictions, t, manager) =
        on_image(&state, "/v1/predict", image, file, move |m, view, _| {
            Ok(crate::predict::predict_params(m, view, &sets))
        })
        .await?;
    count_fallbacks(&state, &manager, &predictions);
    let mut out = if many {
        json!({ "predictions": predictions.iter().map(prediction_json).collect::<Vec<_>>() })
    } else {
        prediction_json(&predictions[0])
    };
    merge(
        &mut out,
        json!({
            "image_id": r.id,
            "backend": manager.backend_kind().name(),
            "model_version": manager.quality_version(),
            "timing": timing(r.decode_ms, t, total),
        }),
    );
    Ok(Json(out))
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, from) {
        a.extend(b);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchFields {
    items: Vec<Value>,
}

/// `POST /v1/predict/batch`: `{"items": [{"image"|"image_id", "params"}, ...]}`, answers in order;
/// an item that fails gets `{"error": {...}}` in its place and the others are still answered.
async fn predict_batch(
    State(state): State<Shared>,
    body: Result<Json<BatchFields>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body?;
    let total = Instant::now();
    let (_admitted, manager) = state.admit()?;
    let max = state.config().max_batch_items;
    if body.items.len() > max {
        return Err(ApiError::bad_input(
            "items",
            format!(
                "{} items is more than the limit of {max} (--max-batch-items)",
                body.items.len()
            ),
        ));
    }
    let max_params = state.config().max_params;
    let s = state.clone();
    let m = manager.clone();
    let (results, t) = state
        .run("/v1/predict/batch", move || {
            let mut sets_total = 0usize;
            let results: Vec<Value> = body
                .items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    let answer = (|| {
                        let f: PredictFields = serde_json::from_value(item).map_err(|e| {
                            ApiError::bad_input(&format!("items[{i}]"), e.to_string())
                        })?;
                        let (sets, many) = parse_params(f.params, max_params)?;
                        let image = image_fields(f.image, f.image_id);
                        sets_total += sets.len();
                        if sets_total > max_params {
                            return Err(ApiError::bad_input(
                                "items",
                                format!("more than {max_params} parameter sets in all (--max-params)"),
                            ));
                        }
                        let bytes = file_bytes(&image, None)?;
                        let r = resolve(&s, &image, bytes)?;
                        let view = r.image.view().map_err(vectune_core::error::Error::from)?;
                        let p = crate::predict::predict_params(&m, &view, &sets);
                        let mut v = if many {
                            json!({ "predictions": p.iter().map(prediction_json).collect::<Vec<_>>() })
                        } else {
                            prediction_json(&p[0])
                        };
                        merge(&mut v, json!({ "image_id": r.id }));
                        Ok(v)
                    })();
                    answer.unwrap_or_else(|e: ApiError| {
                        json!({ "error": { "code": e.code, "message": format!("items[{i}]: {}", e.message), "field": e.field } })
                    })
                })
                .collect();
            Ok(results)
        })
        .await?;
    Ok(Json(json!({
        "results": results,
        "backend": manager.backend_kind().name(),
        "model_version": manager.quality_version(),
        "timing": timing(0.0, t, total),
    })))
}

/// `POST /v1/classify`: the logo's class and every class's probability.
async fn classify(
    State(state): State<Shared>,
    body: Body<ImageFields>,
) -> Result<Json<Value>, ApiError> {
    let total = Instant::now();
    let (r, c, t, _) = on_image(
        &state,
        "/v1/classify",
        body.fields,
        body.file,
        |m, view, _| Ok(crate::classify::classify(m, view)?),
    )
    .await?;
    let mut out = to_value(&c)?;
    merge(
        &mut out,
        json!({ "image_id": r.id, "timing": timing(r.decode_ms, t, total) }),
    );
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuggestFields {
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    image_id: Option<String>,
    #[serde(default = "default_target")]
    target: f32,
    #[serde(default)]
    margin: f32,
    #[serde(default)]
    verify: bool,
}

fn default_target() -> f32 {
    vectune_core::suggest::DEFAULT_TARGET
}

/// `POST /v1/suggest`: suggested parameters (`target`, `margin`), measured with VTracer when
/// `verify` is true (`"verified"`, as `vectune suggest --verify --json`).
async fn suggest(
    State(state): State<Shared>,
    body: Body<SuggestFields>,
) -> Result<Json<Value>, ApiError> {
    let total = Instant::now();
    let Body { fields, file } = body;
    let (target, margin, verify) = (fields.target, fields.margin, fields.verify);
    let image = image_fields(fields.image, fields.image_id);
    let (r, (suggestion, verified), t, _) =
        on_image(&state, "/v1/suggest", image, file, move |m, view, r| {
            let suggestion = crate::suggest::suggest(m, view, target, margin)?;
            let verified = if verify {
                Some(crate::suggest::verify(&suggestion, view, &r.id)?)
            } else {
                None
            };
            Ok((suggestion, verified))
        })
        .await?;
    let mut out = to_value(&suggestion)?;
    if let Some(v) = verified {
        out["verified"] = to_value(&v)?;
    }
    merge(
        &mut out,
        json!({ "image_id": r.id, "timing": timing(r.decode_ms, t, total) }),
    );
    Ok(Json(out))
}

/// `POST /v1/measure`: the real thing, VTracer + render + SSIM (as `vectune measure`), with the
/// SVG.
async fn measure(
    State(state): State<Shared>,
    body: Body<PredictFields>,
) -> Result<Json<Value>, ApiError> {
    let total = Instant::now();
    let Body { fields, file } = body;
    let (sets, many) = parse_params(fields.params, 1)?;
    if many {
        return Err(ApiError::bad_input(
            "params",
            "measure takes one parameter set (an object)",
        ));
    }
    let params = sets[0];
    let image = image_fields(fields.image, fields.image_id);
    let (r, (m, svg), t, _) = on_image(&state, "/v1/measure", image, file, move |_, view, r| {
        let renderer = vectune_measure::render::Renderer::new();
        let (m, svg) = vectune_measure::measure::measure_with_svg(view, &params, &renderer, &r.id)
            .map_err(vectune_core::error::Error::from)?;
        Ok((m, svg))
    })
    .await?;
    Ok(Json(json!({
        "ssim": m.ssim,
        "svg": svg,
        "bytes": m.svg_bytes,
        "paths": m.path_count,
        "params": params,
        "image_id": r.id,
        "timing": {
            "decode_ms": r.decode_ms,
            "queue_ms": t.queue_ms,
            "vectorize_ms": m.vectorize_ms,
            "total_ms": total.elapsed().as_secs_f64() * 1e3,
        },
    })))
}

/// `GET /v1/params`: the eight parameters (as `vectune params --json`).
async fn params() -> Json<Value> {
    let rows: Vec<Value> = SCHEMA
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "type": match s.kind { ParamKind::Integer => "integer", ParamKind::Float => "float" },
                "min": s.min, "max": s.max, "default": s.default, "step": s.step,
                "unit": s.unit, "description": s.description,
            })
        })
        .collect();
    Json(Value::Array(rows))
}

/// `GET /v1/models`: readiness (and why not), each model's status, load and warm-up times, memory
/// (RSS, peak, per model, limit), the caches and the limits.
async fn models(State(state): State<Shared>) -> Json<Value> {
    let c = state.config();
    let limits = json!({
        "max_body_bytes": c.max_body_bytes,
        "max_params": c.max_params,
        "max_batch_items": c.max_batch_items,
        "max_concurrent_requests": c.max_concurrent_requests,
        "workers": c.workers,
        "max_batch": c.max_batch,
        "queue_timeout_ms": c.queue_timeout.as_millis() as u64,
        "request_timeout_ms": c.request_timeout.as_millis() as u64,
        "max_pixels": vectune_core::image::MAX_PIXELS,
    });
    let mut out = json!({
        "ready": state.is_ready(),
        "not_ready": state.not_ready_reason(),
        "uptime_s": state.uptime_s(),
        "limits": limits,
        "images": state.images_stats(),
    });
    let Some(manager) = state.manager() else {
        merge(&mut out, json!({ "loading": true, "models": [] }));
        return Json(out);
    };
    let reports = manager.reports();
    let attributed = reports
        .iter()
        .filter(|r| r.status == crate::manager::Status::Ready)
        .map(|r| crate::memory::ModelMemory {
            name: r.name.clone(),
            bytes: r.bytes,
        })
        .collect();
    let quality = match manager.models().quality_path() {
        Some(vectune_core::models::QualityPath::Split) => "split",
        Some(vectune_core::models::QualityPath::Combined) => "combined",
        None => "heuristic",
    };
    let encodings = manager
        .encodings()
        .lock()
        .map(|e| e.stats())
        .unwrap_or_default();
    merge(
        &mut out,
        json!({
            "loading": false,
            "backend": manager.backend_kind().name(),
            "backend_reason": manager.backend_reason(),
            "manifest_error": manager.manifest_error(),
            "quality": quality,
            "degraded": quality == "heuristic",
            "model_version": manager.quality_version(),
            "models": reports,
            "memory": state.monitor().report(attributed),
            "cache": manager.cache_stats(),
            "encodings": encodings,
        }),
    );
    Json(out)
}

/// `POST /v1/models/{name}/reload` (only with `--admin-token`, and then only with it): loads the
/// model's file again and swaps it in; the old one serves until the new one is verified and warmed.
async fn reload(
    State(state): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let Some(token) = state.config().admin_token.clone() else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "reload is off: start the service with --admin-token",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given != Some(token.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "reload needs `Authorization: Bearer <the --admin-token>`",
        ));
    }
    let manager = state
        .manager()
        .cloned()
        .ok_or_else(|| ApiError::unavailable("not_ready", "models are loading"))?;
    let refreshed = state.clone();
    let (report, _) = state
        .run("/v1/models/{name}/reload", move || {
            let known = manager.entry(&name).is_some();
            manager.reload(&name).map_err(|e| {
                if known || manager.entry(&name).is_some() {
                    ApiError::from(e)
                } else {
                    // a name the manifest does not have is the client's mistake
                    let mut not_found = ApiError::not_found(e.to_string());
                    not_found.model = Some(name.clone());
                    not_found
                }
            })
        })
        .await
        .inspect_err(|_| refreshed.refresh_ready())?;
    refreshed.refresh_ready();
    Ok(Json(
        serde_json::to_value(&report).map_err(|e| ApiError::internal(e.to_string()))?,
    ))
}
