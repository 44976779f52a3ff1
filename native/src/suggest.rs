//! Parameter suggestions: the core's suggester ([`vectune_core::suggest::suggest`]) on the
//! manager's models and correlation file, and [`verify`]: the core's verification with VTracer
//! runs measured on one shared, bounded pool of threads (one per core of the CPU quota), however
//! many requests verify at once.

use std::sync::OnceLock;
use std::time::Instant;

use rayon::prelude::*;
use vectune_core::error::Error;
use vectune_core::image::ImageRef;
use vectune_core::suggest::{self, Candidate};
use vectune_measure::measure;
use vectune_measure::render::Renderer;

pub use vectune_core::suggest::{MeasuredCandidate, Suggestion, Verified};

use crate::manager::ModelManager;

/// Suggests parameters for `image` that reach `target` SSIM with the smallest SVG, choosing among
/// candidates predicted to reach `target + margin` ([`suggest::DEFAULT_MARGIN`]).
pub fn suggest(
    manager: &ModelManager,
    image: &ImageRef<'_>,
    target: f32,
    margin: f32,
) -> Result<Suggestion, Error> {
    suggest::suggest(
        manager.models(),
        manager.correlation(),
        image,
        target,
        margin,
    )
    .map_err(Error::from)
}

/// The pool VTracer runs on: one thread per core of the CPU quota, shared by every caller (a
/// server verifying several suggestions at once queues their runs here instead of starting
/// threads per request). `None` if the platform refused the threads: then runs are serial.
fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("vectune-measure-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Measures each candidate with VTracer (vectorize, render, SSIM: `vectune measure`) on the
/// shared pool, in the candidates' order; `item` names the image in errors.
pub fn measure_all(
    image: &ImageRef<'_>,
    sets: &[Candidate],
    item: &str,
) -> Result<Vec<MeasuredCandidate>, Error> {
    let renderer = Renderer::new();
    let one = |c: &Candidate| {
        measure(image, &c.params, &renderer, item)
            .map(|m| m.candidate(c.params, c.predicted_ssim))
            .map_err(Error::from)
    };
    match pool() {
        Some(pool) => pool.install(|| sets.par_iter().map(one).collect()),
        None => sets.iter().map(one).collect(),
    }
}

/// Checks `suggestion` with VTracer: its shortlist measured ([`measure_all`]) and the choice remade
/// on the measurements (the core's [`suggest::verify`]). `item` names the image in errors.
pub fn verify(
    suggestion: &Suggestion,
    image: &ImageRef<'_>,
    item: &str,
) -> Result<Verified, Error> {
    let start = Instant::now();
    suggest::verify(
        &suggestion.params,
        suggestion.predicted_ssim,
        suggestion.target,
        &suggestion.shortlist,
        |sets| measure_all(image, sets, item),
        &|| start.elapsed().as_secs_f64() * 1e3,
    )
}
