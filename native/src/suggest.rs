//! Parameter suggestions: the core's suggester ([`vectune_core::suggest`]: a starting point from
//! the correlation models, candidates around it, the smallest predicted SVG that reaches the
//! target) with the quality model scoring every candidate through one image encoding
//! ([`predict::predict_params`]).

use serde::Serialize;
use vectune_core::features;
use vectune_core::image::ImageRef;
use vectune_core::params::{ParamId, Params};
use vectune_core::suggest::{self, CorrelationModels};

use crate::classify;
use crate::manager::ModelManager;
use crate::predict::{self, Source};

/// A suggestion.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suggestion {
    /// The suggested parameters.
    pub params: Params,
    /// Their predicted SSIM.
    pub predicted_ssim: f32,
    /// Their predicted SVG size (from the correlation file's size model), if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted_svg_bytes: Option<f32>,
    /// The target SSIM.
    pub target: f32,
    /// Whether the prediction reaches it (else: the highest predicted SSIM found).
    pub met_target: bool,
    /// Where the search started.
    pub start: Params,
    /// What gave the start: `correlation` (the fitted models) or `defaults` (VTracer's).
    pub start_from: &'static str,
    /// The logo class used for the start, if the classifier answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<&'static str>,
    /// Parameter sets scored.
    pub candidates: usize,
    /// What scored them.
    pub source: Source,
}

/// A size proxy for when no correlation file (and so no size model) is loaded: fewer colours
/// first, then larger layer differences and speckle filters, then fewer decimals.
fn size_proxy(p: &Params) -> f32 {
    let log2 = |id: ParamId| (1.0 + p.get(id) as f32).log2();
    p.color_precision() as f32 * 64.0
        - log2(ParamId::LayerDifference) * 4.0
        - log2(ParamId::FilterSpeckle) * 2.0
        + p.path_precision() as f32
}

/// Suggests parameters for `image` that reach `target` SSIM with the smallest SVG.
pub fn suggest(
    manager: &ModelManager,
    image: &ImageRef<'_>,
    target: f32,
) -> Result<Suggestion, String> {
    if !(0.0..=1.0).contains(&target) {
        return Err(format!("target SSIM {target} is not in [0, 1]"));
    }
    let f = features::compute(image);
    let fv = suggest::feature_vector(&f);
    let class = classify::classify(manager, image).ok().map(|c| c.class);
    let correlation: Option<std::sync::Arc<CorrelationModels>> = manager.correlation();
    let (start, start_from) = match &correlation {
        Some(c) => (c.start(&fv, class), "correlation"),
        None => (Params::default(), "defaults"),
    };
    let candidates = suggest::candidates(&start);
    let predictions = predict::predict_params(manager, image, &candidates);
    let ssim: Vec<f32> = predictions.iter().map(|p| p.ssim).collect();
    let bytes: Vec<f32> = match &correlation {
        Some(c) => candidates.iter().map(|p| c.svg_bytes(p, &fv)).collect(),
        None => candidates.iter().map(size_proxy).collect(),
    };
    let choice = suggest::choose(&ssim, &bytes, target)
        .ok_or_else(|| "no candidate parameter sets were scored".to_string())?;
    let source = predictions
        .first()
        .map(|p| p.source)
        .unwrap_or(Source::Heuristic);
    Ok(Suggestion {
        params: candidates[choice.index],
        predicted_ssim: ssim[choice.index],
        predicted_svg_bytes: correlation.as_ref().map(|_| bytes[choice.index]),
        target,
        met_target: choice.met_target,
        start,
        start_from,
        class,
        candidates: candidates.len(),
        source,
    })
}
