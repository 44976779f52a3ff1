//! RGBA8 + [`Params`] -> SVG, with VTracer 0.6.5 (pinned) in colour mode, stacked hierarchy,
//! spline fitting. The input is flattened onto white first (VTracer keys out only alpha == 0 with a
//! randomly chosen key colour; a flattened image is never keyed, so results are deterministic).
//! Values on which VTracer panics are unreachable through the core's typed [`Params`]; should
//! VTracer panic anyway, the panic is caught and returned as [`MeasureError::VectorizePanic`].

use std::panic::{AssertUnwindSafe, catch_unwind};

use vectune_core::params::Params;
use visioncortex::PathSimplifyMode;

use crate::MeasureError;

/// VTracer's configuration for `params` (colour, stacked, spline).
pub fn config(params: &Params) -> vtracer::Config {
    vtracer::Config {
        color_mode: vtracer::ColorMode::Color,
        hierarchical: vtracer::Hierarchical::Stacked,
        mode: PathSimplifyMode::Spline,
        filter_speckle: params.filter_speckle() as usize,
        color_precision: params.color_precision() as i32,
        layer_difference: params.layer_difference() as i32,
        corner_threshold: params.corner_threshold() as i32,
        length_threshold: params.length_threshold(),
        max_iterations: params.max_iterations() as usize,
        splice_threshold: params.splice_threshold() as i32,
        path_precision: Some(params.path_precision()),
    }
}

/// Vectorizes an image that is already flattened onto white (alpha 255 everywhere;
/// [`crate::render::flatten_on_white`]). `item` names the image in errors.
pub fn vectorize_flat(
    flat_rgba: &[u8],
    width: u32,
    height: u32,
    params: &Params,
    item: &str,
) -> Result<String, MeasureError> {
    vectune_core::image::ImageRef::new(flat_rgba, width, height).map_err(|source| {
        MeasureError::Image {
            item: item.to_string(),
            source,
        }
    })?;
    let img = vtracer::ColorImage {
        pixels: flat_rgba.to_vec(),
        width: width as usize,
        height: height as usize,
    };
    let cfg = config(params);
    match catch_unwind(AssertUnwindSafe(|| vtracer::convert(img, cfg))) {
        Ok(Ok(svg)) => Ok(svg.to_string()),
        Ok(Err(reason)) => Err(MeasureError::Vectorize {
            item: item.to_string(),
            reason,
        }),
        Err(panic) => Err(MeasureError::VectorizePanic {
            item: item.to_string(),
            params: params.to_string(),
            reason: panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string()),
        }),
    }
}

/// Flattens `rgba` onto white and vectorizes it.
pub fn vectorize(
    rgba: &[u8],
    width: u32,
    height: u32,
    params: &Params,
    item: &str,
) -> Result<String, MeasureError> {
    let flat = crate::render::flatten_on_white(rgba);
    vectorize_flat(&flat, width, height, params, item)
}

/// Number of `<path` elements in an SVG.
pub fn path_count(svg: &str) -> usize {
    svg.matches("<path").count()
}
