//! The ONNX Runtime runtime (`ort`, `load-dynamic`). One environment per process, created on first
//! use from `ORT_DYLIB_PATH` or the library `build.rs` fetched; each session runs with one intra-op
//! thread so that many concurrent requests do not oversubscribe the cores. A session runs one
//! request at a time (`ort`'s `run` takes `&mut`), so each sits behind a mutex.

use std::borrow::Cow;
use std::sync::{Mutex, OnceLock};

use ort::session::{Session, SessionInputValue};
use ort::value::Tensor;
use vectune_core::backend::BackendError;

use super::Runner;

static ENVIRONMENT: OnceLock<Result<(ort::environment::Environment, String), String>> =
    OnceLock::new();

/// The library path to load: `ORT_DYLIB_PATH`, else the one `build.rs` fetched.
fn library() -> Result<String, String> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        return Ok(p.to_string_lossy().into_owned());
    }
    let baked = env!("VECTUNE_ORT_DYLIB");
    if baked.is_empty() {
        return Err("this build could not fetch ONNX Runtime and ORT_DYLIB_PATH is not set".into());
    }
    if !std::path::Path::new(baked).exists() {
        return Err(format!("{baked} does not exist (set ORT_DYLIB_PATH)"));
    }
    Ok(baked.to_string())
}

/// Loads ONNX Runtime once; returns the library path, or why it cannot be used.
pub fn environment() -> Result<String, String> {
    ENVIRONMENT
        .get_or_init(|| {
            let lib = library()?;
            let env = ort::init_from(&lib)
                .map_err(|e| format!("cannot load {lib}: {e}"))?
                .with_name("vectune")
                .build()
                .map_err(|e| format!("cannot start ONNX Runtime from {lib}: {e}"))?;
            Ok((env, lib))
        })
        .as_ref()
        .map(|(_, lib)| lib.clone())
        .map_err(Clone::clone)
}

fn runtime(e: impl std::fmt::Display) -> BackendError {
    BackendError::Runtime(e.to_string())
}

/// One ONNX Runtime session.
pub struct OrtModel {
    session: Mutex<Session>,
    bytes: u64,
}

impl OrtModel {
    /// Creates a session from model bytes.
    pub fn load(onnx: &[u8]) -> Result<OrtModel, BackendError> {
        environment().map_err(BackendError::Runtime)?;
        let env = match ENVIRONMENT.get() {
            Some(Ok((env, _))) => env,
            _ => return Err(runtime("ONNX Runtime is not initialised")),
        };
        let session = Session::builder(env)
            .map_err(runtime)?
            .with_intra_threads(1)
            .map_err(runtime)?
            .with_inter_threads(1)
            .map_err(runtime)?
            .commit_from_memory(onnx)
            .map_err(runtime)?;
        Ok(OrtModel {
            session: Mutex::new(session),
            bytes: onnx.len() as u64,
        })
    }
}

impl Runner for OrtModel {
    fn bytes(&self) -> u64 {
        self.bytes
    }

    fn run(&self, feeds: &[(&str, Vec<usize>, &[f32])]) -> Result<Vec<f32>, BackendError> {
        let mut session = self
            .session
            .lock()
            .map_err(|_| runtime("a previous inference panicked"))?;
        let wanted: Vec<String> = session
            .inputs()
            .iter()
            .map(|i| i.name().to_string())
            .collect();
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> =
            Vec::with_capacity(wanted.len());
        for name in wanted {
            let (_, shape, data) = feeds.iter().find(|(n, _, _)| *n == name).ok_or_else(|| {
                BackendError::Shape(format!(
                    "the model wants an input `{name}` that was not given"
                ))
            })?;
            let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            let tensor = Tensor::from_array((shape, data.to_vec())).map_err(runtime)?;
            inputs.push((Cow::Owned(name), tensor.into()));
        }
        let outputs = session.run(inputs).map_err(runtime)?;
        let (_, values) = outputs[0].try_extract_tensor::<f32>().map_err(runtime)?;
        Ok(values.to_vec())
    }
}
