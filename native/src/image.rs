//! Image loading: PNG and JPEG files (or bytes) to the RGBA8 buffers the core works on.
//! The format is detected from the content, not the file name; the pixel limit of the core
//! ([`vectune_core::image::MAX_PIXELS`]) is checked before decoding, from the header alone.

use std::path::Path;

use vectune_core::image::DecodeError;
pub use vectune_core::image::RgbaImage;

use crate::NativeError;

/// Reads and decodes a PNG or JPEG file.
pub fn load(path: &Path) -> Result<RgbaImage, NativeError> {
    let bytes = std::fs::read(path).map_err(|source| NativeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    decode(&bytes, path)
}

/// Decodes PNG or JPEG bytes ([`vectune_core::image::decode`]); `name` is used in error messages.
pub fn decode(bytes: &[u8], name: &Path) -> Result<RgbaImage, NativeError> {
    vectune_core::image::decode(bytes).map_err(|e| match e {
        DecodeError::Image(source) => NativeError::Image {
            path: name.to_path_buf(),
            source,
        },
        other => NativeError::Decode {
            path: name.to_path_buf(),
            reason: other.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(w, h, image::Rgba([1, 2, 3, 200]));
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn bad_input_is_a_typed_error_naming_the_file() {
        let e = decode(b"not an image", Path::new("x.png")).unwrap_err();
        assert!(matches!(e, NativeError::Decode { .. }));
        assert!(e.to_string().contains("x.png"), "{e}");
        let mut truncated = png(40, 40);
        truncated.truncate(truncated.len() / 2);
        let e = decode(&truncated, Path::new("cut.png")).unwrap_err();
        assert!(e.to_string().contains("cut.png"), "{e}");
        let e = load(Path::new("/nonexistent/logo.png")).unwrap_err();
        assert!(matches!(e, NativeError::Read { .. }));
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert!(
            decode(gif, Path::new("a.gif"))
                .unwrap_err()
                .to_string()
                .contains("not supported")
        );
    }
}
