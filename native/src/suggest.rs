//! Parameter suggestions: the core's suggester ([`vectune_core::suggest::suggest`]: a starting
//! point from the correlation models, candidates around it, the smallest predicted SVG that reaches
//! the target) on the manager's models — the classifier for the logo's class, the quality model
//! along the manager's path (the image preprocessed once for both), the correlation file when it
//! loaded — and [`verify`]: the suggestion's shortlist measured with VTracer, the choice remade on
//! the measurements.

use std::time::Instant;

use serde::Serialize;
use vectune_core::image::ImageRef;
use vectune_core::params::Params;
use vectune_core::suggest::{self, SuggestError};
use vectune_truth::TruthError;
use vectune_truth::measure::measure;
use vectune_truth::render::Renderer;

pub use vectune_core::suggest::Suggestion;

use crate::manager::ModelManager;
use crate::predict;

/// Suggests parameters for `image` that reach `target` SSIM with the smallest SVG, choosing among
/// candidates predicted to reach `target + margin` ([`suggest::DEFAULT_MARGIN`]).
pub fn suggest(
    manager: &ModelManager,
    image: &ImageRef<'_>,
    target: f32,
    margin: f32,
) -> Result<Suggestion, SuggestError> {
    let correlation = manager.correlation();
    suggest::suggest(
        manager.backend(),
        predict::quality_path(manager),
        correlation.as_deref(),
        image,
        target,
        margin,
    )
}

/// One shortlisted candidate, measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MeasuredCandidate {
    /// The parameters.
    pub params: Params,
    /// What the quality model predicted.
    pub predicted_ssim: f32,
    /// The SSIM VTracer's SVG actually reaches (as `vectune measure`).
    pub ssim: f64,
    /// The SVG's size in bytes.
    pub svg_bytes: usize,
    /// Wall time of VTracer alone, milliseconds.
    pub vectorize_ms: f64,
}

/// A suggestion checked with VTracer ([`verify`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verified {
    /// The chosen parameters: the smallest measured SVG that reaches the target, else the highest
    /// measured SSIM.
    pub params: Params,
    /// Their measured SSIM.
    pub ssim: f64,
    /// Their SVG's size in bytes.
    pub svg_bytes: usize,
    /// Whether the measured SSIM reaches the target.
    pub met_target: bool,
    /// Whether the choice is the suggestion's own pick (else the measurements overruled it).
    pub kept_suggestion: bool,
    /// Every shortlisted candidate, measured, in the shortlist's order.
    pub measured: Vec<MeasuredCandidate>,
    /// Wall time of all the measurements (run in parallel), milliseconds.
    pub ms: f64,
}

/// Measures every candidate of `suggestion`'s shortlist with VTracer (vectorize, render, SSIM:
/// `vectune measure`; in parallel) and chooses again on the measurements with the core's rule
/// ([`suggest::choose`], no margin: the numbers are no longer predictions). The shortlist holds
/// the suggestion itself, safer and more faithful choices and VTracer's defaults, so the choice
/// reaches the target whenever one of them does, and is never less faithful than the defaults
/// when none does. `item` names the image in errors.
pub fn verify(
    suggestion: &Suggestion,
    image: &ImageRef<'_>,
    item: &str,
) -> Result<Verified, TruthError> {
    let started = Instant::now();
    let renderer = Renderer::new();
    let results: Vec<Result<MeasuredCandidate, TruthError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = suggestion
            .shortlist
            .iter()
            .map(|c| {
                let renderer = &renderer;
                scope.spawn(move || {
                    measure(image, &c.params, renderer, item).map(|m| MeasuredCandidate {
                        params: c.params,
                        predicted_ssim: c.predicted_ssim,
                        ssim: m.ssim,
                        svg_bytes: m.svg_bytes,
                        vectorize_ms: m.vectorize_ms,
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                // measure catches VTracer's panics itself; a panic here would be a bug of ours
                h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
            .collect()
    });
    let measured = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    let ssim: Vec<f32> = measured.iter().map(|m| m.ssim as f32).collect();
    let bytes: Vec<f32> = measured.iter().map(|m| m.svg_bytes as f32).collect();
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let Some(choice) = suggest::choose(&ssim, &bytes, suggestion.target, 0.0) else {
        // an empty shortlist (the core always gives one): the suggestion, measured alone
        let m = measure(image, &suggestion.params, &renderer, item)?;
        return Ok(Verified {
            params: suggestion.params,
            ssim: m.ssim,
            svg_bytes: m.svg_bytes,
            met_target: m.ssim >= f64::from(suggestion.target),
            kept_suggestion: true,
            measured: Vec::new(),
            ms: started.elapsed().as_secs_f64() * 1e3,
        });
    };
    let best = &measured[choice.index];
    Ok(Verified {
        params: best.params,
        ssim: best.ssim,
        svg_bytes: best.svg_bytes,
        met_target: choice.met_target,
        kept_suggestion: best.params == suggestion.params,
        measured,
        ms,
    })
}
