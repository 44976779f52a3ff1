//! vectune's models by task, the one pipeline every runtime runs through. A binding supplies a
//! [`Loader`] (its runtime: bytes -> [`Graph`]) and a [`GraphSource`] (where loaded graphs live:
//! the browser's [`Preloaded`] map, the native manager's LRU cache); the [`ModelSet`] knows from
//! the manifest which graph serves which task with which inputs (the statistics input's width,
//! whether the head shares one embedding row, the embedding width, the classifier's labels), and
//! which form of the quality model can run ([`QualityPath`]).
//!
//! [`load_model`] is the one way a model becomes ready: checksum, load, warm-up, each timed, with a
//! [`ModelReport`] that says how it went; [`load_correlation`] does the same for the suggester's
//! JSON file; [`load_all`] loads a whole manifest at once (the browser).
//!
//! ```
//! use std::sync::Arc;
//! use vectune_core::models::{ModelSet, Preloaded};
//!
//! // No models: every task is unavailable and the heuristic answers (see `predict`).
//! let none = ModelSet::none();
//! assert_eq!(none.quality_path(), None);
//! assert!(!none.has_classifier());
//! let empty = ModelSet::new("tract", &vectune_core::manifest::Format::Onnx, &[], Arc::new(Preloaded::default()));
//! assert_eq!(empty.backend(), "tract");
//! ```

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use serde::Serialize;

use crate::error::Error;
use crate::graph::{
    Batch, Feed, Graph, check_stats, image_count, image_shape, run_head, run_head_one, stats_prefix,
};
use crate::manifest::{Format, LOGO_CLASSES, Manifest, ModelEntry, Task};
use crate::params::PARAM_COUNT;
use crate::suggest::CorrelationModels;

/// Which form of the quality model runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QualityPath {
    /// Encoder once per image, head per parameter set.
    Split,
    /// The combined model, one row per parameter set.
    Combined,
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

/// What is known of one manifest entry: the same fields in `vectune models --json`, the browser's
/// `status()` and an HTTP service's model list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelReport {
    /// Manifest name.
    pub name: String,
    /// Task.
    pub task: String,
    /// File format.
    pub format: String,
    /// The runtime it runs on (once ready).
    pub backend: Option<String>,
    /// State.
    pub status: Status,
    /// Verify + parse + optimise time, ms.
    pub load_ms: f64,
    /// Warm-up time, ms.
    pub warmup_ms: f64,
    /// Memory attributed at load: the model file's size.
    pub bytes: u64,
    /// How many times it was loaded (reloads and loads after eviction count).
    pub loads: u32,
    /// Whether a cache never evicts it.
    pub pinned: bool,
}

impl ModelReport {
    /// A report of `entry` in state `status`, nothing loaded yet.
    pub fn new(entry: &ModelEntry, status: Status) -> ModelReport {
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

    /// The reason it is unavailable or unloaded, if it is.
    pub fn reason(&self) -> Option<&str> {
        match &self.status {
            Status::Unavailable { reason } | Status::Unloaded { reason } => Some(reason),
            Status::Ready | Status::Loading => None,
        }
    }
}

/// A runtime that turns model files of one format into graphs.
pub trait Loader: Sync {
    /// Its name (`ort`, `tract`, `torch`, `tract-wasm`).
    fn backend(&self) -> &str;
    /// The format it loads.
    fn format(&self) -> Format;
    /// Loads `bytes` (already checked against `entry`'s sha256).
    fn load(&self, entry: &ModelEntry, bytes: &[u8]) -> Result<Arc<dyn Graph>, Error>;
}

/// What runs a format, in words.
fn runs_on(format: &Format) -> &'static str {
    match format {
        Format::Onnx => "ort or tract",
        Format::TorchScript => "torch",
        Format::Nnef => "the browser package (vectune-web)",
        Format::Json => "the suggester",
        Format::Unknown(_) => "no runtime",
    }
}

/// What a runtime of `format` runs, in words.
fn runs(format: &Format) -> String {
    match format {
        Format::Nnef => "the NNEF exports of the ONNX models (`vectune export-nnef`)".to_string(),
        other => format!("{} models", other.as_str()),
    }
}

/// Reads nothing, loads `bytes` of `entry` with `loader`: checks the sha256, loads, then warms up
/// with `warmup_runs` runs of the entry's warm-up inputs ([`ModelEntry::warmup_inputs`]), each step
/// timed by `now_ms` (milliseconds, any origin). `bytes` is the file's content or why it could not
/// be read. A model of another format is unavailable, saying what runs it.
pub fn load_model(
    entry: &ModelEntry,
    bytes: Result<Vec<u8>, Error>,
    loader: &dyn Loader,
    warmup_runs: usize,
    now_ms: &dyn Fn() -> f64,
) -> (ModelReport, Option<Arc<dyn Graph>>) {
    let mut report = ModelReport::new(entry, Status::Ready);
    let unavailable = |mut r: ModelReport, reason: String| {
        r.status = Status::Unavailable { reason };
        (r, None)
    };
    if entry.format != loader.format() {
        let reason = format!(
            "a {} model runs on {}; {} runs {}",
            entry.format.as_str(),
            runs_on(&entry.format),
            loader.backend(),
            runs(&loader.format())
        );
        return unavailable(report, reason);
    }
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => return unavailable(report, e.message().to_string()),
    };
    let start = now_ms();
    if let Err(e) = entry.verify(&bytes) {
        return unavailable(report, e.to_string());
    }
    report.bytes = bytes.len() as u64;
    let graph = match loader.load(entry, &bytes) {
        Ok(g) => g,
        Err(e) => {
            return unavailable(
                report,
                format!("cannot load `{}`: {}", entry.file, e.message()),
            );
        }
    };
    report.load_ms = now_ms() - start;
    let warm = now_ms();
    let inputs = entry.warmup_inputs();
    let feeds: Vec<Feed<'_>> = inputs
        .iter()
        .map(|(n, s, d)| (n.as_str(), s.clone(), d.as_slice()))
        .collect();
    for _ in 0..warmup_runs {
        if let Err(e) = graph.run(&feeds) {
            return unavailable(report, format!("warm-up failed: {}", e.message()));
        }
    }
    report.warmup_ms = now_ms() - warm;
    report.backend = Some(loader.backend().to_string());
    report.loads = 1;
    (report, Some(graph))
}

/// Verifies and parses the suggester's correlation file (`bytes`, or why they could not be read).
pub fn load_correlation(
    entry: &ModelEntry,
    bytes: Result<Vec<u8>, Error>,
    now_ms: &dyn Fn() -> f64,
) -> (ModelReport, Option<CorrelationModels>) {
    let mut report = ModelReport::new(entry, Status::Ready);
    let start = now_ms();
    let parsed = bytes
        .map_err(|e| e.message().to_string())
        .and_then(|bytes| {
            entry.verify(&bytes).map_err(|e| e.to_string())?;
            report.bytes = bytes.len() as u64;
            let text = core::str::from_utf8(&bytes)
                .map_err(|_| format!("`{}` is not UTF-8 text", entry.file))?;
            CorrelationModels::from_json(text).map_err(|e| format!("`{}`: {e}", entry.file))
        });
    report.load_ms = now_ms() - start;
    match parsed {
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

/// Where a [`ModelSet`] gets its graphs, by manifest name.
pub trait GraphSource: Send + Sync {
    /// The graph of model `name`, loaded now if it must be; an error of kind
    /// [`crate::error::ErrorKind::ModelUnavailable`] when it cannot be had.
    fn graph(&self, name: &str) -> Result<Arc<dyn Graph>, Error>;
    /// Whether model `name` is usable: loaded, or loadable on first use.
    fn usable(&self, name: &str) -> bool;
    /// Bytes attributed to the graphs held now.
    fn held_bytes(&self) -> u64;
}

/// Graphs loaded once and held for good (the browser's source).
#[derive(Default)]
pub struct Preloaded {
    graphs: BTreeMap<String, (Arc<dyn Graph>, u64)>,
    failed: BTreeMap<String, String>,
}

impl Preloaded {
    /// Holds `graph` as model `name`, attributing `bytes` to it.
    pub fn insert(&mut self, name: &str, graph: Arc<dyn Graph>, bytes: u64) {
        self.graphs.insert(name.to_string(), (graph, bytes));
    }

    /// Records why model `name` did not load (what asking for it then says).
    pub fn fail(&mut self, name: &str, reason: &str) {
        self.failed.insert(name.to_string(), reason.to_string());
    }
}

impl GraphSource for Preloaded {
    fn graph(&self, name: &str) -> Result<Arc<dyn Graph>, Error> {
        self.graphs
            .get(name)
            .map(|(g, _)| g.clone())
            .ok_or_else(|| {
                let reason = self
                    .failed
                    .get(name)
                    .map_or("it did not load", String::as_str);
                Error::unavailable(name, reason)
            })
    }

    fn usable(&self, name: &str) -> bool {
        self.graphs.contains_key(name)
    }

    fn held_bytes(&self) -> u64 {
        self.graphs.values().map(|(_, b)| b).sum()
    }
}

/// A manifest entry serving one task: its name and the statistics input it declares.
#[derive(Clone, Debug)]
struct TaskModel {
    name: String,
    stats: Option<(&'static str, usize)>,
}

/// vectune's models by task on one runtime: which graph answers each task, with the facts of its
/// manifest entry. A task without a model, or whose model cannot be had, answers with an error of
/// kind [`crate::error::ErrorKind::ModelUnavailable`].
pub struct ModelSet {
    backend: String,
    quality: Option<TaskModel>,
    encoder: Option<TaskModel>,
    head: Option<TaskModel>,
    classifier: Option<TaskModel>,
    embedding_dim: usize,
    head_shares_embedding: bool,
    classes: Vec<&'static str>,
    source: Arc<dyn GraphSource>,
}

impl ModelSet {
    /// The models of `entries` in `format` (the first per task, in manifest order), their graphs
    /// from `source`, on runtime `backend`.
    pub fn new(
        backend: &str,
        format: &Format,
        entries: &[ModelEntry],
        source: Arc<dyn GraphSource>,
    ) -> ModelSet {
        let first = |task: Task| {
            entries
                .iter()
                .find(|e| e.task == task && &e.format == format)
        };
        let declared = |e: &ModelEntry| TaskModel {
            name: e.name.clone(),
            stats: e.stats_input(),
        };
        let encoder = first(Task::QualityEncoder);
        let head = first(Task::QualityHead);
        let classifier = first(Task::Classifier);
        ModelSet {
            backend: backend.to_string(),
            quality: first(Task::Quality).map(declared),
            encoder: encoder.map(declared),
            head: head.map(declared),
            classifier: classifier.map(declared),
            embedding_dim: encoder.map_or(0, ModelEntry::embedding_dim),
            head_shares_embedding: head.is_some_and(ModelEntry::shares_embedding),
            classes: classifier.map_or_else(|| LOGO_CLASSES.to_vec(), ModelEntry::classes),
            source,
        }
    }

    /// No models at all: every prediction comes from the heuristic.
    pub fn none() -> ModelSet {
        ModelSet::new("none", &Format::Onnx, &[], Arc::new(Preloaded::default()))
    }

    /// The runtime's name.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    fn usable(&self, m: &Option<TaskModel>) -> bool {
        m.as_ref().is_some_and(|m| self.source.usable(&m.name))
    }

    /// The form of the quality model that can run now: the split form when both halves are
    /// usable (and the manifest gives the embedding width), else the combined model, else none
    /// (the heuristic answers).
    pub fn quality_path(&self) -> Option<QualityPath> {
        if self.embedding_dim > 0 && self.usable(&self.encoder) && self.usable(&self.head) {
            Some(QualityPath::Split)
        } else if self.usable(&self.quality) {
            Some(QualityPath::Combined)
        } else {
            None
        }
    }

    /// Whether the model for `task` is usable (loaded, or loadable on first use).
    pub fn has(&self, task: &Task) -> bool {
        self.usable(self.slot(task))
    }

    /// Whether the classifier is usable.
    pub fn has_classifier(&self) -> bool {
        self.has(&Task::Classifier)
    }

    /// Width of the split form's embedding (from the manifest), 0 without an encoder.
    pub fn embedding_dim(&self) -> usize {
        self.embedding_dim
    }

    /// The classifier's classes in output order (from the manifest's labels).
    pub fn classes(&self) -> &[&'static str] {
        &self.classes
    }

    /// Bytes attributed to the graphs held now.
    pub fn held_bytes(&self) -> u64 {
        self.source.held_bytes()
    }

    fn slot(&self, task: &Task) -> &Option<TaskModel> {
        match task {
            Task::Quality => &self.quality,
            Task::QualityEncoder => &self.encoder,
            Task::QualityHead => &self.head,
            Task::Classifier => &self.classifier,
            _ => &None,
        }
    }

    /// The manifest name of the model serving `task`, if any.
    pub fn model_name(&self, task: &Task) -> Option<&str> {
        self.slot(task).as_ref().map(|m| m.name.as_str())
    }

    fn model(&self, task: Task) -> Result<(&TaskModel, Arc<dyn Graph>), Error> {
        let m = self.slot(&task).as_ref().ok_or_else(|| {
            Error::unavailable(
                task.as_str(),
                format!("no {} model is ready ({})", task.as_str(), self.backend),
            )
        })?;
        Ok((m, self.source.graph(&m.name)?))
    }

    /// The graph serving `task` (for callers that feed raw tensors).
    pub fn graph(&self, task: Task) -> Result<Arc<dyn Graph>, Error> {
        self.model(task).map(|(_, g)| g)
    }

    /// Runs `m`'s graph with `feeds` plus its statistics input (cut to its width) for `n` images.
    fn run_with_stats(
        m: &TaskModel,
        graph: &dyn Graph,
        feeds: &[Feed<'_>],
        n: usize,
        stats: &[f32],
    ) -> Result<Vec<f32>, Error> {
        let result = match m.stats {
            Some((name, k)) => {
                let side = stats_prefix(stats, k);
                let mut all = feeds.to_vec();
                all.push((name, alloc::vec![n, k], &side));
                graph.run(&all)
            }
            None => graph.run(feeds),
        };
        result.map_err(|e| e.in_model(&m.name))
    }

    /// The combined quality model: one raw SSIM per item of `batch`.
    pub fn predict_quality(&self, batch: Batch<'_>) -> Result<Vec<f32>, Error> {
        let (m, graph) = self.model(Task::Quality)?;
        let n = batch.len();
        let feeds = [
            ("image", image_shape(n), batch.images()),
            ("params", alloc::vec![n, PARAM_COUNT], batch.params()),
        ];
        Self::run_with_stats(m, graph.as_ref(), &feeds, n, batch.stats())
    }

    /// The split form's encoder: `[N, D]` embeddings of `[N, 3, 224, 224]` images and their
    /// `[N, 11]` statistics ([`crate::features::image_stats`]).
    pub fn encode(&self, images: &[f32], stats: &[f32]) -> Result<Vec<f32>, Error> {
        let (m, graph) = self.model(Task::QualityEncoder)?;
        let n = image_count(images)?;
        check_stats(n, stats)?;
        let feeds = [("image", image_shape(n), images)];
        Self::run_with_stats(m, graph.as_ref(), &feeds, n, stats)
    }

    /// The split form's head: one raw SSIM per row of `embeddings` (`[N, D]`) and `params`
    /// (`[N, 8]`).
    pub fn predict_head(&self, embeddings: &[f32], params: &[f32]) -> Result<Vec<f32>, Error> {
        let (m, graph) = self.model(Task::QualityHead)?;
        run_head(
            graph.as_ref(),
            embeddings,
            params,
            self.embedding_dim,
            self.head_shares_embedding,
        )
        .map_err(|e| e.in_model(&m.name))
    }

    /// The head for one image: its `[D]` embedding with each row of `params` (`[N, 8]`); a head
    /// that shares the embedding takes it once, without an `N x D` copy.
    pub fn predict_head_one(&self, embedding: &[f32], params: &[f32]) -> Result<Vec<f32>, Error> {
        let (m, graph) = self.model(Task::QualityHead)?;
        run_head_one(
            graph.as_ref(),
            embedding,
            params,
            self.embedding_dim,
            self.head_shares_embedding,
        )
        .map_err(|e| e.in_model(&m.name))
    }

    /// The classifier: `[N, classes]` logits, row-major, in [`ModelSet::classes`] order.
    pub fn classify(&self, images: &[f32]) -> Result<Vec<f32>, Error> {
        let (m, graph) = self.model(Task::Classifier)?;
        let n = image_count(images)?;
        graph
            .run(&[("image", image_shape(n), images)])
            .map_err(|e| e.in_model(&m.name))
    }
}

/// A whole manifest loaded at once ([`load_all`]).
pub struct Loaded {
    /// Why the manifest could not be used, if it could not (then nothing loaded).
    pub manifest_error: Option<String>,
    /// One report per manifest entry, in manifest order.
    pub reports: Vec<ModelReport>,
    /// The models that loaded.
    pub models: ModelSet,
    /// The suggester's correlation models, if they loaded.
    pub correlation: Option<CorrelationModels>,
}

/// Loads every model of `manifest_json` with `loader`, one at a time; `bytes_of` returns a model
/// file's bytes, or why they cannot be had. Never fails: problems become reports.
pub fn load_all(
    manifest_json: &str,
    loader: &dyn Loader,
    mut bytes_of: impl FnMut(&ModelEntry) -> Result<Vec<u8>, Error>,
    warmup_runs: usize,
    now_ms: &dyn Fn() -> f64,
) -> Loaded {
    let manifest = match Manifest::from_json(manifest_json) {
        Ok(m) => m,
        Err(e) => {
            return Loaded {
                manifest_error: Some(e.to_string()),
                reports: Vec::new(),
                models: ModelSet::none(),
                correlation: None,
            };
        }
    };
    let mut source = Preloaded::default();
    let mut reports = Vec::with_capacity(manifest.models.len());
    let mut correlation = None;
    for entry in &manifest.models {
        if entry.task == Task::Suggester {
            let (report, parsed) = load_correlation(entry, bytes_of(entry), now_ms);
            if correlation.is_none() {
                correlation = parsed;
            }
            reports.push(report);
            continue;
        }
        // a file of another format is not even fetched: its reason comes from the format alone
        let bytes = if entry.format == loader.format() {
            bytes_of(entry)
        } else {
            Ok(Vec::new())
        };
        let (report, graph) = load_model(entry, bytes, loader, warmup_runs, now_ms);
        match graph {
            Some(graph) => source.insert(&entry.name, graph, report.bytes),
            None => source.fail(&entry.name, report.reason().unwrap_or("did not load")),
        }
        reports.push(report);
    }
    let models = ModelSet::new(
        loader.backend(),
        &loader.format(),
        &manifest.models,
        Arc::new(source) as Arc<dyn GraphSource>,
    );
    Loaded {
        manifest_error: None,
        reports,
        models,
        correlation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    /// A graph that answers `value` for each row of its first input.
    struct Constant(f32, Vec<String>);

    impl Graph for Constant {
        fn run(&self, feeds: &[Feed<'_>]) -> Result<Vec<f32>, Error> {
            Ok(alloc::vec![self.0; feeds.first().map_or(0, |f| f.1[0])])
        }
        fn input_names(&self) -> &[String] {
            &self.1
        }
    }

    struct Fake;

    impl Loader for Fake {
        fn backend(&self) -> &str {
            "fake"
        }
        fn format(&self) -> Format {
            Format::Onnx
        }
        fn load(&self, _: &ModelEntry, bytes: &[u8]) -> Result<Arc<dyn Graph>, Error> {
            if bytes == b"junk" {
                return Err(Error::runtime("not a model"));
            }
            Ok(Arc::new(Constant(0.5, Vec::new())))
        }
    }

    fn entry(name: &str, task: &str, format: &str, bytes: &[u8]) -> String {
        let inputs = match task {
            "quality" => {
                r#"[{"name":"image","shape":["N",3,224,224]},{"name":"params","shape":["N",8]}]"#
            }
            _ => r#"[{"name":"image","shape":["N",3,224,224]}]"#,
        };
        let outputs = match task {
            "quality" => r#"[{"name":"ssim","shape":["N",1]}]"#,
            _ => r#"[{"name":"logits","shape":["N",4]}]"#,
        };
        let labels = if task == "classifier" {
            r#","labels":["complex","gradient","text_based","simple_geometric"]"#
        } else {
            ""
        };
        format!(
            r#"{{"name":"{name}","task":"{task}","file":"{name}.bin","format":"{format}","sha256":"{}","inputs":{inputs},"outputs":{outputs},"preprocessing":{{"size":224,"resize":"area","letterbox":true,"background":"white","mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"layout":"CHW"}},"param_encoding_version":1{labels}}}"#,
            crate::manifest::sha256_hex(bytes)
        )
    }

    #[test]
    fn a_manifest_loads_into_reports_and_a_model_set() {
        let manifest = format!(
            r#"{{"schema_version":1,"models":[{},{},{}]}}"#,
            entry("q", "quality", "onnx", b"q"),
            entry("c", "classifier", "onnx", b"junk"),
            entry("q_ts", "quality", "torchscript", b"t"),
        );
        let files: BTreeMap<&str, &[u8]> = [("q", &b"q"[..]), ("c", b"junk")].into_iter().collect();
        let clock = || 1.0;
        let loaded = load_all(
            &manifest,
            &Fake,
            |e| {
                files
                    .get(e.name.as_str())
                    .map(|b| b.to_vec())
                    .ok_or_else(|| Error::unavailable(&e.name, "not fetched"))
            },
            2,
            &clock,
        );
        assert_eq!(loaded.manifest_error, None);
        let r = &loaded.reports;
        assert_eq!(r[0].status, Status::Ready);
        assert_eq!((r[0].bytes, r[0].loads), (1, 1));
        assert_eq!(r[0].backend.as_deref(), Some("fake"));
        assert!(
            matches!(&r[1].status, Status::Unavailable { reason } if reason == "cannot load `c.bin`: not a model")
        );
        assert_eq!(
            r[2].reason(),
            Some("a torchscript model runs on torch; fake runs onnx models")
        );
        let m = &loaded.models;
        assert_eq!(m.quality_path(), Some(QualityPath::Combined));
        assert!(!m.has_classifier());
        // The labels' order is the manifest's.
        assert_eq!(
            m.classes(),
            ["complex", "gradient", "text_based", "simple_geometric"]
        );
        let e = m
            .classify(&[0.0; crate::preprocess::TENSOR_LEN])
            .unwrap_err();
        assert_eq!(
            (e.kind(), e.model()),
            (ErrorKind::ModelUnavailable, Some("c"))
        );
        assert_eq!(e.to_string(), "model `c`: cannot load `c.bin`: not a model");
        let e = m.encode(&[], &[]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ModelUnavailable);
        assert_eq!(
            e.to_string(),
            "model `quality_encoder`: no quality_encoder model is ready (fake)"
        );
        assert_eq!(m.held_bytes(), 1);

        let bad = load_all("{", &Fake, |_| Ok(Vec::new()), 1, &clock);
        assert!(bad.manifest_error.is_some());
        assert_eq!(bad.models.quality_path(), None);
    }
}
