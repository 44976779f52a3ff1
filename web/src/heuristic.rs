//! JS face of `vectune_core::heuristic`: a quality estimate that needs no model.

use vectune_core::{features, heuristic as core_heuristic, image::ImageRef};
use wasm_bindgen::prelude::*;

use crate::error::js_error;

/// Estimated SSIM in `[0, 1]` for an RGBA8 buffer and a plain object of parameters.
#[wasm_bindgen]
pub fn heuristic(
    rgba: &[u8],
    width: u32,
    height: u32,
    #[wasm_bindgen(unchecked_param_type = "ParamsInput")] params: JsValue,
) -> Result<f32, JsValue> {
    let image = ImageRef::new(rgba, width, height).map_err(js_error)?;
    let params = crate::params::parse(params)?;
    Ok(core_heuristic::estimate(
        &features::compute(&image),
        &params,
    ))
}
