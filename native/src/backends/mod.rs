//! Inference runtimes. Each runtime only knows how to run one ONNX graph ([`Runner`]); the one
//! implementation of the core's [`Backend`] trait, [`ModelSet`], holds vectune's models by task
//! on whichever runtime loaded them, so every backend shares the same batching and shape checks.
//!
//! - [`tract`]: pure Rust, embedded, needs nothing installed.
//! - [`ort`]: ONNX Runtime, the production backend, loaded at run time (`build.rs` fetches the
//!   library; `ORT_DYLIB_PATH` overrides).
//!
//! Choice: `--backend auto|ort|tract` (or `VECTUNE_BACKEND`); `auto` is ort when its library loads,
//! else tract, and the reason is reported.

pub mod ort;
pub mod tract;

use serde::Serialize;
use vectune_core::backend::{Backend, BackendError, Batch, MemoryUsage, check_sizes, image_count};
use vectune_core::params::PARAM_COUNT;
use vectune_core::preprocess::{CHANNELS, INPUT_SIZE, SIZE_FEATURES};

/// Which runtime runs the models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// tract-onnx.
    Tract,
    /// ONNX Runtime.
    Ort,
}

impl BackendKind {
    /// Name as users type it.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Tract => "tract",
            BackendKind::Ort => "ort",
        }
    }

    /// Loads one ONNX graph on this runtime.
    pub fn load(self, onnx: &[u8]) -> Result<Box<dyn Runner>, BackendError> {
        Ok(match self {
            BackendKind::Tract => Box::new(tract::TractModel::load(onnx)?),
            BackendKind::Ort => Box::new(ort::OrtModel::load(onnx)?),
        })
    }
}

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// ort when its library loads, else tract.
    Auto,
    /// Exactly this one.
    Exactly(BackendKind),
}

impl std::str::FromStr for BackendChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "ort" => Ok(BackendChoice::Exactly(BackendKind::Ort)),
            "tract" => Ok(BackendChoice::Exactly(BackendKind::Tract)),
            other => Err(format!("unknown backend `{other}` (auto, ort or tract)")),
        }
    }
}

/// Resolves a choice to a runtime and the reason for it. `Err` when an explicitly chosen runtime
/// cannot run here (the reason says why).
pub fn resolve(choice: BackendChoice) -> Result<(BackendKind, String), String> {
    match choice {
        BackendChoice::Exactly(BackendKind::Tract) => {
            Ok((BackendKind::Tract, "chosen: tract (embedded)".to_string()))
        }
        BackendChoice::Exactly(BackendKind::Ort) => ort::environment()
            .map(|lib| (BackendKind::Ort, format!("chosen: ONNX Runtime from {lib}")))
            .map_err(|e| format!("ort was chosen but cannot run: {e}")),
        BackendChoice::Auto => Ok(match ort::environment() {
            Ok(lib) => (
                BackendKind::Ort,
                format!("auto: ONNX Runtime loaded from {lib}"),
            ),
            Err(e) => (
                BackendKind::Tract,
                format!("auto: tract, because ONNX Runtime is unavailable ({e})"),
            ),
        }),
    }
}

/// One loaded ONNX graph on some runtime.
pub trait Runner: Send + Sync {
    /// Runs with named inputs `(name, shape, data)`; returns the first output, flattened.
    fn run(&self, feeds: &[(&str, Vec<usize>, &[f32])]) -> Result<Vec<f32>, BackendError>;
    /// Bytes attributed at load (the model file's size).
    fn bytes(&self) -> u64;
}

/// vectune's models by task on one runtime; a missing model makes its task `Unsupported`.
pub struct ModelSet {
    /// The runtime.
    pub kind: BackendKind,
    /// The combined quality model.
    pub predictor: Option<Box<dyn Runner>>,
    /// The split form's encoder.
    pub encoder: Option<Box<dyn Runner>>,
    /// The split form's head.
    pub head: Option<Box<dyn Runner>>,
    /// The logo classifier.
    pub classifier: Option<Box<dyn Runner>>,
    /// Embedding width of the encoder (from the manifest).
    pub embedding_dim: usize,
}

impl ModelSet {
    /// An empty set on `kind`.
    pub fn new(kind: BackendKind) -> ModelSet {
        ModelSet {
            kind,
            predictor: None,
            encoder: None,
            head: None,
            classifier: None,
            embedding_dim: 0,
        }
    }

    fn model<'a>(
        &self,
        m: &'a Option<Box<dyn Runner>>,
        task: &'static str,
    ) -> Result<&'a dyn Runner, BackendError> {
        m.as_deref().ok_or_else(|| BackendError::Unsupported {
            backend: self.kind.name().to_string(),
            task,
        })
    }
}

fn image_shape(n: usize) -> Vec<usize> {
    vec![n, CHANNELS, INPUT_SIZE, INPUT_SIZE]
}

impl Backend for ModelSet {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn predict_quality(&self, batch: Batch<'_>) -> Result<Vec<f32>, BackendError> {
        let n = batch.len();
        self.model(&self.predictor, "quality")?.run(&[
            ("image", image_shape(n), batch.images()),
            ("params", vec![n, PARAM_COUNT], batch.params()),
            ("size", vec![n, SIZE_FEATURES], batch.sizes()),
        ])
    }

    fn encode_images(&self, images: &[f32], sizes: &[f32]) -> Result<Vec<f32>, BackendError> {
        let m = self.model(&self.encoder, "quality_encoder")?;
        let n = image_count(images)?;
        check_sizes(n, sizes)?;
        m.run(&[
            ("image", image_shape(n), images),
            ("size", vec![n, SIZE_FEATURES], sizes),
        ])
    }

    fn embedding_dim(&self) -> usize {
        self.embedding_dim
    }

    fn predict_head(&self, embeddings: &[f32], params: &[f32]) -> Result<Vec<f32>, BackendError> {
        let m = self.model(&self.head, "quality_head")?;
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
        let m = self.model(&self.classifier, "classifier")?;
        let n = image_count(images)?;
        m.run(&[("image", image_shape(n), images)])
    }

    fn memory(&self) -> MemoryUsage {
        let model_bytes = [&self.predictor, &self.encoder, &self.head, &self.classifier]
            .iter()
            .filter_map(|m| m.as_ref().map(|m| m.bytes()))
            .sum();
        MemoryUsage {
            model_bytes,
            runtime_bytes: 0,
        }
    }
}
