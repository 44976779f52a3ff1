//! Quality predictions. With models loaded ([`ModelManager`]), the split form (encoder once per
//! image, head per parameter set) or the combined model predicts; without them, or should a model
//! fail at run time, the core's heuristic does. Every prediction says which source produced it.

use serde::Serialize;
use vectune_core::predict::{self as core_predict, QualityPath};
use vectune_core::{
    features::{self, Features},
    heuristic,
    image::ImageRef,
    params::Params,
    preprocess,
};

use crate::manager::ModelManager;

/// Which component produced a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A trained model.
    Model,
    /// The core's heuristic ([`vectune_core::heuristic`]).
    Heuristic,
}

impl Source {
    /// The name used in JSON and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Model => "model",
            Source::Heuristic => "heuristic",
        }
    }
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
    /// Why the heuristic answered although models were configured, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// Predicts with the heuristic.
pub fn heuristic_prediction(image: &ImageRef<'_>, params: Params) -> Prediction {
    let f = features::compute(image);
    heuristic_from(&f, params, None)
}

fn heuristic_from(f: &Features, params: Params, fallback: Option<String>) -> Prediction {
    Prediction {
        ssim: heuristic::estimate(f, &params),
        source: Source::Heuristic,
        params,
        fallback,
    }
}

fn from_model(values: Vec<f32>, params: &[Params]) -> Result<Vec<Prediction>, String> {
    Ok(core_predict::ssim_values(values, params.len())?
        .into_iter()
        .zip(params)
        .map(|(ssim, p)| Prediction {
            ssim,
            source: Source::Model,
            params: *p,
            fallback: None,
        })
        .collect())
}

/// Predicts the SSIM for one image and many parameter sets: the image is preprocessed and encoded
/// once; only the head runs per parameter set. Falls back to the heuristic per the module docs.
pub fn predict_params(
    manager: &ModelManager,
    image: &ImageRef<'_>,
    params: &[Params],
) -> Vec<Prediction> {
    if params.is_empty() {
        return Vec::new();
    }
    // The statistics feed the model's `stats` input and, should no model answer, the heuristic.
    let f = features::compute(image);
    let fallback = |reason: Option<String>| {
        params
            .iter()
            .map(|p| heuristic_from(&f, *p, reason.clone()))
            .collect()
    };
    let backend = manager.backend();
    let tensor = match preprocess::preprocess(image.data(), image.width(), image.height()) {
        Ok(t) => t,
        Err(e) => return fallback(Some(e.to_string())),
    };
    let stats = preprocess::image_stats(&f);
    let path = if manager.has_split() {
        QualityPath::Split
    } else if manager.has_quality() {
        QualityPath::Combined
    } else {
        return fallback(None);
    };
    let result = core_predict::quality_for_params(backend, path, &tensor, &stats, params);
    match result
        .map_err(|e| e.to_string())
        .and_then(|v| from_model(v, params))
    {
        Ok(p) => p,
        Err(reason) => fallback(Some(reason)),
    }
}

/// Predicts the SSIM for one image and one parameter set.
pub fn predict(manager: &ModelManager, image: &ImageRef<'_>, params: Params) -> Prediction {
    predict_params(manager, image, &[params])
        .pop()
        .unwrap_or_else(|| heuristic_prediction(image, params))
}
