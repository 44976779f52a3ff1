//! Inference runtimes. Each runtime only knows how to run one model file ([`Runner`]); the one
//! implementation of the core's [`Backend`] trait, [`ModelSet`], holds vectune's models by task
//! on whichever runtime loaded them, so every backend shares the same batching and shape checks.
//!
//! - [`tract`]: pure Rust, embedded, needs nothing installed.
//! - [`ort`]: ONNX Runtime, the production backend, loaded at run time (`build.rs` fetches the
//!   library; `ORT_DYLIB_PATH` overrides).
//! - `torch`: libtorch through `tch` on the TorchScript exports, behind the `torch` cargo feature.
//!
//! Choice: `--backend auto|ort|tract|torch` (or `VECTUNE_BACKEND`); `auto` is ort when its library
//! loads, else tract, and the reason is reported.

pub mod ort;
#[cfg(feature = "torch")]
pub mod torch;
pub mod tract;

use std::sync::Arc;

use serde::Serialize;
use vectune_core::backend::{
    Backend, BackendError, Batch, MemoryUsage, check_stats, image_count, run_head, run_head_one,
    stats_prefix,
};
use vectune_core::manifest::{Format, Task};
use vectune_core::params::PARAM_COUNT;
use vectune_core::preprocess::{CHANNELS, INPUT_SIZE};

/// Which runtime runs the models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// tract-onnx.
    Tract,
    /// ONNX Runtime.
    Ort,
    /// libtorch (TorchScript models; builds with the `torch` feature).
    Torch,
}

impl BackendKind {
    /// Name as users type it.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Tract => "tract",
            BackendKind::Ort => "ort",
            BackendKind::Torch => "torch",
        }
    }

    /// The model file format this runtime runs.
    pub fn format(self) -> Format {
        match self {
            BackendKind::Tract | BackendKind::Ort => Format::Onnx,
            BackendKind::Torch => Format::TorchScript,
        }
    }

    /// Loads one model file on this runtime; `inputs` are the graph's input names in manifest
    /// order (TorchScript takes its inputs by position).
    pub fn load(self, bytes: &[u8], inputs: &[String]) -> Result<Arc<dyn Runner>, BackendError> {
        Ok(match self {
            BackendKind::Tract => Arc::new(tract::TractModel::load(bytes)?),
            BackendKind::Ort => Arc::new(ort::OrtModel::load(bytes)?),
            #[cfg(feature = "torch")]
            BackendKind::Torch => Arc::new(torch::TorchModel::load(bytes, inputs)?),
            #[cfg(not(feature = "torch"))]
            BackendKind::Torch => {
                let _ = inputs;
                return Err(BackendError::Runtime(TORCH_MISSING.into()));
            }
        })
    }
}

/// Why `--backend torch` cannot run in a build without the feature.
pub const TORCH_MISSING: &str =
    "this build has no libtorch backend (rebuild with `--features torch` and LIBTORCH set)";

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
            "torch" => Ok(BackendChoice::Exactly(BackendKind::Torch)),
            other => Err(format!(
                "unknown backend `{other}` (auto, ort, tract or torch)"
            )),
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
        BackendChoice::Exactly(BackendKind::Torch) => {
            if cfg!(feature = "torch") {
                Ok((
                    BackendKind::Torch,
                    "chosen: libtorch (TorchScript models)".to_string(),
                ))
            } else {
                Err(format!("torch was chosen but cannot run: {TORCH_MISSING}"))
            }
        }
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
    /// The image-statistics input the model's manifest entry declares: its name and width
    /// ([`vectune_core::manifest::ModelEntry::stats_input`]); `None` if it takes none.
    fn stats_input(&self) -> Option<(&'static str, usize)> {
        None
    }
    /// Whether the graph is a head that takes one embedding row for all its parameter sets
    /// ([`vectune_core::manifest::ModelEntry::shares_embedding`]).
    fn shares_embedding(&self) -> bool {
        false
    }
}

/// A loaded graph with the statistics input its manifest entry declares.
pub struct Declared {
    /// The graph.
    pub runner: Arc<dyn Runner>,
    /// From [`vectune_core::manifest::ModelEntry::stats_input`].
    pub stats: Option<(&'static str, usize)>,
    /// From [`vectune_core::manifest::ModelEntry::shares_embedding`].
    pub shares_embedding: bool,
}

impl Runner for Declared {
    fn run(&self, feeds: &[(&str, Vec<usize>, &[f32])]) -> Result<Vec<f32>, BackendError> {
        self.runner.run(feeds)
    }
    fn bytes(&self) -> u64 {
        self.runner.bytes()
    }
    fn stats_input(&self) -> Option<(&'static str, usize)> {
        self.stats
    }
    fn shares_embedding(&self) -> bool {
        self.shares_embedding
    }
}

/// Where a [`ModelSet`] gets its models: by task, loaded on demand (the model manager's cache).
pub trait ModelSource: Send + Sync {
    /// The model for `task`: `None` when there is none, `Some(Err)` when it cannot be loaded.
    fn runner(&self, task: &Task) -> Option<Result<Arc<dyn Runner>, String>>;
    /// Embedding width of the encoder (from the manifest), 0 if unknown.
    fn embedding_dim(&self) -> usize;
    /// Bytes attributed to the models held now.
    fn model_bytes(&self) -> u64;
}

/// vectune's models by task on one runtime; a missing model makes its task `Unsupported`.
pub struct ModelSet {
    /// The runtime.
    pub kind: BackendKind,
    source: Arc<dyn ModelSource>,
}

impl ModelSet {
    /// The models of `source` on `kind`.
    pub fn new(kind: BackendKind, source: Arc<dyn ModelSource>) -> ModelSet {
        ModelSet { kind, source }
    }

    fn model(&self, task: Task, name: &'static str) -> Result<Arc<dyn Runner>, BackendError> {
        match self.source.runner(&task) {
            None => Err(BackendError::Unsupported {
                backend: self.kind.name().to_string(),
                task: name,
            }),
            Some(Err(e)) => Err(BackendError::Runtime(format!("`{name}` model: {e}"))),
            Some(Ok(m)) => Ok(m),
        }
    }
}

/// The statistics input a model declares, cut to its width: `(name, [n, k], data)`.
fn side_input(
    m: &dyn Runner,
    n: usize,
    stats: &[f32],
) -> Option<(&'static str, Vec<usize>, Vec<f32>)> {
    m.stats_input()
        .map(|(name, k)| (name, vec![n, k], stats_prefix(stats, k)))
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
        let m = self.model(Task::Quality, "quality")?;
        let side = side_input(m.as_ref(), n, batch.stats());
        let mut feeds = vec![
            ("image", image_shape(n), batch.images()),
            ("params", vec![n, PARAM_COUNT], batch.params()),
        ];
        if let Some((name, shape, data)) = &side {
            feeds.push((name, shape.clone(), data));
        }
        m.run(&feeds)
    }

    fn encode_images(&self, images: &[f32], stats: &[f32]) -> Result<Vec<f32>, BackendError> {
        let m = self.model(Task::QualityEncoder, "quality_encoder")?;
        let n = image_count(images)?;
        check_stats(n, stats)?;
        let side = side_input(m.as_ref(), n, stats);
        let mut feeds = vec![("image", image_shape(n), images)];
        if let Some((name, shape, data)) = &side {
            feeds.push((name, shape.clone(), data));
        }
        m.run(&feeds)
    }

    fn embedding_dim(&self) -> usize {
        self.source.embedding_dim()
    }

    fn predict_head(&self, embeddings: &[f32], params: &[f32]) -> Result<Vec<f32>, BackendError> {
        let m = self.model(Task::QualityHead, "quality_head")?;
        let d = self.source.embedding_dim();
        run_head(embeddings, params, d, m.shares_embedding(), |f| m.run(f))
    }

    fn predict_head_one(
        &self,
        embedding: &[f32],
        params: &[f32],
    ) -> Result<Vec<f32>, BackendError> {
        let m = self.model(Task::QualityHead, "quality_head")?;
        let d = self.source.embedding_dim();
        run_head_one(embedding, params, d, m.shares_embedding(), |f| m.run(f))
    }

    fn classify(&self, images: &[f32]) -> Result<Vec<f32>, BackendError> {
        let m = self.model(Task::Classifier, "classifier")?;
        let n = image_count(images)?;
        m.run(&[("image", image_shape(n), images)])
    }

    fn memory(&self) -> MemoryUsage {
        MemoryUsage {
            model_bytes: self.source.model_bytes(),
            runtime_bytes: 0,
        }
    }
}
