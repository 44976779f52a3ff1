//! Image decoding in the browser with the native CLI's decoder ([`vectune_core::image::decode`]:
//! PNG and JPEG, format from the content, RGBA8 straight alpha). A canvas would premultiply alpha
//! and quantise semi-transparent pixels, so the page would not predict from the pixels the CLI
//! sees; this keeps browser and native predictions equal for the same file.

use js_sys::{Object, Reflect, Uint8Array};
use vectune_core::image::decode;
use wasm_bindgen::prelude::*;

use crate::error::bad_input;

/// Decodes a PNG or JPEG file's bytes to `{rgba: Uint8Array, width, height}`, exactly as the
/// native CLI does; throws an `Error` saying why for anything else.
#[wasm_bindgen(js_name = decodeImage, unchecked_return_type = "DecodedImage")]
pub fn decode_image(bytes: &[u8]) -> Result<JsValue, JsValue> {
    let d = decode(bytes).map_err(|e| bad_input(format!("cannot decode the image: {e}")))?;
    let out = Object::new();
    let set = |k: &str, v: &JsValue| Reflect::set(&out, &JsValue::from_str(k), v);
    set("rgba", &Uint8Array::from(d.pixels.as_slice()).into())
        .and_then(|_| set("width", &d.width.into()))
        .and_then(|_| set("height", &d.height.into()))
        .map_err(|e| crate::error::bad_input(crate::error::message(e)))?;
    Ok(out.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_golden_logo_as_the_png_crate_does() {
        let bytes = std::fs::read(crate::test_support::fixtures().join("golden/logo.png")).unwrap();
        let d = decode(&bytes).unwrap();
        let (rgba, w, h) = crate::test_support::logo();
        assert_eq!((d.width, d.height), (w, h));
        assert_eq!(d.pixels, rgba);
    }
}
