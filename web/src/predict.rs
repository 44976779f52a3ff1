//! Quality predictions and classification over the loaded models, mirroring
//! `native/src/predict.rs` and `native/src/classify.rs`: the split form (encoder once per image,
//! head per parameter set) or the combined model predicts; without them, or should a model fail,
//! the core's heuristic does, and every prediction says which source produced it.

use core::cell::RefCell;

use vectune_core::features::Features;

use vectune_core::image::ImageRef;
use vectune_core::params::Params;
use vectune_core::predict::{self as core_predict, Prepared};
use vectune_core::suggest::{self, Suggestion};

pub use vectune_core::predict::Classification;

use crate::manager::{ModelManager, QualityPath};

pub use vectune_core::predict::Prediction;

/// Predicts the SSIM for one image and many parameter sets; the image is preprocessed and encoded
/// once. Never fails: a model error falls back to the heuristic, with the reason.
pub fn predict_params(
    manager: &ModelManager,
    image: &ImageRef<'_>,
    params: &[Params],
) -> Vec<Prediction> {
    core_predict::predict_params(manager.models(), manager.core_path(), image, params)
}

/// The last image the split form encoded: its pixels, features and embedding.
pub struct Encoded {
    rgba: Vec<u8>,
    width: u32,
    height: u32,
    features: Features,
    embedding: Vec<f32>,
}

/// [`predict_params`] that remembers the last encoded image in `cache`: predicting again for the
/// same pixels (a slider moving) runs only the head, not the features, preprocessing and encoder.
/// The pixels are compared byte for byte, so a changed image is always encoded afresh.
pub fn predict_params_cached(
    manager: &ModelManager,
    cache: &RefCell<Option<Encoded>>,
    image: &ImageRef<'_>,
    params: &[Params],
) -> Vec<Prediction> {
    if manager.quality_path() != QualityPath::Split || params.is_empty() {
        return predict_params(manager, image, params);
    }
    let mut slot = cache.borrow_mut();
    let hit = slot.as_ref().is_some_and(|e| {
        e.width == image.width() && e.height == image.height() && e.rgba == image.data()
    });
    if !hit {
        *slot = None;
        let prepared = Prepared::new(*image);
        // On an encoder error the uncached path answers, with the heuristic and the reason.
        let embedding = core_predict::encode(manager.models(), &prepared).ok();
        *slot = embedding.map(|embedding| Encoded {
            rgba: image.data().to_vec(),
            width: image.width(),
            height: image.height(),
            features: prepared.into_features(),
            embedding,
        });
    }
    match slot.as_ref() {
        Some(e) => core_predict::predict_from_embedding(
            manager.models(),
            &e.features,
            &e.embedding,
            params,
        ),
        None => predict_params(manager, image, params),
    }
}

/// Suggests parameters for `image` reaching `target` SSIM with the smallest SVG, among candidates
/// predicted to reach `target + margin` (the core's suggester on the loaded models, as `vectune
/// suggest`).
pub fn suggest(
    manager: &ModelManager,
    image: &ImageRef<'_>,
    target: f32,
    margin: f32,
) -> Result<Suggestion, String> {
    suggest::suggest(
        manager.models(),
        manager.core_path(),
        manager.correlation(),
        image,
        target,
        margin,
    )
    .map_err(|e| e.to_string())
}

/// Classifies `image`; `Err` says why no classifier could answer.
pub fn classify(manager: &ModelManager, image: &ImageRef<'_>) -> Result<Classification, String> {
    if !manager.models().has_classifier() {
        return Err("no classifier model is ready (see status())".into());
    }
    core_predict::classify(manager.models(), &Prepared::new(*image))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{load_fixture_models, logo, reference};
    use vectune_core::manifest::LOGO_CLASSES;
    use vectune_core::predict::Source;

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
        let got = predict_params(&m, &image, &params);
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
        let want = vectune_core::backend::softmax(&logits);
        for ((name, p), (class, w)) in c.probabilities.iter().zip(LOGO_CLASSES.iter().zip(want)) {
            assert_eq!(name, class);
            assert!((p - w).abs() <= tol);
        }
    }

    #[test]
    fn suggest_on_the_packaged_models_starts_from_the_correlation_file() {
        let dir = crate::test_support::fixtures().join("../../models");
        let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
        let m = ModelManager::load(&text, |entry| {
            std::fs::read(dir.join(&entry.file)).map_err(|e| e.to_string())
        });
        assert!(m.correlation().is_some());
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
        let p = predict_params(&m, &image, &[s.params]);
        assert!((p[0].ssim - s.predicted_ssim).abs() < 1e-6);
        // The shortlist (what `vectune suggest --verify` measures): the suggestion first, VTracer's
        // defaults among them, each with the prediction predict gives it.
        assert_eq!(s.shortlist[0].params, s.params);
        let shortlisted: Vec<Params> = s.shortlist.iter().map(|c| c.params).collect();
        assert!(shortlisted.contains(&Params::default()));
        let p = predict_params(&m, &image, &shortlisted);
        for (c, q) in s.shortlist.iter().zip(&p) {
            assert!((c.predicted_ssim - q.ssim).abs() < 1e-6, "{}", c.params);
            assert!(c.predicted_svg_bytes.is_some_and(|b| b > 0.0));
        }
        assert_eq!(
            suggest(&m, &image, 1.5, 0.02).unwrap_err(),
            "target SSIM 1.5 is not in [0, 1]"
        );
        assert_eq!(
            suggest(&m, &image, 0.95, -1.0).unwrap_err(),
            "safety margin -1 is not in [0, 1]"
        );
        // Without models: defaults and the heuristic, saying so.
        let s = suggest(&ModelManager::empty(), &image, 0.9, 0.0).unwrap();
        assert_eq!((s.start_from, s.source), ("defaults", Source::Heuristic));
        assert_eq!(s.class, None);
    }

    #[test]
    fn the_cached_encoding_gives_the_uncached_answers_and_follows_a_changed_image() {
        let m = load_fixture_models();
        let (rgba, w, h) = logo();
        let image = ImageRef::new(&rgba, w, h).unwrap();
        let params = reference_params(&reference());
        let cache = RefCell::new(None);
        let fresh = predict_params(&m, &image, &params);
        assert_eq!(predict_params_cached(&m, &cache, &image, &params), fresh);
        assert!(cache.borrow().is_some());
        // Again from the cache: the same answers.
        assert_eq!(predict_params_cached(&m, &cache, &image, &params), fresh);
        // One pixel changed: encoded afresh, as an uncached call would.
        let mut other = rgba.clone();
        other[0] = other[0].wrapping_add(128);
        other[3] = 255;
        let changed = ImageRef::new(&other, w, h).unwrap();
        assert_eq!(
            predict_params_cached(&m, &cache, &changed, &params),
            predict_params(&m, &changed, &params)
        );
        assert_eq!(cache.borrow().as_ref().unwrap().rgba, other);
    }

    #[test]
    fn no_models_means_the_heuristic_says_so() {
        let m = ModelManager::empty();
        let (rgba, w, h) = logo();
        let image = ImageRef::new(&rgba, w, h).unwrap();
        let p = predict_params(&m, &image, &[Params::default()]);
        assert_eq!(p[0].source, Source::Heuristic);
        assert_eq!(p[0].fallback, None);
        assert!(classify(&m, &image).unwrap_err().contains("no classifier"));
        assert!(predict_params(&m, &image, &[]).is_empty());
    }
}
