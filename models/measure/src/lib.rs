//! # vectune-measure: the measuring instrument
//!
//! What vectune predicts is defined here, once (see `models/truth/README.md`):
//!
//! 1. the logo is flattened onto white ([`vectune_core::image::over_white`], rounded to 8 bits);
//! 2. [`vectorize`]: VTracer 0.6.5 (pinned) in colour mode, stacked hierarchy, spline fitting, with
//!    the eight [`vectune_core::params::Params`];
//! 3. [`render`]: the SVG rendered back by resvg onto white at the original size;
//! 4. [`ssim`]: standard SSIM (Wang et al. 2004; Gaussian window 11x11, sigma 1.5, K1 0.01, K2 0.03,
//!    L 255) between the BT.601 luma of the flattened original and of the rendering, at the image's
//!    own resolution, averaged over the pixels whose window lies inside the image (as scikit-image).
//!
//! [`measure`] runs all four and reports `{ ssim, svg_bytes, path_count, vectorize_ms }`. This crate
//! is all the CLI, an HTTP service and the browser's tracer (`web/trace`) link to measure; the
//! dataset builder (`vectune-truth`) builds on it. It builds for wasm32-unknown-unknown.

pub mod error;
pub mod measure;
pub mod render;
pub mod ssim;
pub mod vectorize;

pub use error::MeasureError;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub use measure::measure;
pub use measure::{Measurement, measure_with_clock};
