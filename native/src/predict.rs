//! Quality predictions on the manager's models: the core's pipeline ([`vectune_core::predict`])
//! with the manager's embedding cache, so a second prediction for the same pixels runs only the
//! head. Without models, or should a model fail at run time, the core's heuristic answers, and
//! every prediction says which source produced it.

use vectune_core::predict as core_predict;
use vectune_core::{features, image::ImageRef, params::Params};

use crate::manager::ModelManager;

pub use vectune_core::predict::{Prediction, Source};

/// Predicts with the heuristic.
pub fn heuristic_prediction(image: &ImageRef<'_>, params: Params) -> Prediction {
    core_predict::heuristic_from(&features::compute(image), params, None)
}

/// Predicts the SSIM for one image and many parameter sets: the image is preprocessed and encoded
/// once (or its kept encoding reused); only the head runs per parameter set.
pub fn predict_params(
    manager: &ModelManager,
    image: &ImageRef<'_>,
    params: &[Params],
) -> Vec<Prediction> {
    core_predict::predict_cached(manager.models(), manager.encodings(), image, params)
}

/// Predicts the SSIM for one image and one parameter set.
pub fn predict(manager: &ModelManager, image: &ImageRef<'_>, params: Params) -> Prediction {
    predict_params(manager, image, &[params])
        .pop()
        .unwrap_or_else(|| heuristic_prediction(image, params))
}
