//! Parameter suggestions: the core's suggester ([`vectune_core::suggest::suggest`]: a starting
//! point from the correlation models, candidates around it, the smallest predicted SVG that reaches
//! the target) on the manager's models — the classifier for the logo's class, the quality model
//! along the manager's path (the image preprocessed once for both), the correlation file when it
//! loaded — and [`verify`]: the suggestion's shortlist measured with VTracer, the choice remade on
//! the measurements.

use std::time::Instant;

use vectune_core::image::ImageRef;
use vectune_core::params::Params;
use vectune_core::suggest::{self, SuggestError};
use vectune_truth::TruthError;
use vectune_truth::measure::measure;
use vectune_truth::render::Renderer;

pub use vectune_core::suggest::{MeasuredCandidate, Suggestion, Verified};

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

/// Measures every candidate of `suggestion`'s shortlist with VTracer (vectorize, render, SSIM:
/// `vectune measure`; in parallel, one worker per core) and chooses again on the measurements with the core's rule
/// ([`suggest::verified`]). `item` names the image in errors.
pub fn verify(
    suggestion: &Suggestion,
    image: &ImageRef<'_>,
    item: &str,
) -> Result<Verified, TruthError> {
    let started = Instant::now();
    let renderer = Renderer::new();
    // the shortlist (the core always gives one; else the suggestion alone)
    let alone = [(suggestion.params, suggestion.predicted_ssim)];
    let sets: Vec<(Params, f32)> = if suggestion.shortlist.is_empty() {
        alone.to_vec()
    } else {
        suggestion
            .shortlist
            .iter()
            .map(|c| (c.params, c.predicted_ssim))
            .collect()
    };
    // one worker per core at most (a server runs several requests at once), each on a run of
    // consecutive sets: joined in order, the results keep the shortlist's order
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_worker = sets.len().div_ceil(workers);
    let measured = std::thread::scope(|scope| {
        let handles: Vec<_> = sets
            .chunks(per_worker)
            .map(|chunk| {
                let renderer = &renderer;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|&(params, predicted)| {
                            measure(image, &params, renderer, item)
                                .map(|m| m.candidate(params, predicted))
                        })
                        .collect::<Vec<Result<MeasuredCandidate, TruthError>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            // measure catches VTracer's panics itself; a panic here would be a bug of ours
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Result<Vec<_>, _>>()
    })?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(
        suggest::verified(&suggestion.params, suggestion.target, measured, ms)
            .expect("at least one set was measured"),
    )
}
