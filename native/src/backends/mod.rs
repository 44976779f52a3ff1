//! Inference runtimes. Each only knows how to turn one model file into a
//! [`vectune_core::graph::Graph`]; which graph serves which task, and with what inputs, is the
//! core's [`vectune_core::models::ModelSet`], so every runtime shares the same pipeline, batching
//! and shape checks.
//!
//! - [`tract`]: pure Rust, embedded, needs nothing installed.
//! - [`ort`]: ONNX Runtime, the production backend, loaded at run time (`build.rs` fetches the
//!   library; `ORT_DYLIB_PATH` overrides); each model a pool of sessions ([`Threads`]).
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
use vectune_core::error::Error;
use vectune_core::graph::Graph;
use vectune_core::manifest::{Format, ModelEntry};
use vectune_core::models::Loader;

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
}

/// How ONNX Runtime runs each model: sessions per model (requests for one model run at once on
/// different sessions) and each session's intra- and inter-op threads. The default gives one
/// session per core of the CPU quota ([`std::thread::available_parallelism`], which reads the
/// cgroup quota on Linux) with one thread each: concurrent requests fill the cores without
/// oversubscribing them. tract and libtorch run one thread per call and need no pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threads {
    /// Sessions per model.
    pub sessions: usize,
    /// Threads one run may use inside an operator.
    pub intra_op: usize,
    /// Threads one run may use across independent operators.
    pub inter_op: usize,
    /// Whether ONNX Runtime keeps its CPU memory arena (and memory patterns), ONNX Runtime's own
    /// default. Measured with `scripts/load.sh` (mixed level): off, the service's RSS after the
    /// load was 351 instead of 405 MB and `suggest` half as fast (26 vs 50 requests/s).
    pub arena: bool,
}

impl Default for Threads {
    fn default() -> Self {
        Threads {
            sessions: std::thread::available_parallelism().map_or(1, |n| n.get()),
            intra_op: 1,
            inter_op: 1,
            arena: true,
        }
    }
}

/// A runtime with its settings: the [`Loader`] the core's model loading calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Runtime {
    /// Which runtime.
    pub kind: BackendKind,
    /// ONNX Runtime's sessions and threads.
    pub threads: Threads,
}

impl Loader for Runtime {
    fn backend(&self) -> &str {
        self.kind.name()
    }

    fn format(&self) -> Format {
        self.kind.format()
    }

    /// TorchScript takes its inputs by position: the manifest's input names, in order.
    fn load(&self, entry: &ModelEntry, bytes: &[u8]) -> Result<Arc<dyn Graph>, Error> {
        #[cfg(feature = "failpoints")]
        fail::fail_point!("vectune::load", |why: Option<String>| Err(Error::runtime(
            why.unwrap_or_else(|| "injected load failure".into())
        )));
        let graph: Arc<dyn Graph> = match self.kind {
            BackendKind::Tract => Arc::new(tract::load(bytes)?),
            BackendKind::Ort => Arc::new(ort::OrtModel::load(bytes, &self.threads)?),
            #[cfg(feature = "torch")]
            BackendKind::Torch => {
                let inputs: Vec<String> = entry.inputs.iter().map(|i| i.name.clone()).collect();
                Arc::new(torch::TorchModel::load(bytes, &inputs)?)
            }
            #[cfg(not(feature = "torch"))]
            BackendKind::Torch => {
                let _ = entry;
                return Err(Error::runtime(TORCH_MISSING));
            }
        };
        #[cfg(feature = "failpoints")]
        let graph: Arc<dyn Graph> = Arc::new(Faulty(graph));
        Ok(Arc::new(Guarded(graph)))
    }
}

/// Every loaded graph: a panic in a run (a runtime's bug, or an input it does not expect) is that
/// run's runtime error, never the caller's panic; the model stays loaded and the next run tries
/// again.
struct Guarded(Arc<dyn Graph>);

impl Graph for Guarded {
    fn input_names(&self) -> &[String] {
        self.0.input_names()
    }

    fn run(&self, feeds: &[vectune_core::graph::Feed<'_>]) -> Result<Vec<f32>, Error> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.0.run(feeds))).unwrap_or_else(
            |panic| {
                Err(Error::runtime(format!(
                    "the model's run panicked: {}",
                    crate::error::panic_message(panic.as_ref())
                )))
            },
        )
    }
}

/// Every graph of a build with the `failpoints` feature: its runs pass the fail point
/// `vectune::run` (`FAILPOINTS=vectune::run=1*panic(why)` makes the first run panic), for the
/// fault tests (native/tests/faults.rs).
#[cfg(feature = "failpoints")]
struct Faulty(Arc<dyn Graph>);

#[cfg(feature = "failpoints")]
impl Graph for Faulty {
    fn input_names(&self) -> &[String] {
        self.0.input_names()
    }

    fn run(&self, feeds: &[vectune_core::graph::Feed<'_>]) -> Result<Vec<f32>, Error> {
        fail::fail_point!("vectune::run", |why: Option<String>| Err(Error::runtime(
            why.unwrap_or_else(|| "injected run failure".into())
        )));
        self.0.run(feeds)
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
