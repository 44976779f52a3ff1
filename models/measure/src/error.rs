//! Errors of the instrument; each names the item concerned.

use vectune_core::error::Error;

/// What can go wrong while measuring.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeasureError {
    /// Pixels the core rejects (zero size, too large, wrong buffer length).
    #[error("image `{item}`: {source}")]
    Image {
        /// The image.
        item: String,
        /// The core's reason.
        source: vectune_core::image::ImageError,
    },
    /// VTracer returned an error.
    #[error("VTracer failed on `{item}`: {reason}")]
    Vectorize {
        /// The image.
        item: String,
        /// VTracer's message.
        reason: String,
    },
    /// VTracer panicked (caught; the process goes on).
    #[error("VTracer panicked on `{item}` with {params}: {reason}")]
    VectorizePanic {
        /// The image.
        item: String,
        /// The parameters.
        params: String,
        /// The panic message.
        reason: String,
    },
    /// An SVG that usvg cannot parse or that has no size.
    #[error("cannot render SVG `{item}`: {reason}")]
    Render {
        /// The SVG's name.
        item: String,
        /// Why.
        reason: String,
    },
    /// SSIM needs both images at least 11x11 (the window) and of equal size.
    #[error("cannot compute SSIM for `{item}`: {reason}")]
    Ssim {
        /// The image.
        item: String,
        /// Why.
        reason: String,
    },
}

/// The core's error with its kind: pixels the core rejects and images too small for SSIM are the
/// caller's input (`image`); a failing VTracer or renderer is a runtime failure.
impl From<MeasureError> for Error {
    fn from(e: MeasureError) -> Error {
        match e {
            MeasureError::Image { .. } | MeasureError::Ssim { .. } => Error::bad_input("image", e),
            other => Error::runtime(other),
        }
    }
}
