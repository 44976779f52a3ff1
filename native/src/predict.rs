//! Predictions as the CLI and (later) the HTTP service report them. Until the model manager lands,
//! the only source is the core's heuristic, and every response says which source produced it.

use serde::Serialize;
use vectune_core::{features::Features, heuristic, image::ImageRef, params::Params};

/// Which component produced a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A trained model.
    Model,
    /// The core's heuristic ([`vectune_core::heuristic`]).
    Heuristic,
}

/// A quality prediction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    /// Predicted SSIM in `[0, 1]`.
    pub ssim: f32,
    /// What produced it.
    pub source: Source,
    /// The parameters it is for.
    pub params: Params,
    /// The image statistics it used.
    pub features: Features,
}

/// Predicts with the heuristic.
pub fn heuristic_prediction(image: &ImageRef<'_>, params: Params) -> Prediction {
    let features = vectune_core::features::compute(image);
    Prediction {
        ssim: heuristic::estimate(&features, &params),
        source: Source::Heuristic,
        params,
        features,
    }
}
