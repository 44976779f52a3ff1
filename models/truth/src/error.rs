//! Errors of the dataset builder; each names the item concerned.

pub use vectune_measure::MeasureError;

/// What can go wrong while building data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TruthError {
    /// Measuring failed (bad pixels, VTracer, rendering, SSIM).
    #[error(transparent)]
    Measure(#[from] MeasureError),
    /// A file could not be read, written or decoded.
    #[error("`{path}`: {reason}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
}
