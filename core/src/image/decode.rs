//! PNG and JPEG bytes to RGBA8 pixels (feature `decode`): the one decoder of the CLI, the server and
//! the browser package, so a file gives the same pixels everywhere. The `image` crate, the format
//! from the content (not a file name), straight alpha (a canvas would premultiply it and quantise
//! semi-transparent pixels). The pixel limit ([`MAX_PIXELS`]) is checked from the header alone,
//! before anything is allocated for the pixels.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use super::{ImageError, ImageRef, MAX_PIXELS};

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

/// Why bytes did not decode.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// Neither PNG nor JPEG by its content.
    NotPngOrJpeg,
    /// Another image format (named).
    Unsupported(String),
    /// The decoder's reason (truncated data, a bad chunk, ...).
    Corrupt(String),
    /// The header's size is refused (zero, or more than [`MAX_PIXELS`]).
    Image(ImageError),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::NotPngOrJpeg => f.write_str("not a PNG or JPEG file"),
            DecodeError::Unsupported(format) => {
                write!(f, "{format} is not supported (PNG or JPEG only)")
            }
            DecodeError::Corrupt(reason) => f.write_str(reason),
            DecodeError::Image(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Decodes PNG or JPEG bytes to RGBA8.
pub fn decode(bytes: &[u8]) -> Result<RgbaImage, DecodeError> {
    let reader = || {
        image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| DecodeError::Corrupt(e.to_string()))
    };
    let first = reader()?;
    match first.format() {
        Some(image::ImageFormat::Png | image::ImageFormat::Jpeg) => {}
        Some(other) => return Err(DecodeError::Unsupported(alloc::format!("{other:?}"))),
        None => return Err(DecodeError::NotPngOrJpeg),
    }
    let (width, height) = first
        .into_dimensions()
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    if width == 0 || height == 0 {
        return Err(DecodeError::Image(ImageError::ZeroSize { width, height }));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(DecodeError::Image(ImageError::TooLarge {
            width,
            height,
            max_pixels: MAX_PIXELS,
        }));
    }
    // The size is checked above; the decoder's own (smaller) allocation limit would refuse
    // images the core accepts.
    let mut second = reader()?;
    second.no_limits();
    let rgba = second
        .decode()
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?
        .into_rgba8();
    let image = RgbaImage {
        width: rgba.width(),
        height: rgba.height(),
        pixels: rgba.into_raw(),
    };
    image.view().map_err(DecodeError::Image)?;
    Ok(image)
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
    fn decodes_png_and_jpeg_with_straight_alpha() {
        let p = decode(&png(5, 3)).unwrap();
        assert_eq!((p.width, p.height, p.pixels.len()), (5, 3, 60));
        assert_eq!(&p.pixels[..4], &[1, 2, 3, 200]);
        let mut jpg = Vec::new();
        image::RgbImage::from_pixel(8, 8, image::Rgb([250, 0, 0]))
            .write_to(
                &mut std::io::Cursor::new(&mut jpg),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        let j = decode(&jpg).unwrap();
        assert_eq!((j.width, j.height), (8, 8));
        assert_eq!(j.pixels[3], 255);
    }

    #[test]
    fn other_formats_and_broken_files_are_typed_errors() {
        assert_eq!(decode(b"not an image"), Err(DecodeError::NotPngOrJpeg));
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        let e = decode(gif).unwrap_err();
        assert!(matches!(e, DecodeError::Unsupported(_)), "{e}");
        assert!(e.to_string().contains("not supported"), "{e}");
        let mut truncated = png(40, 40);
        truncated.truncate(truncated.len() / 2);
        assert!(matches!(decode(&truncated), Err(DecodeError::Corrupt(_))));
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
        assert!(matches!(
            decode(&bytes),
            Err(DecodeError::Image(ImageError::TooLarge { .. }))
        ));
    }
}
