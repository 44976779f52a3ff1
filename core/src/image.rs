//! A borrowed RGBA8 image whose size has been checked once, so every consumer
//! ([`crate::preprocess`], [`crate::features`]) can index it without re-validating.
//!
//! ```
//! use vectune_core::image::{ImageError, ImageRef};
//!
//! let px = [0u8; 3 * 2 * 4];
//! assert!(ImageRef::new(&px, 3, 2).is_ok());
//! assert!(matches!(ImageRef::new(&px, 4, 2), Err(ImageError::BufferLength { .. })));
//! assert!(matches!(ImageRef::new(&[], 0, 5), Err(ImageError::ZeroSize { .. })));
//! ```

use core::fmt;

#[cfg(feature = "decode")]
mod decode;
#[cfg(feature = "decode")]
pub use decode::{DecodeError, RgbaImage, decode};

/// Largest image accepted, in pixels: 64 megapixels (an 8192x8192 logo). Bigger inputs are a typed
/// error rather than a multi-gigabyte allocation somewhere downstream.
pub const MAX_PIXELS: u64 = 8192 * 8192;

/// Why a pixel buffer was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageError {
    /// Width or height is zero.
    ZeroSize {
        /// Width given.
        width: u32,
        /// Height given.
        height: u32,
    },
    /// More than [`MAX_PIXELS`] pixels.
    TooLarge {
        /// Width given.
        width: u32,
        /// Height given.
        height: u32,
        /// The limit.
        max_pixels: u64,
    },
    /// The buffer is not `width * height * 4` bytes long.
    BufferLength {
        /// Width given.
        width: u32,
        /// Height given.
        height: u32,
        /// `width * height * 4`.
        expected: u64,
        /// The buffer's length.
        got: usize,
    },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::ZeroSize { width, height } => {
                write!(f, "image has zero size ({width}x{height})")
            }
            ImageError::TooLarge {
                width,
                height,
                max_pixels,
            } => write!(
                f,
                "image is too large ({width}x{height} = {} pixels; the limit is {max_pixels})",
                u64::from(*width) * u64::from(*height)
            ),
            ImageError::BufferLength {
                width,
                height,
                expected,
                got,
            } => write!(
                f,
                "RGBA buffer for a {width}x{height} image must be {expected} bytes (width*height*4), got {got}"
            ),
        }
    }
}

impl core::error::Error for ImageError {}

/// A validated view of an RGBA8 image, rows top to bottom, not premultiplied.
#[derive(Clone, Copy, Debug)]
pub struct ImageRef<'a> {
    data: &'a [u8],
    width: u32,
    height: u32,
}

impl<'a> ImageRef<'a> {
    /// Checks the size and the buffer length.
    pub fn new(data: &'a [u8], width: u32, height: u32) -> Result<ImageRef<'a>, ImageError> {
        if width == 0 || height == 0 {
            return Err(ImageError::ZeroSize { width, height });
        }
        let pixels = u64::from(width) * u64::from(height);
        if pixels > MAX_PIXELS {
            return Err(ImageError::TooLarge {
                width,
                height,
                max_pixels: MAX_PIXELS,
            });
        }
        let expected = pixels * 4;
        if data.len() as u64 != expected {
            return Err(ImageError::BufferLength {
                width,
                height,
                expected,
                got: data.len(),
            });
        }
        Ok(ImageRef {
            data,
            width,
            height,
        })
    }

    /// Width in pixels (at least 1).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels (at least 1).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The raw RGBA8 bytes.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// One row of RGBA8 bytes (`y < height`).
    pub(crate) fn row(&self, y: usize) -> &'a [u8] {
        let w = self.width as usize * 4;
        &self.data[y * w..(y + 1) * w]
    }
}

/// Composites one straight-alpha RGBA8 pixel onto white, giving RGB in `[0, 255]` as `f32`:
/// `c' = c * a/255 + 255 * (1 - a/255)`.
#[inline]
pub fn over_white(px: &[u8]) -> [f32; 3] {
    let a = f32::from(px[3]) / 255.0;
    let w = 255.0 * (1.0 - a);
    [
        f32::from(px[0]) * a + w,
        f32::from(px[1]) * a + w,
        f32::from(px[2]) * a + w,
    ]
}
