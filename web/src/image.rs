//! Image decoding in the browser with the same decoder as the native CLI (`native/src/image.rs`:
//! the `image` crate, PNG and JPEG, format from the content, RGBA8 straight alpha). A canvas would
//! premultiply alpha and quantise semi-transparent pixels, so the page would not predict from the
//! pixels the CLI sees; this keeps browser and native predictions equal for the same file.

use js_sys::{Object, Reflect, Uint8Array};
use vectune_core::image::{ImageError, ImageRef, MAX_PIXELS};
use wasm_bindgen::prelude::*;

use crate::error::bad_input;

/// A decoded image: RGBA8 pixels, width, height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// RGBA8, rows top to bottom, straight alpha.
    pub pixels: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Decodes PNG or JPEG bytes; the pixel limit is checked from the header before decoding.
pub fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    let reader = || {
        image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| e.to_string())
    };
    let first = reader()?;
    match first.format() {
        Some(image::ImageFormat::Png | image::ImageFormat::Jpeg) => {}
        Some(other) => return Err(format!("{other:?} is not supported (PNG or JPEG only)")),
        None => return Err("not a PNG or JPEG file".into()),
    }
    let (width, height) = first.into_dimensions().map_err(|e| e.to_string())?;
    if width == 0 || height == 0 {
        return Err(ImageError::ZeroSize { width, height }.to_string());
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageError::TooLarge {
            width,
            height,
            max_pixels: MAX_PIXELS,
        }
        .to_string());
    }
    let mut second = reader()?;
    second.no_limits();
    let rgba = second.decode().map_err(|e| e.to_string())?.into_rgba8();
    let decoded = Decoded {
        width: rgba.width(),
        height: rgba.height(),
        pixels: rgba.into_raw(),
    };
    ImageRef::new(&decoded.pixels, decoded.width, decoded.height).map_err(|e| e.to_string())?;
    Ok(decoded)
}

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

    #[test]
    fn bad_bytes_say_why() {
        assert_eq!(
            decode(b"not an image").unwrap_err(),
            "not a PNG or JPEG file"
        );
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert!(decode(gif).unwrap_err().contains("Gif is not supported"));
        let bytes = std::fs::read(crate::test_support::fixtures().join("golden/logo.png")).unwrap();
        assert!(decode(&bytes[..bytes.len() / 2]).is_err());
    }
}
