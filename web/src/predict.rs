//! Quality predictions, classification and suggestions over the loaded models, mirroring
//! `native/src/predict.rs`, `native/src/classify.rs` and `native/src/suggest.rs`: the core's
//! pipeline, with the core's embedding cache so that predicting again for the same pixels (a
//! slider moving) runs only the head. Without models, or should a model fail, the core's
//! heuristic answers, and every prediction says which source produced it.

use core::cell::RefCell;

use vectune_core::encoding::EncodingCache;
use vectune_core::error::Error;
use vectune_core::image::ImageRef;
use vectune_core::models::Loaded;
use vectune_core::params::Params;
use vectune_core::predict::{self as core_predict, Prepared};
use vectune_core::suggest::{self, Suggestion};

pub use vectune_core::predict::{Classification, Prediction};

/// Bytes of encodings kept: 4 MB, thousands of images.
pub const ENCODINGS_BYTES: u64 = 4 * 1024 * 1024;

/// Predicts the SSIM for one image and many parameter sets; the image is preprocessed and encoded
/// once, and its encoding kept in `encodings` for the next call on the same pixels. Never fails:
/// a model error falls back to the heuristic, with the reason.
pub fn predict_params(
    loaded: &Loaded,
    encodings: &RefCell<EncodingCache>,
    image: &ImageRef<'_>,
    params: &[Params],
) -> Vec<Prediction> {
    core_predict::predict_cached(&loaded.models, encodings, image, params)
}

/// Suggests parameters for `image` reaching `target` SSIM with the smallest SVG, among candidates
/// predicted to reach `target + margin` (the core's suggester on the loaded models, as `vectune
/// suggest`).
pub fn suggest(
    loaded: &Loaded,
    image: &ImageRef<'_>,
    target: f32,
    margin: f32,
) -> Result<Suggestion, Error> {
    suggest::suggest(
        &loaded.models,
        loaded.correlation.as_ref(),
        image,
        target,
        margin,
    )
    .map_err(Error::from)
}

/// Classifies `image`; the error says why no classifier could answer.
pub fn classify(loaded: &Loaded, image: &ImageRef<'_>) -> Result<Classification, Error> {
    core_predict::classify(&loaded.models, &Prepared::new(*image))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{load_fixture_models, logo, reference};
    use vectune_core::manifest::LOGO_CLASSES;
    use vectune_core::predict::Source;

    fn cache() -> RefCell<EncodingCache> {
        RefCell::new(EncodingCache::new(ENCODINGS_BYTES))
    }

    fn reference_params(r: &serde_json::Value) -> Vec<Params> {
        r["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| serde_json::from_value(p.clone()).unwrap())
            .collect()
    }

    /// The golden parity test of the native backends, on this crate's tract backend (host build).
    #[test]
    fn golden_parity_with_onnx_runtime() {
        let r = reference();
        let tol = r["tolerance"].as_f64().unwrap() as f32;
        let m = load_fixture_models();
        let (rgba, w, h) = logo();
        let image = ImageRef::new(&rgba, w, h).unwrap();
        let params = reference_params(&r);
        let got = predict_params(&m, &cache(), &image, &params);
        for (p, want) in got.iter().zip(r["ssim"].as_array().unwrap()) {
            assert_eq!(p.source, Source::Model);
            let want = want.as_f64().unwrap() as f32;
            assert!((p.ssim - want).abs() <= tol, "{} vs {want}", p.ssim);
        }
        let c = classify(&m, &image).unwrap();
        let logits: Vec<f32> = r["logits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let want = vectune_core::predict::softmax(&logits);
        for ((name, p), (class, w)) in c.probabilities.iter().zip(LOGO_CLASSES.iter().zip(want)) {
            assert_eq!(name, class);
            assert!((p - w).abs() <= tol);
        }
    }

    #[test]
    fn suggest_on_the_packaged_models_starts_from_the_correlation_file() {
        let dir = crate::test_support::fixtures().join("../../models");
        let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
        let m = crate::manager::load(&text, |entry| {
            std::fs::read(dir.join(&entry.file)).map_err(|e| e.to_string())
        });
        assert!(m.correlation.is_some());
        let (rgba, w, h) = logo();
        let image = ImageRef::new(&rgba, w, h).unwrap();
        let s = suggest(&m, &image, 0.95, 0.02).unwrap();
        assert_eq!(s.start_from, "correlation");
        assert_eq!(s.source, Source::Model);
        assert!(s.class.is_some());
        assert!(s.predicted_svg_bytes.is_some_and(|b| b > 0.0));
        assert_eq!(
            s.candidates,
            vectune_core::suggest::candidates_with_defaults(&s.start).len()
        );
        assert_eq!(s.met_target, s.predicted_ssim >= 0.95);
        // The suggested set's prediction is what predict says for it.
        let p = predict_params(&m, &cache(), &image, &[s.params]);
        assert!((p[0].ssim - s.predicted_ssim).abs() < 1e-6);
        // The shortlist (what `vectune suggest --verify` measures): the suggestion first, VTracer's
        // defaults among them, each with the prediction predict gives it.
        assert_eq!(s.shortlist[0].params, s.params);
        let shortlisted: Vec<Params> = s.shortlist.iter().map(|c| c.params).collect();
        assert!(shortlisted.contains(&Params::default()));
        let p = predict_params(&m, &cache(), &image, &shortlisted);
        for (c, q) in s.shortlist.iter().zip(&p) {
            assert!((c.predicted_ssim - q.ssim).abs() < 1e-6, "{}", c.params);
            assert!(c.predicted_svg_bytes.is_some_and(|b| b > 0.0));
        }
        assert_eq!(
            suggest(&m, &image, 1.5, 0.02).unwrap_err().to_string(),
            "target SSIM 1.5 is not in [0, 1]"
        );
        assert_eq!(
            suggest(&m, &image, 0.95, -1.0).unwrap_err().to_string(),
            "safety margin -1 is not in [0, 1]"
        );
        // Without models: defaults and the heuristic, saying so.
        let s = suggest(&crate::manager::empty(), &image, 0.9, 0.0).unwrap();
        assert_eq!((s.start_from, s.source), ("defaults", Source::Heuristic));
        assert_eq!(s.class, None);
    }

    #[test]
    fn the_cached_encoding_gives_the_uncached_answers_and_follows_a_changed_image() {
        let m = load_fixture_models();
        let (rgba, w, h) = logo();
        let image = ImageRef::new(&rgba, w, h).unwrap();
        let params = reference_params(&reference());
        let kept = cache();
        let fresh = core_predict::predict_params(&m.models, &image, &params);
        assert_eq!(predict_params(&m, &kept, &image, &params), fresh);
        assert_eq!(kept.borrow().stats().entries, 1);
        // Again, from another buffer with the same pixels: from the cache, the same answers.
        let copy = rgba.clone();
        let again = ImageRef::new(&copy, w, h).unwrap();
        assert_eq!(predict_params(&m, &kept, &again, &params), fresh);
        assert_eq!(kept.borrow().stats().hits, 1);
        // One pixel changed: encoded afresh, as an uncached call would.
        let mut other = rgba.clone();
        other[0] = other[0].wrapping_add(128);
        other[3] = 255;
        let changed = ImageRef::new(&other, w, h).unwrap();
        assert_eq!(
            predict_params(&m, &kept, &changed, &params),
            core_predict::predict_params(&m.models, &changed, &params)
        );
        assert_eq!(kept.borrow().stats().entries, 2);
    }

    #[test]
    fn no_models_means_the_heuristic_says_so() {
        let m = crate::manager::empty();
        let (rgba, w, h) = logo();
        let image = ImageRef::new(&rgba, w, h).unwrap();
        let p = predict_params(&m, &cache(), &image, &[Params::default()]);
        assert_eq!(p[0].source, Source::Heuristic);
        assert_eq!(p[0].fallback, None);
        let e = classify(&m, &image).unwrap_err();
        assert!(e.to_string().contains("no classifier"), "{e}");
        assert_eq!(e.kind(), vectune_core::error::ErrorKind::ModelUnavailable);
        assert!(predict_params(&m, &cache(), &image, &[]).is_empty());
    }
}
