//! Logo classification: class and probabilities from the classifier model (the core's
//! [`vectune_core::predict::classify`]).

use vectune_core::error::Error;
use vectune_core::image::ImageRef;
use vectune_core::predict::{self, Prepared};

pub use vectune_core::predict::Classification;

use crate::manager::ModelManager;

/// Classifies `image`; the error says why no classifier could answer.
pub fn classify(manager: &ModelManager, image: &ImageRef<'_>) -> Result<Classification, Error> {
    predict::classify(manager.models(), &Prepared::new(*image))
}
