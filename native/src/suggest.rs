//! Parameter suggestions: the core's suggester ([`vectune_core::suggest::suggest`]: a starting
//! point from the correlation models, candidates around it, the smallest predicted SVG that reaches
//! the target) on the manager's models — the classifier for the logo's class, the quality model
//! along the manager's path (the image preprocessed once for both), the correlation file when it
//! loaded.

use vectune_core::image::ImageRef;
use vectune_core::suggest::{self, SuggestError};

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
