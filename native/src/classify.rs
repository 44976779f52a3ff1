//! Logo classification: class and probabilities from the classifier model.

use serde::Serialize;
use vectune_core::image::ImageRef;
use vectune_core::manifest::LOGO_CLASSES;
use vectune_core::predict::{self, Prepared};

use crate::manager::ModelManager;

/// A classification.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Classification {
    /// The most probable class.
    pub class: &'static str,
    /// Probability per class, in [`LOGO_CLASSES`] order.
    pub probabilities: Vec<(&'static str, f32)>,
}

/// Classifies `image`; `Err` says why no classifier could answer.
pub fn classify(manager: &ModelManager, image: &ImageRef<'_>) -> Result<Classification, String> {
    if !manager.has_classifier() {
        return Err("no classifier model is ready (see `vectune models`)".into());
    }
    let (best, p) = predict::classify(manager.backend(), &Prepared::new(*image))?;
    Ok(Classification {
        class: LOGO_CLASSES[best],
        probabilities: LOGO_CLASSES.iter().copied().zip(p).collect(),
    })
}
