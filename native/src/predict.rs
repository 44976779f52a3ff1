//! Quality predictions. With models loaded ([`ModelManager`]), the split form (encoder once per
//! image, head per parameter set) or the combined model predicts; without them, or should a model
//! fail at run time, the core's heuristic does. Every prediction says which source produced it.

use vectune_core::predict::{self as core_predict, QualityPath};
use vectune_core::{features, image::ImageRef, params::Params};

use crate::manager::ModelManager;

pub use vectune_core::predict::{Prediction, Source};

/// Predicts with the heuristic.
pub fn heuristic_prediction(image: &ImageRef<'_>, params: Params) -> Prediction {
    core_predict::heuristic_from(&features::compute(image), params, None)
}

/// The form of the quality model the manager's models allow: the split form when it has both
/// halves, else the combined model, else none (the heuristic).
pub fn quality_path(manager: &ModelManager) -> Option<QualityPath> {
    QualityPath::choose(manager.has_split(), manager.has_quality())
}

/// Predicts the SSIM for one image and many parameter sets: the image is preprocessed and encoded
/// once; only the head runs per parameter set. Falls back to the heuristic per the module docs.
pub fn predict_params(
    manager: &ModelManager,
    image: &ImageRef<'_>,
    params: &[Params],
) -> Vec<Prediction> {
    core_predict::predict_params(manager.backend(), quality_path(manager), image, params)
}

/// Predicts the SSIM for one image and one parameter set.
pub fn predict(manager: &ModelManager, image: &ImageRef<'_>, params: Params) -> Prediction {
    predict_params(manager, image, &[params])
        .pop()
        .unwrap_or_else(|| heuristic_prediction(image, params))
}
