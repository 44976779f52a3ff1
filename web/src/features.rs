//! JS face of `vectune_core::features`.

use vectune_core::{features, image::ImageRef};
use wasm_bindgen::prelude::*;

use crate::error::{js_error, to_js};

/// Image statistics of an RGBA8 buffer (e.g. `ImageData.data`), as a plain object.
#[wasm_bindgen(unchecked_return_type = "Features")]
pub fn features(rgba: &[u8], width: u32, height: u32) -> Result<JsValue, JsValue> {
    let image = ImageRef::new(rgba, width, height).map_err(js_error)?;
    to_js(&features::compute(&image))
}
