//! The tract backend: ONNX models run by `tract-onnx`, pure Rust. A plan is `Send + Sync` and one
//! inference runs on one thread, so many threads can predict at once without oversubscribing.

use std::sync::Arc;

use tract_onnx::prelude::*;
use vectune_core::backend::{Backend, BackendError, Batch, MemoryUsage, check_sizes, image_count};
use vectune_core::params::PARAM_COUNT;
use vectune_core::preprocess::{CHANNELS, INPUT_SIZE};

/// One loaded ONNX model.
pub struct TractModel {
    plan: Arc<TypedRunnableModel>,
    inputs: Vec<String>,
    bytes: u64,
}

fn runtime(e: impl std::fmt::Display) -> BackendError {
    BackendError::Runtime(e.to_string())
}

impl TractModel {
    /// Parses, optimises and plans an ONNX model (dynamic batch kept symbolic).
    pub fn load(onnx: &[u8]) -> Result<TractModel, BackendError> {
        let model = tract_onnx::onnx()
            .model_for_read(&mut &onnx[..])
            .map_err(runtime)?
            .into_typed()
            .map_err(runtime)?;
        let inputs = model
            .input_outlets()
            .map_err(runtime)?
            .iter()
            .map(|o| model.node(o.node).name.clone())
            .collect();
        let plan = model
            .into_optimized()
            .map_err(runtime)?
            .into_runnable()
            .map_err(runtime)?;
        Ok(TractModel {
            plan,
            inputs,
            bytes: onnx.len() as u64,
        })
    }

    /// Graph input names, in graph order.
    pub fn input_names(&self) -> &[String] {
        &self.inputs
    }

    /// Runs with named inputs `(name, shape, data)`; returns the first output, flattened.
    pub fn run(&self, feeds: &[(&str, Vec<usize>, &[f32])]) -> Result<Vec<f32>, BackendError> {
        let mut values: TVec<TValue> = tvec![];
        for name in &self.inputs {
            let (_, shape, data) = feeds.iter().find(|(n, _, _)| n == name).ok_or_else(|| {
                BackendError::Shape(format!(
                    "the model wants an input `{name}` that was not given"
                ))
            })?;
            values.push(Tensor::from_shape(shape, data).map_err(runtime)?.into());
        }
        let outputs = self.plan.run(values).map_err(runtime)?;
        let first = outputs
            .first()
            .ok_or_else(|| runtime("the model returned no output"))?;
        let view = first.to_plain_array_view::<f32>().map_err(runtime)?;
        Ok(view.iter().copied().collect())
    }
}

/// vectune's models on tract, by task; a missing model makes its task `Unsupported`.
#[derive(Default)]
pub struct TractBackend {
    /// The combined quality model.
    pub predictor: Option<TractModel>,
    /// The split form's encoder.
    pub encoder: Option<TractModel>,
    /// The split form's head.
    pub head: Option<TractModel>,
    /// The logo classifier.
    pub classifier: Option<TractModel>,
    /// Embedding width of the encoder (from the manifest).
    pub embedding_dim: usize,
}

fn unsupported(task: &'static str) -> BackendError {
    BackendError::Unsupported {
        backend: "tract".into(),
        task,
    }
}

const IMAGE: [usize; 3] = [CHANNELS, INPUT_SIZE, INPUT_SIZE];

fn image_shape(n: usize) -> Vec<usize> {
    vec![n, IMAGE[0], IMAGE[1], IMAGE[2]]
}

impl Backend for TractBackend {
    fn name(&self) -> &str {
        "tract"
    }

    fn predict_quality(&self, batch: Batch<'_>) -> Result<Vec<f32>, BackendError> {
        let m = self.predictor.as_ref().ok_or(unsupported("quality"))?;
        let n = batch.len();
        m.run(&[
            ("image", image_shape(n), batch.images()),
            ("params", vec![n, PARAM_COUNT], batch.params()),
            ("size", vec![n, 2], batch.sizes()),
        ])
    }

    fn encode_images(&self, images: &[f32], sizes: &[f32]) -> Result<Vec<f32>, BackendError> {
        let m = self
            .encoder
            .as_ref()
            .ok_or(unsupported("quality_encoder"))?;
        let n = image_count(images)?;
        check_sizes(n, sizes)?;
        m.run(&[
            ("image", image_shape(n), images),
            ("size", vec![n, 2], sizes),
        ])
    }

    fn embedding_dim(&self) -> usize {
        self.embedding_dim
    }

    fn predict_head(&self, embeddings: &[f32], params: &[f32]) -> Result<Vec<f32>, BackendError> {
        let m = self.head.as_ref().ok_or(unsupported("quality_head"))?;
        let d = self.embedding_dim.max(1);
        let n = params.len() / PARAM_COUNT;
        if n == 0 || params.len() != n * PARAM_COUNT || embeddings.len() != n * d {
            return Err(BackendError::Shape(format!(
                "head needs [N, {d}] embeddings and [N, 8] parameters, got {} and {} values",
                embeddings.len(),
                params.len()
            )));
        }
        m.run(&[
            ("embedding", vec![n, d], embeddings),
            ("params", vec![n, PARAM_COUNT], params),
        ])
    }

    fn classify(&self, images: &[f32]) -> Result<Vec<f32>, BackendError> {
        let m = self.classifier.as_ref().ok_or(unsupported("classifier"))?;
        let n = image_count(images)?;
        m.run(&[("image", image_shape(n), images)])
    }

    fn memory(&self) -> MemoryUsage {
        let model_bytes = [&self.predictor, &self.encoder, &self.head, &self.classifier]
            .iter()
            .filter_map(|m| m.as_ref().map(|m| m.bytes))
            .sum();
        MemoryUsage {
            model_bytes,
            runtime_bytes: 0,
        }
    }
}
