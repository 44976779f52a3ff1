//! A subset of the Open Inference Protocol v2 (REST), as Triton, KServe and MLServer speak it, so
//! that KServe can host vectune and Triton/KServe clients work: server metadata and health, model
//! metadata and readiness, and inference with JSON tensors (`FP32`, flat or nested `data`) on the
//! models this runtime runs (the ONNX graphs on ort and tract). The binary-tensor extension is not
//! implemented, and so not advertised. Errors are the protocol's `{"error": "<message>"}`. v2
//! clients build the tensors themselves (preprocessing and parameter encoding are the core's);
//! `/v1` takes images.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use vectune_core::manifest::{Dim, ModelEntry, TensorSpec};

use super::Shared;
use super::error::ApiError;

/// The `/v2` routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v2", get(server))
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/v2/models/{model}", get(metadata))
        .route("/v2/models/{model}/ready", get(model_ready))
        .route("/v2/models/{model}/infer", post(infer))
        .route(
            "/v2/models/{model}/versions/{version}",
            get(metadata_version),
        )
        .route(
            "/v2/models/{model}/versions/{version}/ready",
            get(model_ready_version),
        )
        .route(
            "/v2/models/{model}/versions/{version}/infer",
            post(infer_version),
        )
}

/// The one version every model has.
const VERSION: &str = "1";

async fn server() -> Json<Value> {
    Json(json!({ "name": "vectune", "version": vectune_core::VERSION, "extensions": [] }))
}

/// Liveness: the process answers; never depends on models.
async fn live() -> StatusCode {
    StatusCode::OK
}

/// Readiness: every required model loaded and warmed, and not draining.
async fn ready(State(state): State<Shared>) -> StatusCode {
    if state.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// The manifest entry of `model`, if this runtime runs it.
fn entry(state: &Shared, model: &str) -> Result<ModelEntry, ApiError> {
    let manager = state
        .manager()
        .ok_or_else(|| ApiError::unavailable("not_ready", "models are loading"))?;
    manager
        .runnable()
        .into_iter()
        .find(|e| e.name == model)
        .ok_or_else(|| {
            let mut e = ApiError::not_found(format!("no model `{model}` on this runtime"));
            e.model = Some(model.to_string());
            e
        })
}

fn check_version(version: &str) -> Result<(), ApiError> {
    if version == VERSION {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "no version `{version}` (models have version {VERSION})"
        )))
    }
}

fn dims(spec: &TensorSpec) -> Vec<i64> {
    spec.shape
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => i64::try_from(*n).unwrap_or(-1),
            Dim::Dynamic(_) => -1,
        })
        .collect()
}

fn tensors(specs: &[TensorSpec]) -> Vec<Value> {
    specs
        .iter()
        .map(|s| json!({ "name": s.name, "datatype": "FP32", "shape": dims(s) }))
        .collect()
}

async fn metadata(
    State(state): State<Shared>,
    Path(model): Path<String>,
) -> Result<Json<Value>, OipError> {
    let e = entry(&state, &model)?;
    let platform = match state.manager().map(|m| m.backend_kind().name()) {
        Some("ort") => "onnxruntime_onnx",
        Some("torch") => "pytorch_libtorch",
        _ => "tract_onnx",
    };
    Ok(Json(json!({
        "name": e.name,
        "versions": [VERSION],
        "platform": platform,
        "inputs": tensors(&e.inputs),
        "outputs": tensors(&e.outputs),
    })))
}

async fn metadata_version(
    state: State<Shared>,
    Path((model, version)): Path<(String, String)>,
) -> Result<Json<Value>, OipError> {
    check_version(&version)?;
    metadata(state, Path(model)).await
}

async fn model_ready(
    State(state): State<Shared>,
    Path(model): Path<String>,
) -> Result<StatusCode, OipError> {
    let e = entry(&state, &model)?;
    let ready = state
        .manager()
        .and_then(|m| m.report(&e.name))
        .is_some_and(|r| r.status == crate::manager::Status::Ready);
    Ok(if ready && state.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    })
}

async fn model_ready_version(
    state: State<Shared>,
    Path((model, version)): Path<(String, String)>,
) -> Result<StatusCode, OipError> {
    check_version(&version)?;
    model_ready(state, Path(model)).await
}

#[derive(Deserialize)]
struct InferRequest {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    parameters: Option<Value>,
    inputs: Vec<InferInput>,
    #[serde(default)]
    outputs: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct InferInput {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    data: Value,
    #[serde(default)]
    #[allow(dead_code)]
    parameters: Option<Value>,
}

/// `data` flattened row-major: numbers, or arrays of them at any depth.
fn flatten(v: &Value, out: &mut Vec<f32>) -> Result<(), String> {
    match v {
        Value::Array(items) => items.iter().try_for_each(|i| flatten(i, out)),
        Value::Number(n) => {
            out.push(n.as_f64().ok_or("a number out of range")? as f32);
            Ok(())
        }
        other => Err(format!("`data` holds {other}, not a number")),
    }
}

/// An Open Inference Protocol error: a status and `{"error": "<message>"}`.
struct OipError(StatusCode, String);

impl IntoResponse for OipError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<ApiError> for OipError {
    fn from(e: ApiError) -> OipError {
        OipError(e.status, e.message)
    }
}

/// An [`ApiError`] in the Open Inference Protocol's form.
pub(crate) fn error_response(e: ApiError) -> Response {
    OipError::from(e).into_response()
}

fn bad(message: impl Into<String>) -> OipError {
    OipError(StatusCode::BAD_REQUEST, message.into())
}

/// The JSON of an inference request, whatever its content type (clients differ): the whole body,
/// or with `Inference-Header-Content-Length` its first that many bytes, when nothing follows
/// them (binary tensors are not supported).
fn request_json(headers: &HeaderMap, body: &[u8]) -> Result<InferRequest, OipError> {
    let json = match headers
        .get("inference-header-content-length")
        .and_then(|v| v.to_str().ok())
        .map(str::parse::<usize>)
    {
        None => body,
        Some(Ok(n)) if n == body.len() => body,
        Some(Ok(n)) if n < body.len() => {
            return Err(bad(
                "binary tensor data is not supported: send JSON tensors (binary_data=False)",
            ));
        }
        _ => return Err(bad("a bad Inference-Header-Content-Length")),
    };
    serde_json::from_slice(json).map_err(|e| bad(format!("not an inference request: {e}")))
}

async fn infer(
    State(state): State<Shared>,
    Path(model): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, OipError> {
    let body = body.map_err(|r| OipError::from(ApiError::from(r)))?;
    let request = request_json(&headers, &body)?;
    let e = entry(&state, &model)?;
    let (_admitted, manager) = state.admit()?;
    if request.inputs.len() != e.inputs.len() {
        return Err(bad(format!(
            "model `{model}` takes {} inputs ({}), got {}",
            e.inputs.len(),
            e.inputs
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            request.inputs.len()
        )));
    }
    let mut feeds: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::with_capacity(request.inputs.len());
    for input in &request.inputs {
        let spec = e
            .input(&input.name)
            .ok_or_else(|| bad(format!("model `{model}` has no input `{}`", input.name)))?;
        if input.datatype != "FP32" {
            return Err(bad(format!(
                "input `{}`: datatype {} (the models take FP32)",
                input.name, input.datatype
            )));
        }
        let want = dims(spec);
        let fits = want.len() == input.shape.len()
            && want
                .iter()
                .zip(&input.shape)
                .all(|(w, g)| *g >= 1 && (*w == -1 || w == g));
        if !fits {
            return Err(bad(format!(
                "input `{}`: shape {:?} does not fit {want:?}",
                input.name, input.shape
            )));
        }
        let shape: Vec<usize> = input.shape.iter().map(|&d| d as usize).collect();
        let mut data = Vec::new();
        flatten(&input.data, &mut data).map_err(|m| bad(format!("input `{}`: {m}", input.name)))?;
        let n: usize = shape.iter().product();
        if data.len() != n {
            return Err(bad(format!(
                "input `{}`: shape {:?} holds {n} values, `data` has {}",
                input.name,
                input.shape,
                data.len()
            )));
        }
        if n > state.config().max_body_bytes {
            return Err(bad(format!(
                "input `{}`: {n} values is too many",
                input.name
            )));
        }
        feeds.push((input.name.clone(), shape, data));
    }
    // Every distinct row count is a shape the runtime plans for and keeps: bound them as the /v1
    // routes are bounded (parameter sets for a model that takes them, images otherwise).
    let rows = feeds.iter().map(|f| f.1[0]).max().unwrap_or(1);
    let (most, flag) = if e.input("params").is_some() {
        (state.config().max_params, "--max-params")
    } else {
        (state.config().max_batch_items, "--max-batch-items")
    };
    if rows > most {
        return Err(bad(format!(
            "{rows} rows in one request; model `{model}` takes at most {most} ({flag})"
        )));
    }
    let name = e.name.clone();
    let (values, _) = state
        .run("/v2/models/{model}/infer", move || {
            let graph = manager.graph(&name)?;
            let refs: Vec<(&str, Vec<usize>, &[f32])> = feeds
                .iter()
                .map(|(n, s, d)| (n.as_str(), s.clone(), d.as_slice()))
                .collect();
            Ok(graph.run(&refs)?)
        })
        .await?;
    let out = &e.outputs[0];
    let tail: Vec<i64> = dims(out).into_iter().skip(1).collect();
    let per_row: i64 = tail.iter().product::<i64>().max(1);
    let n = values.len() as i64 / per_row;
    let mut shape = vec![if n > 0 { n } else { rows as i64 }];
    shape.extend(tail);
    if let Some(asked) = &request.outputs {
        for o in asked {
            let wanted = o.get("name").and_then(Value::as_str).unwrap_or_default();
            if wanted != out.name {
                return Err(bad(format!(
                    "model `{model}` has no output `{wanted}` (it has `{}`)",
                    out.name
                )));
            }
        }
    }
    let mut answer = json!({
        "model_name": e.name,
        "model_version": VERSION,
        "outputs": [{ "name": out.name, "datatype": "FP32", "shape": shape, "data": values }],
    });
    if let Some(id) = request.id {
        answer["id"] = json!(id);
    }
    Ok(Json(answer))
}

async fn infer_version(
    state: State<Shared>,
    Path((model, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, OipError> {
    check_version(&version)?;
    infer(state, Path(model), headers, body).await
}
