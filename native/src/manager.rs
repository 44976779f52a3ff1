//! The model manager: reads `manifest.json` from a model directory, verifies every file's sha256,
//! loads all models concurrently, warms each up (several runs), and only then reports them ready.
//! A missing, corrupt or checksum-mismatched model is `unavailable` with the reason; the others
//! keep serving, and predictions fall back to the heuristic; nothing panics.
//!
//! Model directory: `--models DIR`, else `VECTUNE_MODELS`, else the packaged `models/`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};
use vectune_core::backend::Backend;
use vectune_core::manifest::{Format, Manifest, ModelEntry, Task, TensorSpec};

use crate::backends::{self, BackendChoice, BackendKind, ModelSet, Runner};

/// Warm-up runs per model before it is ready (JIT runtimes need more than one).
pub const WARMUP_RUNS: usize = 3;

/// The environment variable naming the model directory.
pub const MODELS_ENV: &str = "VECTUNE_MODELS";

/// The model directory: `explicit`, else `$VECTUNE_MODELS`, else the packaged `models/`.
pub fn models_dir(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(MODELS_ENV).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"))
}

/// A model's state.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Status {
    /// Loaded and warmed up.
    Ready,
    /// Not usable; the reason says why.
    Unavailable {
        /// Why.
        reason: String,
    },
}

/// What the manager knows of one manifest entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelReport {
    /// Manifest name.
    pub name: String,
    /// Task.
    pub task: String,
    /// File format.
    pub format: String,
    /// The runtime it runs on (if ready).
    pub backend: Option<String>,
    /// State.
    pub status: Status,
    /// Read + verify + parse + optimise time, ms.
    pub load_ms: f64,
    /// Warm-up time, ms.
    pub warmup_ms: f64,
    /// Memory attributed at load: the model file's size.
    pub bytes: u64,
}

/// All models of one directory on one backend.
pub struct ModelManager {
    dir: PathBuf,
    backend_reason: String,
    manifest_error: Option<String>,
    reports: Vec<ModelReport>,
    models: ModelSet,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A warm-up input of the right shape for one graph input.
fn zeros(spec: &TensorSpec) -> (Vec<usize>, Vec<f32>) {
    let tail = spec.fixed_tail().unwrap_or_default();
    let shape: Vec<usize> = std::iter::once(1)
        .chain(tail.iter().map(|&d| d as usize))
        .collect();
    let len = shape.iter().product();
    (shape, vec![0.5; len])
}

fn load_one(
    dir: &Path,
    entry: &ModelEntry,
    kind: BackendKind,
) -> (ModelReport, Option<Box<dyn Runner>>) {
    let mut report = ModelReport {
        name: entry.name.clone(),
        task: entry.task.as_str().to_string(),
        format: entry.format.as_str().to_string(),
        backend: None,
        status: Status::Ready,
        load_ms: 0.0,
        warmup_ms: 0.0,
        bytes: 0,
    };
    let unavailable = |mut r: ModelReport, reason: String| {
        r.status = Status::Unavailable { reason };
        (r, None)
    };
    if entry.format != Format::Onnx {
        return unavailable(
            report,
            format!(
                "{} models need a backend this build does not have",
                entry.format.as_str()
            ),
        );
    }
    let start = Instant::now();
    let path = dir.join(&entry.file);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => return unavailable(report, format!("cannot read `{}`: {e}", path.display())),
    };
    let got = sha256_hex(&bytes);
    if got != entry.sha256 {
        return unavailable(
            report,
            format!(
                "checksum mismatch for `{}`: manifest says {}, file has {got}",
                entry.file, entry.sha256
            ),
        );
    }
    report.bytes = bytes.len() as u64;
    let model = match kind.load(&bytes) {
        Ok(m) => m,
        Err(e) => return unavailable(report, format!("cannot load `{}`: {e}", entry.file)),
    };
    report.load_ms = start.elapsed().as_secs_f64() * 1e3;
    let warm = Instant::now();
    let feeds: Vec<(String, Vec<usize>, Vec<f32>)> = entry
        .inputs
        .iter()
        .map(|spec| {
            let (shape, data) = zeros(spec);
            (spec.name.clone(), shape, data)
        })
        .collect();
    let refs: Vec<(&str, Vec<usize>, &[f32])> = feeds
        .iter()
        .map(|(n, s, d)| (n.as_str(), s.clone(), d.as_slice()))
        .collect();
    for _ in 0..WARMUP_RUNS {
        if let Err(e) = model.run(&refs) {
            return unavailable(report, format!("warm-up failed: {e}"));
        }
    }
    report.warmup_ms = warm.elapsed().as_secs_f64() * 1e3;
    report.backend = Some(kind.name().to_string());
    (report, Some(model))
}

impl ModelManager {
    /// Opens `dir` on the chosen backend: never fails; problems become statuses (see
    /// [`ModelManager::reports`]), and a backend that cannot run falls back to tract, saying why.
    pub fn open(dir: &Path, choice: BackendChoice) -> ModelManager {
        let (kind, backend_reason) = match backends::resolve(choice) {
            Ok(resolved) => resolved,
            Err(e) => (BackendKind::Tract, format!("{e}; falling back to tract")),
        };
        let mut manager = ModelManager {
            dir: dir.to_path_buf(),
            backend_reason,
            manifest_error: None,
            reports: Vec::new(),
            models: ModelSet::new(kind),
        };
        let manifest_path = dir.join("manifest.json");
        let manifest = match std::fs::read_to_string(&manifest_path) {
            Ok(text) => Manifest::from_json(&text),
            Err(e) => {
                manager.manifest_error =
                    Some(format!("cannot read `{}`: {e}", manifest_path.display()));
                return manager;
            }
        };
        let manifest = match manifest {
            Ok(m) => m,
            Err(e) => {
                manager.manifest_error = Some(format!("`{}`: {e}", manifest_path.display()));
                return manager;
            }
        };
        // Load every model concurrently; each thread owns its model until it is slotted in.
        type Loaded = (ModelReport, Option<Box<dyn Runner>>, Task, Option<usize>);
        let loaded: Vec<Loaded> = std::thread::scope(|s| {
            let handles: Vec<_> = manifest
                .models
                .iter()
                .map(|entry| {
                    s.spawn(move || {
                        let (report, model) = load_one(dir, entry, kind);
                        let dim = entry
                            .outputs
                            .first()
                            .and_then(TensorSpec::fixed_tail)
                            .and_then(|t| t.first().copied())
                            .map(|d| d as usize);
                        (report, model, entry.task.clone(), dim)
                    })
                })
                .collect();
            handles
                .into_iter()
                .zip(&manifest.models)
                .map(|(h, entry)| {
                    h.join().unwrap_or_else(|_| {
                        (
                            ModelReport {
                                name: entry.name.clone(),
                                task: entry.task.as_str().to_string(),
                                format: entry.format.as_str().to_string(),
                                backend: None,
                                status: Status::Unavailable {
                                    reason: "the loader crashed".into(),
                                },
                                load_ms: 0.0,
                                warmup_ms: 0.0,
                                bytes: 0,
                            },
                            None,
                            entry.task.clone(),
                            None,
                        )
                    })
                })
                .collect()
        });
        for (report, model, task, dim) in loaded {
            if let Some(model) = model {
                let slot = match task {
                    Task::Quality => &mut manager.models.predictor,
                    Task::QualityEncoder => {
                        manager.models.embedding_dim = dim.unwrap_or(0);
                        &mut manager.models.encoder
                    }
                    Task::QualityHead => &mut manager.models.head,
                    Task::Classifier => &mut manager.models.classifier,
                    _ => {
                        manager.reports.push(report);
                        continue;
                    }
                };
                // The first model per task wins; later ones stay reported but unused.
                if slot.is_none() {
                    *slot = Some(model);
                }
            }
            manager.reports.push(report);
        }
        manager
    }

    /// The directory the models came from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The backend in use.
    pub fn backend_kind(&self) -> BackendKind {
        self.models.kind
    }

    /// Why this backend was chosen.
    pub fn backend_reason(&self) -> &str {
        &self.backend_reason
    }

    /// Why the manifest could not be used, if it could not.
    pub fn manifest_error(&self) -> Option<&str> {
        self.manifest_error.as_deref()
    }

    /// One report per manifest entry.
    pub fn reports(&self) -> &[ModelReport] {
        &self.reports
    }

    /// The loaded models.
    pub fn backend(&self) -> &dyn Backend {
        &self.models
    }

    /// Whether the combined quality model is ready.
    pub fn has_quality(&self) -> bool {
        self.models.predictor.is_some()
    }

    /// Whether the split form (encoder + head) is ready.
    pub fn has_split(&self) -> bool {
        self.models.encoder.is_some() && self.models.head.is_some() && self.models.embedding_dim > 0
    }

    /// Whether the classifier is ready.
    pub fn has_classifier(&self) -> bool {
        self.models.classifier.is_some()
    }
}
