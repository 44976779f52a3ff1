//! The model manager: reads `manifest.json` from a model directory, then loads each model with the
//! core's [`load_model`] (sha256 check, load on the chosen runtime, warm-up runs) and only then
//! reports it ready. A missing, corrupt or checksum-mismatched model is `unavailable` with the
//! reason; the others keep serving, and predictions fall back to the heuristic; nothing panics.
//! What serves which task is the core's [`ModelSet`]; this module supplies files and a cache.
//!
//! Model directory: `--models DIR`, else `VECTUNE_MODELS`, else the packaged `models/`.
//!
//! Models live in a [`ModelCache`] (the core's LRU with a byte budget): [`ModelManager::open`]
//! loads them all up front, concurrently; [`ModelManager::open_with`] can instead load each on
//! first use ([`Options::lazy`]: a command loads only the models it uses), with a smaller budget
//! that evicts the least recently used, and pinned models that are never evicted. An evicted model
//! is loaded again (checksum, warm-up) when next needed. [`ModelManager::reload`] swaps in a
//! model's new file while predictions run: calls in flight finish on the old model, which is
//! dropped after the last of them. Each image's encoding is kept in an embedding cache
//! ([`ModelManager::encodings`]) for the next prediction on the same pixels.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use vectune_core::cache::{CacheError, CacheStats};
use vectune_core::encoding::EncodingCache;
use vectune_core::error::Error;
use vectune_core::graph::Graph;
use vectune_core::manifest::{Manifest, ModelEntry, Task};
use vectune_core::models::{GraphSource, ModelSet, QualityPath, load_correlation, load_model};
use vectune_core::suggest::CorrelationModels;

pub use vectune_core::models::{ModelReport, Status};

use crate::backends::{self, BackendChoice, BackendKind, Runtime, Threads};
use crate::cache::{CacheLoadError, ModelCache};
use crate::memory::DEFAULT_LIMIT_BYTES;

/// Warm-up runs per model before it is ready (JIT runtimes need more than one).
pub const WARMUP_RUNS: usize = 3;

/// The environment variable naming the model directory.
pub const MODELS_ENV: &str = "VECTUNE_MODELS";

/// The embedding cache's default budget: 64 MB, about 100,000 images' encodings.
pub const DEFAULT_ENCODINGS_BYTES: u64 = 64 * 1024 * 1024;

/// The model directory: `explicit`, else `$VECTUNE_MODELS`, else `../share/vectune/models` of the
/// executable's directory (an installed release), else the checkout's packaged `models/`.
pub fn models_dir(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(MODELS_ENV).map(PathBuf::from))
        .or_else(|| {
            crate::install_dir()
                .map(|d| d.join("../share/vectune/models"))
                .filter(|d| d.join("manifest.json").exists())
        })
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"))
}

/// How a manager holds its models.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The model cache's budget in bytes (default: the memory limit, 500 MB).
    pub budget_bytes: u64,
    /// Load each model on first use instead of all at open.
    pub lazy: bool,
    /// Names of models the cache never evicts.
    pub pinned: Vec<String>,
    /// ONNX Runtime's sessions per model and threads per session.
    pub threads: Threads,
    /// The embedding cache's budget in bytes.
    pub encodings_bytes: u64,
    /// Gather concurrent runs of the encoder, the combined model and the classifier into batches
    /// (a server's setting; `None`: every call runs alone).
    pub batching: Option<crate::batching::Batching>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            budget_bytes: DEFAULT_LIMIT_BYTES,
            lazy: false,
            pinned: Vec::new(),
            threads: Threads::default(),
            encodings_bytes: DEFAULT_ENCODINGS_BYTES,
            batching: None,
        }
    }
}

/// The status of a model the cache refused: one larger than the whole budget can never be held
/// (unavailable); one crowded out by pinned models may fit later (unloaded).
fn not_cached(e: &CacheError) -> Status {
    let reason = format!("not cached: {e}");
    match e {
        CacheError::LargerThanBudget { .. } => Status::Unavailable { reason },
        _ => Status::Unloaded { reason },
    }
}

/// One manifest entry and what is known of it.
struct Slot {
    entry: ModelEntry,
    report: ModelReport,
}

/// The manifest's models and the cache that holds the loaded ones: the [`GraphSource`] of the
/// manager's [`ModelSet`].
struct CachedGraphs {
    dir: PathBuf,
    runtime: Runtime,
    batching: Option<crate::batching::Batching>,
    slots: RwLock<Vec<Slot>>,
    cache: ModelCache<Arc<dyn Graph>>,
    pinned: Vec<String>,
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

/// Milliseconds since the first call (the core's loaders take a clock).
fn now_ms() -> f64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
}

/// The bytes of `entry`'s file in `dir`, or why they cannot be read.
fn read_file(dir: &Path, entry: &ModelEntry) -> Result<Vec<u8>, Error> {
    let path = dir.join(&entry.file);
    std::fs::read(&path).map_err(|e| {
        Error::unavailable(
            &entry.name,
            format!("cannot read `{}`: {e}", path.display()),
        )
    })
}

impl CachedGraphs {
    /// Reads, verifies, loads and warms up one model; with batching, a model whose inputs all
    /// have a batch dimension is wrapped to gather concurrent runs.
    fn load(&self, entry: &ModelEntry) -> (ModelReport, Option<Arc<dyn Graph>>) {
        let (report, graph) = load_model(
            entry,
            read_file(&self.dir, entry),
            &self.runtime,
            WARMUP_RUNS,
            &now_ms,
        );
        let batchable = matches!(
            entry.task,
            Task::QualityEncoder | Task::Quality | Task::Classifier
        );
        let graph = match (graph, &self.batching) {
            (Some(g), Some(b)) if batchable => {
                Some(Arc::new(crate::batching::Batched::new(g, &entry.name, b)) as Arc<dyn Graph>)
            }
            (g, _) => g,
        };
        (report, graph)
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut ModelReport)) {
        if let Some(s) = write(&self.slots).iter_mut().find(|s| s.entry.name == name) {
            f(&mut s.report);
        }
    }

    /// A fresh report for `name`, keeping the count of earlier loads.
    fn record(&self, report: ModelReport) {
        let name = report.name.clone();
        self.update(&name, |r| {
            let loads = r.loads;
            *r = report;
            r.loads += loads;
        });
    }

    fn mark_evicted(&self, evicted: &[String]) {
        for name in evicted {
            self.update(name, |r| {
                r.status = Status::Unloaded {
                    reason: "evicted to stay within the cache budget".into(),
                }
            });
        }
    }

    fn pin_if_asked(&self, name: &str) -> bool {
        if self.pinned.iter().any(|p| p == name) {
            self.cache.set_pinned(name, true);
        }
        self.cache.is_pinned(name)
    }

    /// Puts a loaded model into the cache and records its report.
    fn admit(&self, mut report: ModelReport, graph: Arc<dyn Graph>) {
        match self.cache.insert(&report.name, graph, report.bytes) {
            Ok(evicted) => {
                report.pinned = self.pin_if_asked(&report.name);
                self.mark_evicted(&evicted);
            }
            Err(e) => report.status = not_cached(&e),
        }
        self.record(report);
    }
}

impl GraphSource for CachedGraphs {
    fn graph(&self, name: &str) -> Result<Arc<dyn Graph>, Error> {
        if let Some(reason) = read(&self.slots)
            .iter()
            .find(|s| s.entry.name == name)
            .map(|s| match &s.report.status {
                Status::Unavailable { reason } => Some(reason.clone()),
                _ => None,
            })
            .unwrap_or_else(|| Some(format!("`{name}` is not in the manifest")))
        {
            return Err(Error::unavailable(name, reason));
        }
        let fetched = self.cache.get_or_load(name, || {
            let entry = read(&self.slots)
                .iter()
                .find(|s| s.entry.name == name)
                .map(|s| s.entry.clone())
                .ok_or_else(|| Error::unavailable(name, "no longer in the manifest"))?;
            self.update(name, |r| r.status = Status::Loading);
            let (report, graph) = self.load(&entry);
            let status = report.status.clone();
            let bytes = report.bytes;
            self.record(report);
            match graph {
                Some(g) => Ok((g, bytes)),
                None => Err(Error::unavailable(
                    name,
                    match status {
                        Status::Unavailable { reason } => reason,
                        other => format!("{other:?}"),
                    },
                )),
            }
        });
        match fetched {
            Ok(f) => {
                if f.loaded {
                    let pinned = self.pin_if_asked(name);
                    self.update(name, |r| r.pinned = pinned);
                    self.mark_evicted(&f.evicted);
                }
                Ok(f.value)
            }
            Err(CacheLoadError::Cache(e)) => {
                let status = not_cached(&e);
                self.update(name, |r| r.status = status);
                Err(Error::unavailable(name, format!("not cached: {e}")))
            }
            Err(CacheLoadError::Load(e)) => {
                // a loader that failed without a report (it panicked) leaves the model loadable
                self.update(name, |r| {
                    if r.status == Status::Loading {
                        r.status = Status::Unloaded {
                            reason: format!("the last load failed: {}", e.message()),
                        };
                    }
                });
                Err(e.in_model(name))
            }
        }
    }

    fn usable(&self, name: &str) -> bool {
        read(&self.slots)
            .iter()
            .any(|s| s.entry.name == name && !matches!(s.report.status, Status::Unavailable { .. }))
    }

    fn held_bytes(&self) -> u64 {
        self.cache.stats().bytes_used
    }
}

/// All models of one directory on one backend.
pub struct ModelManager {
    dir: PathBuf,
    backend_reason: String,
    manifest_error: Option<String>,
    models: Arc<CachedGraphs>,
    set: ModelSet,
    correlation: Option<Arc<CorrelationModels>>,
    encodings: Mutex<EncodingCache>,
}

/// Reads and validates `dir/manifest.json`.
fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    Manifest::from_json(&text).map_err(|e| format!("`{}`: {e}", path.display()))
}

impl ModelManager {
    /// Opens `dir` on the chosen backend with the default [`Options`] (every model loaded and
    /// warmed up now): never fails; problems become statuses (see [`ModelManager::reports`]), and
    /// a backend that cannot run falls back to tract, saying why.
    pub fn open(dir: &Path, choice: BackendChoice) -> ModelManager {
        ModelManager::open_with(dir, choice, Options::default())
    }

    /// Opens `dir` with explicit [`Options`].
    pub fn open_with(dir: &Path, choice: BackendChoice, options: Options) -> ModelManager {
        let (kind, backend_reason) = match backends::resolve(choice) {
            Ok(resolved) => resolved,
            Err(e) => (BackendKind::Tract, format!("{e}; falling back to tract")),
        };
        let runtime = Runtime {
            kind,
            threads: options.threads,
        };
        let (manifest, manifest_error) = match read_manifest(dir) {
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(e)),
        };
        let entries = manifest.map(|m| m.models).unwrap_or_default();
        let mut correlation = None;
        let slots = entries
            .iter()
            .map(|entry| {
                // The suggester's correlation file (JSON, small): read and verified now.
                let report = if entry.task == Task::Suggester {
                    let (report, parsed) = load_correlation(entry, read_file(dir, entry), &now_ms);
                    if correlation.is_none() {
                        correlation = parsed.map(Arc::new);
                    }
                    report
                } else {
                    let reason = "loads on first use".to_string();
                    ModelReport::new(entry, Status::Unloaded { reason })
                };
                Slot {
                    entry: entry.clone(),
                    report,
                }
            })
            .collect();
        let models = Arc::new(CachedGraphs {
            dir: dir.to_path_buf(),
            runtime,
            batching: options.batching.clone(),
            slots: RwLock::new(slots),
            cache: ModelCache::new(options.budget_bytes),
            pinned: options.pinned.clone(),
        });
        let graphs: Vec<&ModelEntry> = entries
            .iter()
            .filter(|e| e.task != Task::Suggester)
            .collect();
        if !options.lazy {
            // Load every model concurrently; each thread owns its model until it is admitted.
            let loaded: Vec<(ModelReport, Option<Arc<dyn Graph>>)> = std::thread::scope(|s| {
                let handles: Vec<_> = graphs
                    .iter()
                    .map(|&entry| {
                        let models = &models;
                        s.spawn(move || models.load(entry))
                    })
                    .collect();
                handles
                    .into_iter()
                    .zip(&graphs)
                    .map(|(h, entry)| {
                        h.join().unwrap_or_else(|panic| {
                            let reason = format!(
                                "the loader panicked: {}",
                                crate::error::panic_message(panic.as_ref())
                            );
                            (
                                ModelReport::new(entry, Status::Unavailable { reason }),
                                None,
                            )
                        })
                    })
                    .collect()
            });
            for (report, graph) in loaded {
                match graph {
                    Some(g) => models.admit(report, g),
                    None => models.record(report),
                }
            }
        }
        let set = ModelSet::new(
            kind.name(),
            &kind.format(),
            &entries,
            models.clone() as Arc<dyn GraphSource>,
        );
        ModelManager {
            dir: dir.to_path_buf(),
            backend_reason,
            manifest_error,
            models,
            set,
            correlation,
            encodings: Mutex::new(EncodingCache::new(options.encodings_bytes)),
        }
    }

    /// Loads model `name` again from the directory (re-reading `manifest.json`, so a new file with
    /// its new checksum is picked up) and swaps it in. Predictions in flight finish on the old
    /// model; kept encodings are dropped (they belong to the old encoder). On failure the old
    /// model (if any) keeps serving and the error says why.
    pub fn reload(&self, name: &str) -> Result<ModelReport, Error> {
        let manifest = read_manifest(&self.dir).map_err(|e| Error::unavailable(name, e))?;
        let entry = manifest
            .models
            .iter()
            .find(|e| e.name == name)
            .cloned()
            .ok_or_else(|| {
                Error::unavailable(
                    name,
                    format!(
                        "`{name}` is not in `{}`",
                        self.dir.join("manifest.json").display()
                    ),
                )
            })?;
        let (report, graph) = self.models.load(&entry);
        let Some(graph) = graph else {
            return Err(Error::unavailable(
                name,
                report.reason().unwrap_or("did not load"),
            ));
        };
        {
            let mut slots = write(&self.models.slots);
            match slots.iter_mut().find(|s| s.entry.name == name) {
                Some(s) => s.entry = entry,
                None => slots.push(Slot {
                    report: ModelReport::new(&entry, Status::Loading),
                    entry,
                }),
            }
        }
        self.models.admit(report, graph);
        self.encodings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.report(name)
            .ok_or_else(|| Error::unavailable(name, "vanished during reload"))
    }

    /// Loads every known model that is not in memory (e.g. after lazy open or eviction); returns
    /// how many are ready afterwards.
    pub fn load_all(&self) -> usize {
        for task in [
            Task::Quality,
            Task::QualityEncoder,
            Task::QualityHead,
            Task::Classifier,
        ] {
            let _ = self.set.graph(task);
        }
        self.reports()
            .iter()
            .filter(|r| r.status == Status::Ready)
            .count()
    }

    /// The directory the models came from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The backend in use.
    pub fn backend_kind(&self) -> BackendKind {
        self.models.runtime.kind
    }

    /// Why this backend was chosen.
    pub fn backend_reason(&self) -> &str {
        &self.backend_reason
    }

    /// Why the manifest could not be used, if it could not.
    pub fn manifest_error(&self) -> Option<&str> {
        self.manifest_error.as_deref()
    }

    /// One report per manifest entry (a snapshot).
    pub fn reports(&self) -> Vec<ModelReport> {
        read(&self.models.slots)
            .iter()
            .map(|s| s.report.clone())
            .collect()
    }

    /// The report of model `name`.
    pub fn report(&self, name: &str) -> Option<ModelReport> {
        read(&self.models.slots)
            .iter()
            .find(|s| s.entry.name == name)
            .map(|s| s.report.clone())
    }

    /// The model cache's counters and sizes.
    pub fn cache_stats(&self) -> CacheStats {
        self.models.cache.stats()
    }

    /// The models, as the core's pipeline runs them.
    pub fn models(&self) -> &ModelSet {
        &self.set
    }

    /// The embedding cache.
    pub fn encodings(&self) -> &Mutex<EncodingCache> {
        &self.encodings
    }

    /// Whether the combined quality model is usable (loaded, or loadable on first use).
    pub fn has_quality(&self) -> bool {
        self.set.has(&Task::Quality)
    }

    /// Whether the split form (encoder + head) is usable.
    pub fn has_split(&self) -> bool {
        self.set.quality_path() == Some(QualityPath::Split)
    }

    /// The graph of model `name`, loaded now if it must be (for callers that feed raw tensors:
    /// the Open Inference Protocol).
    pub fn graph(&self, name: &str) -> Result<Arc<dyn Graph>, Error> {
        self.models.graph(name)
    }

    /// The manifest entry of model `name`.
    pub fn entry(&self, name: &str) -> Option<ModelEntry> {
        read(&self.models.slots)
            .iter()
            .find(|s| s.entry.name == name)
            .map(|s| s.entry.clone())
    }

    /// The manifest entries this manager's runtime runs (its format), in manifest order.
    pub fn runnable(&self) -> Vec<ModelEntry> {
        let format = self.backend_kind().format();
        read(&self.models.slots)
            .iter()
            .filter(|s| s.entry.format == format)
            .map(|s| s.entry.clone())
            .collect()
    }

    /// The version of the quality model that answers now: the name and the first 12 hex digits
    /// of the sha256 of each of its graphs (`quality_encoder@1a2b..+quality_head@3c4d..`), `None`
    /// when the heuristic answers.
    pub fn quality_version(&self) -> Option<String> {
        let tasks: &[Task] = match self.set.quality_path()? {
            QualityPath::Split => &[Task::QualityEncoder, Task::QualityHead],
            QualityPath::Combined => &[Task::Quality],
        };
        let slots = read(&self.models.slots);
        let parts: Vec<String> = tasks
            .iter()
            .filter_map(|t| self.set.model_name(t))
            .filter_map(|name| slots.iter().find(|s| s.entry.name == name))
            .map(|s| {
                format!(
                    "{}@{}",
                    s.entry.name,
                    &s.entry.sha256[..12.min(s.entry.sha256.len())]
                )
            })
            .collect();
        Some(parts.join("+"))
    }

    /// The suggester's correlation models, if the manifest lists a valid file.
    pub fn correlation(&self) -> Option<&CorrelationModels> {
        self.correlation.as_deref()
    }

    /// Whether the classifier is usable.
    pub fn has_classifier(&self) -> bool {
        self.set.has_classifier()
    }
}
