//! The model manager: reads `manifest.json` from a model directory, verifies every file's sha256,
//! loads all models concurrently, warms each up (several runs), and only then reports them ready.
//! A missing, corrupt or checksum-mismatched model is `unavailable` with the reason; the others
//! keep serving, and predictions fall back to the heuristic; nothing panics.
//!
//! Model directory: `--models DIR`, else `VECTUNE_MODELS`, else the packaged `models/`.
//!
//! Models live in a [`ModelCache`] (the core's LRU with a byte budget): [`ModelManager::open`]
//! loads them all up front; [`ModelManager::open_with`] can instead load each on first use
//! ([`Options::lazy`]), with a smaller budget that evicts the least recently used, and pinned models
//! that are never evicted. An evicted model is loaded again (checksum, warm-up) when next needed.
//! [`ModelManager::reload`] swaps in a model's new file while predictions run: calls in flight
//! finish on the old model, which is dropped after the last of them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use serde::Serialize;
use vectune_core::backend::Backend;
use vectune_core::cache::{CacheError, CacheStats};
use vectune_core::manifest::{Format, Manifest, ModelEntry, Task};
use vectune_core::suggest::CorrelationModels;

use crate::backends::{self, BackendChoice, BackendKind, ModelSet, ModelSource, Runner};
use crate::cache::{CacheLoadError, ModelCache};
use crate::memory::DEFAULT_LIMIT_BYTES;

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
    /// Being loaded (read, verified, optimised, warmed up).
    Loading,
    /// Known and not in memory: not used yet (lazy loading) or evicted; loads on next use.
    Unloaded {
        /// Why it is not in memory.
        reason: String,
    },
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
    /// How many times it was loaded (reloads and loads after eviction count).
    pub loads: u32,
    /// Whether the cache never evicts it.
    pub pinned: bool,
}

fn new_report(entry: &ModelEntry, status: Status) -> ModelReport {
    ModelReport {
        name: entry.name.clone(),
        task: entry.task.as_str().to_string(),
        format: entry.format.as_str().to_string(),
        backend: None,
        status,
        load_ms: 0.0,
        warmup_ms: 0.0,
        bytes: 0,
        loads: 0,
        pinned: false,
    }
}

/// Reads, verifies and parses the suggester's correlation file.
fn load_correlation(dir: &Path, entry: &ModelEntry) -> (ModelReport, Option<CorrelationModels>) {
    let mut report = new_report(entry, Status::Ready);
    let start = Instant::now();
    let path = dir.join(&entry.file);
    let result = std::fs::read(&path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))
        .and_then(|bytes| {
            entry.verify(&bytes).map_err(|e| e.to_string())?;
            report.bytes = bytes.len() as u64;
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("`{}` is not UTF-8 text", entry.file))?;
            CorrelationModels::from_json(&text).map_err(|e| format!("`{}`: {e}", entry.file))
        });
    report.load_ms = start.elapsed().as_secs_f64() * 1e3;
    match result {
        Ok(c) => {
            report.loads = 1;
            report.backend = Some("json".into());
            (report, Some(c))
        }
        Err(reason) => {
            report.status = Status::Unavailable { reason };
            (report, None)
        }
    }
}

/// Reads, verifies, loads and warms up one model; the report says how it went.
fn load_one(
    dir: &Path,
    entry: &ModelEntry,
    kind: BackendKind,
) -> (ModelReport, Option<Arc<dyn Runner>>) {
    let mut report = new_report(entry, Status::Ready);
    let unavailable = |mut r: ModelReport, reason: String| {
        r.status = Status::Unavailable { reason };
        (r, None)
    };
    if entry.format != kind.format() {
        let runs_on = match entry.format {
            Format::Onnx => "ort or tract",
            Format::TorchScript => "torch",
            Format::Nnef => "the browser package (vectune-web)",
            _ => "no backend",
        };
        return unavailable(
            report,
            format!(
                "a {} model runs on {runs_on}; this manager runs {}",
                entry.format.as_str(),
                kind.name()
            ),
        );
    }
    let start = Instant::now();
    let path = dir.join(&entry.file);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => return unavailable(report, format!("cannot read `{}`: {e}", path.display())),
    };
    if let Err(e) = entry.verify(&bytes) {
        return unavailable(report, e.to_string());
    }
    report.bytes = bytes.len() as u64;
    let inputs: Vec<String> = entry.inputs.iter().map(|i| i.name.clone()).collect();
    let model = match kind.load(&bytes, &inputs) {
        Ok(m) => Arc::new(backends::Declared {
            runner: m,
            stats: entry.stats_input(),
            shares_embedding: entry.shares_embedding(),
        }) as Arc<dyn Runner>,
        Err(e) => return unavailable(report, format!("cannot load `{}`: {e}", entry.file)),
    };
    report.load_ms = start.elapsed().as_secs_f64() * 1e3;
    let warm = Instant::now();
    let feeds = entry.warmup_inputs();
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
    report.loads = 1;
    (report, Some(model))
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            budget_bytes: DEFAULT_LIMIT_BYTES,
            lazy: false,
            pinned: Vec::new(),
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

/// The manifest's models and the cache that holds the loaded ones; the [`ModelSource`] of the
/// manager's [`ModelSet`].
struct Models {
    dir: PathBuf,
    kind: BackendKind,
    slots: RwLock<Vec<Slot>>,
    cache: ModelCache<Arc<dyn Runner>>,
    pinned: Vec<String>,
    correlation: RwLock<Option<Arc<CorrelationModels>>>,
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

impl Models {
    /// The entry used for `task`: the first usable one in manifest order.
    fn entry_for(&self, task: &Task) -> Option<ModelEntry> {
        read(&self.slots)
            .iter()
            .find(|s| {
                &s.entry.task == task
                    && s.entry.format == self.kind.format()
                    && !matches!(s.report.status, Status::Unavailable { .. })
            })
            .map(|s| s.entry.clone())
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut ModelReport)) {
        if let Some(s) = write(&self.slots).iter_mut().find(|s| s.entry.name == name) {
            f(&mut s.report);
        }
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

    /// Puts a loaded model into the cache and records its report.
    fn admit(&self, mut report: ModelReport, model: Arc<dyn Runner>) {
        let name = report.name.clone();
        match self.cache.insert(&name, model, report.bytes) {
            Ok(evicted) => {
                if self.pinned.contains(&name) {
                    self.cache.set_pinned(&name, true);
                }
                report.pinned = self.cache.is_pinned(&name);
                self.mark_evicted(&evicted);
            }
            Err(e) => report.status = not_cached(&e),
        }
        self.update(&name, |r| {
            let loads = r.loads;
            *r = report;
            r.loads += loads;
        });
    }
}

impl ModelSource for Models {
    fn runner(&self, task: &Task) -> Option<Result<Arc<dyn Runner>, String>> {
        let entry = self.entry_for(task)?;
        let name = entry.name.clone();
        let fetched = self.cache.get_or_load(&name, || {
            self.update(&name, |r| r.status = Status::Loading);
            let (report, model) = load_one(&self.dir, &entry, self.kind);
            match model {
                Some(m) => {
                    let bytes = report.bytes;
                    self.update(&name, |r| {
                        let loads = r.loads;
                        *r = report;
                        r.loads += loads;
                    });
                    Ok((m, bytes))
                }
                None => {
                    let reason = match &report.status {
                        Status::Unavailable { reason } => reason.clone(),
                        other => format!("{other:?}"),
                    };
                    self.update(&name, |r| r.status = report.status.clone());
                    Err(reason)
                }
            }
        });
        Some(match fetched {
            Ok(f) => {
                if f.loaded {
                    if self.pinned.contains(&name) {
                        self.cache.set_pinned(&name, true);
                    }
                    let pinned = self.cache.is_pinned(&name);
                    self.update(&name, |r| r.pinned = pinned);
                    self.mark_evicted(&f.evicted);
                }
                Ok(f.value)
            }
            Err(CacheLoadError::Cache(e)) => {
                self.update(&name, |r| r.status = not_cached(&e));
                Err(format!("not cached: {e}"))
            }
            Err(CacheLoadError::Load(e)) => Err(e),
        })
    }

    fn embedding_dim(&self) -> usize {
        self.entry_for(&Task::QualityEncoder)
            .map_or(0, |e| e.embedding_dim())
    }

    fn model_bytes(&self) -> u64 {
        self.cache.stats().bytes_used
    }
}

/// All models of one directory on one backend.
pub struct ModelManager {
    dir: PathBuf,
    backend_reason: String,
    manifest_error: Option<String>,
    models: Arc<Models>,
    set: ModelSet,
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
        let (manifest, manifest_error) = match read_manifest(dir) {
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(e)),
        };
        let entries = manifest.map(|m| m.models).unwrap_or_default();
        let slots = entries
            .iter()
            .map(|entry| Slot {
                entry: entry.clone(),
                report: new_report(
                    entry,
                    Status::Unloaded {
                        reason: "loads on first use".into(),
                    },
                ),
            })
            .collect();
        let models = Arc::new(Models {
            dir: dir.to_path_buf(),
            kind,
            slots: RwLock::new(slots),
            cache: ModelCache::new(options.budget_bytes),
            pinned: options.pinned.clone(),
            correlation: RwLock::new(None),
        });
        // The suggester's correlation file (JSON, small): read and verified now, whatever the mode.
        for entry in entries.iter().filter(|e| e.task == Task::Suggester) {
            let (report, parsed) = load_correlation(dir, entry);
            if let Some(c) = parsed {
                let mut slot = write(&models.correlation);
                if slot.is_none() {
                    *slot = Some(Arc::new(c));
                }
            }
            models.update(&entry.name, |r| *r = report);
        }
        let entries: Vec<ModelEntry> = entries
            .into_iter()
            .filter(|e| e.task != Task::Suggester)
            .collect();
        if !options.lazy {
            // Load every model concurrently; each thread owns its model until it is admitted.
            let loaded: Vec<(ModelReport, Option<Arc<dyn Runner>>)> = std::thread::scope(|s| {
                let handles: Vec<_> = entries
                    .iter()
                    .map(|entry| s.spawn(move || load_one(dir, entry, kind)))
                    .collect();
                handles
                    .into_iter()
                    .zip(&entries)
                    .map(|(h, entry)| {
                        h.join().unwrap_or_else(|_| {
                            let reason = "the loader crashed".to_string();
                            (new_report(entry, Status::Unavailable { reason }), None)
                        })
                    })
                    .collect()
            });
            for (report, model) in loaded {
                match model {
                    Some(m) => models.admit(report, m),
                    None => {
                        let name = report.name.clone();
                        models.update(&name, |r| *r = report);
                    }
                }
            }
        }
        let set = ModelSet::new(kind, models.clone());
        ModelManager {
            dir: dir.to_path_buf(),
            backend_reason,
            manifest_error,
            models,
            set,
        }
    }

    /// Loads model `name` again from the directory (re-reading `manifest.json`, so a new file with
    /// its new checksum is picked up) and swaps it in. Predictions in flight finish on the old
    /// model. On failure the old model (if any) keeps serving and the error says why.
    pub fn reload(&self, name: &str) -> Result<ModelReport, String> {
        let manifest = read_manifest(&self.dir)?;
        let entry = manifest
            .models
            .iter()
            .find(|e| e.name == name)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "`{name}` is not in `{}`",
                    self.dir.join("manifest.json").display()
                )
            })?;
        let (report, model) = load_one(&self.dir, &entry, self.models.kind);
        let Some(model) = model else {
            return Err(match report.status {
                Status::Unavailable { reason } => reason,
                other => format!("{other:?}"),
            });
        };
        {
            let mut slots = write(&self.models.slots);
            match slots.iter_mut().find(|s| s.entry.name == name) {
                Some(s) => s.entry = entry,
                None => slots.push(Slot {
                    report: new_report(&entry, Status::Loading),
                    entry,
                }),
            }
        }
        self.models.admit(report, model);
        self.report(name)
            .ok_or_else(|| format!("`{name}` vanished during reload"))
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
            let _ = self.models.runner(&task);
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

    /// The models as the core's [`Backend`].
    pub fn backend(&self) -> &dyn Backend {
        &self.set
    }

    /// Whether the combined quality model is usable (loaded, or loadable on first use).
    pub fn has_quality(&self) -> bool {
        self.models.entry_for(&Task::Quality).is_some()
    }

    /// Whether the split form (encoder + head) is usable.
    pub fn has_split(&self) -> bool {
        self.models.entry_for(&Task::QualityHead).is_some()
            && self
                .models
                .entry_for(&Task::QualityEncoder)
                .is_some_and(|e| e.embedding_dim() > 0)
    }

    /// The suggester's correlation models, if the manifest lists a valid file.
    pub fn correlation(&self) -> Option<Arc<CorrelationModels>> {
        read(&self.models.correlation).clone()
    }

    /// Whether the classifier is usable.
    pub fn has_classifier(&self) -> bool {
        self.models.entry_for(&Task::Classifier).is_some()
    }
}
