//! One measurement: flatten -> vectorize -> render -> SSIM, the definition of what vectune predicts.

use serde::{Deserialize, Serialize};
use vectune_core::{image::ImageRef, params::Params, suggest::MeasuredCandidate};

use crate::render::{Background, Renderer, flatten_on_white};
use crate::{MeasureError, ssim, vectorize};

/// The result of measuring one image with one parameter set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// SSIM of the rendered SVG against the flattened original ([`crate::ssim`]).
    pub ssim: f64,
    /// Size of the SVG in bytes.
    pub svg_bytes: usize,
    /// Number of `<path>` elements.
    pub path_count: usize,
    /// Wall time of VTracer alone, milliseconds.
    pub vectorize_ms: f64,
}

impl Measurement {
    /// This measurement of a suggestion's shortlisted `params` (`vectune suggest --verify`, the
    /// browser tracer's `verify`), beside the quality model's `predicted_ssim` for them.
    pub fn candidate(&self, params: Params, predicted_ssim: f32) -> MeasuredCandidate {
        MeasuredCandidate {
            params,
            predicted_ssim,
            ssim: self.ssim,
            svg_bytes: self.svg_bytes,
            vectorize_ms: self.vectorize_ms,
        }
    }
}

/// Measures `image` with `params`; `item` names the image in errors.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn measure(
    image: &ImageRef<'_>,
    params: &Params,
    renderer: &Renderer,
    item: &str,
) -> Result<Measurement, MeasureError> {
    measure_with_svg(image, params, renderer, item).map(|(m, _)| m)
}

/// [`measure`], also returning the SVG.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn measure_with_svg(
    image: &ImageRef<'_>,
    params: &Params,
    renderer: &Renderer,
    item: &str,
) -> Result<(Measurement, String), MeasureError> {
    let start = std::time::Instant::now();
    measure_with_clock(image, params, renderer, item, || {
        start.elapsed().as_secs_f64() * 1e3
    })
}

/// [`measure_with_svg`] timed by the caller's clock `now_ms` (any origin, milliseconds):
/// `std::time::Instant` panics on wasm32-unknown-unknown, where the browser passes
/// `performance.now()`.
pub fn measure_with_clock(
    image: &ImageRef<'_>,
    params: &Params,
    renderer: &Renderer,
    item: &str,
    now_ms: impl Fn() -> f64,
) -> Result<(Measurement, String), MeasureError> {
    let (w, h) = (image.width(), image.height());
    let flat = flatten_on_white(image.data());
    let start = now_ms();
    let svg = vectorize::vectorize_flat(&flat, w, h, params, item)?;
    let vectorize_ms = now_ms() - start;
    let rendered = renderer.render(&svg, w, h, Background::White, item)?;
    let ssim = ssim::ssim(&flat, &rendered.pixels, w, h, item)?;
    Ok((
        Measurement {
            ssim,
            svg_bytes: svg.len(),
            path_count: vectorize::path_count(&svg),
            vectorize_ms,
        },
        svg,
    ))
}
