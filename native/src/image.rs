//! Image loading: PNG and JPEG files (or bytes) to the RGBA8 buffers the core works on.
//! The format is detected from the content, not the file name; the pixel limit of the core
//! ([`vectune_core::image::MAX_PIXELS`]) is checked before decoding, from the header alone.

use std::path::{Path, PathBuf};

use image::ImageReader;
use vectune_core::image::{ImageError, ImageRef, MAX_PIXELS};

use crate::NativeError;

/// A decoded RGBA8 image that owns its pixels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbaImage {
    /// RGBA8, rows top to bottom, straight alpha.
    pub pixels: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl RgbaImage {
    /// The core's validated view of these pixels.
    pub fn view(&self) -> Result<ImageRef<'_>, ImageError> {
        ImageRef::new(&self.pixels, self.width, self.height)
    }
}

/// Reads and decodes a PNG or JPEG file.
pub fn load(path: &Path) -> Result<RgbaImage, NativeError> {
    let bytes = std::fs::read(path).map_err(|source| NativeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    decode(&bytes, path)
}

/// Decodes PNG or JPEG bytes; `name` is used in error messages.
pub fn decode(bytes: &[u8], name: &Path) -> Result<RgbaImage, NativeError> {
    let err = |reason: String| NativeError::Decode {
        path: name.to_path_buf(),
        reason,
    };
    let reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| err(e.to_string()))?;
    match reader.format() {
        Some(image::ImageFormat::Png | image::ImageFormat::Jpeg) => {}
        Some(other) => {
            return Err(err(format!(
                "{other:?} is not supported (PNG or JPEG only)"
            )));
        }
        None => return Err(err("not a PNG or JPEG file".into())),
    }
    let (width, height) = reader.into_dimensions().map_err(|e| err(e.to_string()))?;
    check_size(width, height, name)?;
    let mut reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| err(e.to_string()))?;
    reader.no_limits();
    let rgba = reader
        .decode()
        .map_err(|e| err(e.to_string()))?
        .into_rgba8();
    let image = RgbaImage {
        width: rgba.width(),
        height: rgba.height(),
        pixels: rgba.into_raw(),
    };
    image.view().map_err(|source| NativeError::Image {
        path: name.to_path_buf(),
        source,
    })?;
    Ok(image)
}

fn check_size(width: u32, height: u32, name: &Path) -> Result<(), NativeError> {
    let image_err = |source| NativeError::Image {
        path: PathBuf::from(name),
        source,
    };
    if width == 0 || height == 0 {
        return Err(image_err(ImageError::ZeroSize { width, height }));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(image_err(ImageError::TooLarge {
            width,
            height,
            max_pixels: MAX_PIXELS,
        }));
    }
    Ok(())
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
    fn decodes_png_and_jpeg() {
        let p = decode(&png(5, 3), Path::new("a.png")).unwrap();
        assert_eq!((p.width, p.height, p.pixels.len()), (5, 3, 60));
        assert_eq!(&p.pixels[..4], &[1, 2, 3, 200]);
        let mut jpg = Vec::new();
        image::RgbImage::from_pixel(8, 8, image::Rgb([250, 0, 0]))
            .write_to(
                &mut std::io::Cursor::new(&mut jpg),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        let j = decode(&jpg, Path::new("b.jpg")).unwrap();
        assert_eq!((j.width, j.height), (8, 8));
        assert_eq!(j.pixels[3], 255);
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

    /// CRC-32 (PNG's chunk checksum), bitwise.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn gigantic_headers_are_refused_before_decoding() {
        // A valid PNG header claiming 100000 x 100000 pixels; the pixel data is never touched.
        let mut bytes = png(1, 1);
        bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        let e = decode(&bytes, Path::new("huge.png")).unwrap_err();
        assert!(
            matches!(
                e,
                NativeError::Image {
                    source: ImageError::TooLarge { .. },
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("huge.png"));
    }
}
