//! The browser's model manager, mirroring `native/src/manager.rs` without a file system: the page
//! hands over `manifest.json` and the model files' bytes; each file's sha256 is checked against the
//! manifest, each model parsed, optimised and warmed up once. The browser runs the NNEF exports of
//! the ONNX graphs (`vectune export-nnef`; format `nnef`) and reads the suggester's correlation
//! file (format `json`); other formats are reported unavailable. A missing, corrupt or mismatched
//! model is `unavailable` with the reason, the others keep serving, and predictions fall back to
//! the heuristic. Nothing here touches JS, so it is unit-tested on the host.

use serde::Serialize;
use vectune_core::manifest::{Format, Manifest, ModelEntry, Task};
use vectune_core::predict::QualityPath as CorePath;
use vectune_core::suggest::CorrelationModels;

use crate::backend::{NAME, TractModel, TractModels};

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

/// What the manager knows of one manifest entry (the same fields as the native `vectune models`).
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
    /// Verify + parse + optimise time, ms.
    pub load_ms: f64,
    /// Warm-up time, ms.
    pub warmup_ms: f64,
    /// Bytes of the model file.
    pub bytes: u64,
}

/// How predictions are made with what loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QualityPath {
    /// Encoder once per image, head per parameter set.
    Split,
    /// The combined model.
    Combined,
    /// No quality model: the core's heuristic.
    Heuristic,
}

/// All models of one manifest, loaded.
pub struct ModelManager {
    manifest_error: Option<String>,
    reports: Vec<ModelReport>,
    models: TractModels,
    correlation: Option<CorrelationModels>,
}

/// What one manifest entry loads into.
enum Loaded {
    Graph(TractModel),
    Correlation(Box<CorrelationModels>),
}

/// Milliseconds on a monotonic-enough clock (`Date.now()` in wasm, where `Instant` is absent).
pub(crate) fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::OnceLock;
        use std::time::Instant;
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
    }
}

fn load_one(entry: &ModelEntry, bytes: Result<Vec<u8>, String>) -> (ModelReport, Option<Loaded>) {
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
    if !matches!(entry.format, Format::Nnef | Format::Json) {
        return unavailable(
            report,
            format!(
                "the browser runs the NNEF exports of the models (`vectune export-nnef`), not {} files",
                entry.format.as_str()
            ),
        );
    }
    let bytes = match bytes {
        Ok(b) => b,
        Err(reason) => return unavailable(report, reason),
    };
    let start = now_ms();
    if let Err(e) = entry.verify(&bytes) {
        return unavailable(report, e.to_string());
    }
    report.bytes = bytes.len() as u64;
    if entry.format == Format::Json {
        let parsed = core::str::from_utf8(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|text| CorrelationModels::from_json(text).map_err(|e| e.to_string()));
        return match parsed {
            Ok(c) => {
                report.load_ms = now_ms() - start;
                (report, Some(Loaded::Correlation(Box::new(c))))
            }
            Err(e) => unavailable(report, format!("cannot load `{}`: {e}", entry.file)),
        };
    }
    let model = match TractModel::load(&bytes) {
        Ok(m) => m,
        Err(e) => return unavailable(report, format!("cannot load `{}`: {e}", entry.file)),
    };
    report.load_ms = now_ms() - start;
    // One warm-up run: the first inference allocates the plan's buffers.
    let warm = now_ms();
    let feeds = entry.warmup_inputs();
    let refs: Vec<(&str, Vec<usize>, &[f32])> = feeds
        .iter()
        .map(|(n, s, d)| (n.as_str(), s.clone(), d.as_slice()))
        .collect();
    if let Err(e) = model.run(&refs) {
        return unavailable(report, format!("warm-up failed: {e}"));
    }
    report.warmup_ms = now_ms() - warm;
    report.backend = Some(NAME.to_string());
    (report, Some(Loaded::Graph(model)))
}

impl ModelManager {
    /// No models: every prediction comes from the heuristic.
    pub fn empty() -> ModelManager {
        ModelManager {
            manifest_error: None,
            reports: Vec::new(),
            models: TractModels::default(),
            correlation: None,
        }
    }

    /// Loads every model of `manifest_json`, one at a time; `bytes_of` returns a model file's
    /// bytes, or why the page could not provide them. Never fails: problems become statuses
    /// ([`ModelManager::manifest_error`], [`ModelManager::reports`]).
    pub fn load(
        manifest_json: &str,
        mut bytes_of: impl FnMut(&ModelEntry) -> Result<Vec<u8>, String>,
    ) -> ModelManager {
        let mut manager = ModelManager::empty();
        let manifest = match Manifest::from_json(manifest_json) {
            Ok(m) => m,
            Err(e) => {
                manager.manifest_error = Some(e.to_string());
                return manager;
            }
        };
        for entry in &manifest.models {
            let (report, loaded) = load_one(entry, bytes_of(entry));
            if let Some(Loaded::Correlation(c)) = loaded {
                manager.correlation.get_or_insert(*c);
            } else if let Some(Loaded::Graph(model)) = loaded {
                let models = &mut manager.models;
                let slot = match entry.task {
                    Task::Quality => &mut models.predictor,
                    Task::QualityEncoder => {
                        if models.encoder.is_none() {
                            models.embedding_dim = entry.embedding_dim();
                        }
                        &mut models.encoder
                    }
                    Task::QualityHead => {
                        if models.head.is_none() {
                            models.head_shares_embedding = entry.shares_embedding();
                        }
                        &mut models.head
                    }
                    Task::Classifier => &mut models.classifier,
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

    /// Why the manifest could not be used, if it could not.
    pub fn manifest_error(&self) -> Option<&str> {
        self.manifest_error.as_deref()
    }

    /// One report per manifest entry, in manifest order.
    pub fn reports(&self) -> &[ModelReport] {
        &self.reports
    }

    /// The suggester's correlation models, if they loaded.
    pub fn correlation(&self) -> Option<&CorrelationModels> {
        self.correlation.as_ref()
    }

    /// The loaded models.
    pub fn models(&self) -> &TractModels {
        &self.models
    }

    /// How quality predictions are made.
    pub fn quality_path(&self) -> QualityPath {
        match self.core_path() {
            Some(CorePath::Split) => QualityPath::Split,
            Some(CorePath::Combined) => QualityPath::Combined,
            None => QualityPath::Heuristic,
        }
    }

    /// The core's form of the quality path (`None`: the heuristic), as the predictions take it.
    pub fn core_path(&self) -> Option<CorePath> {
        CorePath::choose(self.models.has_split(), self.models.has_quality())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{fixtures, load_fixture_models, manifest};

    #[test]
    fn fixture_models_load_by_file_name() {
        let m = load_fixture_models();
        assert_eq!(m.manifest_error(), None);
        // 4 NNEF models; the 4 ONNX and 2 TorchScript files are for the native backends.
        assert_eq!(m.reports().len(), 10);
        for r in m.reports() {
            if r.format == "nnef" {
                assert_eq!(r.status, Status::Ready, "{}", r.name);
                assert_eq!(r.backend.as_deref(), Some(NAME));
                assert!(r.bytes > 0);
            } else {
                assert!(
                    matches!(&r.status, Status::Unavailable { reason } if reason.contains("NNEF exports")),
                    "{}: {:?}",
                    r.name,
                    r.status
                );
            }
        }
        assert!(m.correlation().is_none());
        assert_eq!(m.quality_path(), QualityPath::Split);
        assert_eq!(m.models().embedding_dim, 96);
        assert!(m.models().has_classifier());
    }

    #[test]
    fn a_bad_or_missing_model_is_unavailable_and_the_rest_load() {
        let m = ModelManager::load(&manifest(), |entry| match entry.name.as_str() {
            "quality_encoder_nnef" => Err("not fetched".into()),
            "quality_head_nnef" => {
                let mut b = std::fs::read(fixtures().join("models/quality_head.nnef.tar")).unwrap();
                b[100] ^= 0xff;
                Ok(b)
            }
            _ => std::fs::read(fixtures().join("models").join(&entry.file))
                .map_err(|e| e.to_string()),
        });
        let status = |name: &str| &m.reports().iter().find(|r| r.name == name).unwrap().status;
        assert_eq!(
            status("quality_encoder_nnef"),
            &Status::Unavailable {
                reason: "not fetched".into()
            }
        );
        assert!(matches!(status("quality_head_nnef"),
            Status::Unavailable { reason } if reason.starts_with("checksum mismatch for `quality_head.nnef.tar`")));
        assert_eq!(status("quality_predictor_nnef"), &Status::Ready);
        // Without the split form the combined model predicts.
        assert_eq!(m.quality_path(), QualityPath::Combined);
    }

    #[test]
    fn a_bad_manifest_is_reported_not_thrown() {
        let m = ModelManager::load("{\"schema_version\": 99, \"models\": []}", |_| {
            Err("unused".into())
        });
        assert!(m.manifest_error().unwrap().contains("schema_version 99"));
        assert_eq!(m.quality_path(), QualityPath::Heuristic);
        assert!(m.reports().is_empty());
    }
}
