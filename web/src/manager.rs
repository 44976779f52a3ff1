//! The browser's model manager: the page hands over `manifest.json` and the model files' bytes,
//! and the core loads them ([`vectune_core::models::load_all`]: each file's sha256 checked against
//! the manifest, each NNEF graph parsed, optimised and warmed up once, the suggester's
//! correlation file parsed). Other formats are reported unavailable. A missing, corrupt or
//! mismatched model is `unavailable` with the reason, the others keep serving, and predictions fall
//! back to the heuristic. Nothing here touches JS, so it is unit-tested on the host.

use vectune_core::error::Error;
use vectune_core::manifest::ModelEntry;
use vectune_core::models::{Loaded, ModelSet, load_all};

use crate::backend::Nnef;

/// Warm-up runs per model: one (the first inference allocates the plan's buffers).
pub const WARMUP_RUNS: usize = 1;

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

/// No models: every prediction comes from the heuristic.
pub fn empty() -> Loaded {
    Loaded {
        manifest_error: None,
        reports: Vec::new(),
        models: ModelSet::none(),
        correlation: None,
    }
}

/// Loads every model of `manifest_json`; `bytes_of` returns a model file's bytes, or why the page
/// could not provide them. Never fails: problems become reports.
pub fn load(
    manifest_json: &str,
    mut bytes_of: impl FnMut(&ModelEntry) -> Result<Vec<u8>, String>,
) -> Loaded {
    load_all(
        manifest_json,
        &Nnef,
        |entry| bytes_of(entry).map_err(|reason| Error::unavailable(&entry.name, reason)),
        WARMUP_RUNS,
        &now_ms,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::NAME;
    use crate::test_support::{fixtures, load_fixture_models, manifest};
    use vectune_core::models::{QualityPath, Status};

    #[test]
    fn fixture_models_load_by_file_name() {
        let m = load_fixture_models();
        assert_eq!(m.manifest_error, None);
        // 4 NNEF models; the 4 ONNX and 2 TorchScript files are for the native backends.
        assert_eq!(m.reports.len(), 10);
        for r in &m.reports {
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
        assert!(m.correlation.is_none());
        assert_eq!(m.models.quality_path(), Some(QualityPath::Split));
        assert_eq!(m.models.embedding_dim(), 96);
        assert!(m.models.has_classifier());
    }

    #[test]
    fn a_bad_or_missing_model_is_unavailable_and_the_rest_load() {
        let m = load(&manifest(), |entry| match entry.name.as_str() {
            "quality_encoder_nnef" => Err("not fetched".into()),
            "quality_head_nnef" => {
                let mut b = std::fs::read(fixtures().join("models/quality_head.nnef.tar")).unwrap();
                b[100] ^= 0xff;
                Ok(b)
            }
            _ => std::fs::read(fixtures().join("models").join(&entry.file))
                .map_err(|e| e.to_string()),
        });
        let status = |name: &str| &m.reports.iter().find(|r| r.name == name).unwrap().status;
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
        assert_eq!(m.models.quality_path(), Some(QualityPath::Combined));
    }

    #[test]
    fn a_bad_manifest_is_reported_not_thrown() {
        let m = load("{\"schema_version\": 99, \"models\": []}", |_| {
            Err("unused".into())
        });
        assert!(m.manifest_error.unwrap().contains("schema_version 99"));
        assert_eq!(m.models.quality_path(), None);
        assert!(m.reports.is_empty());
    }
}
