//! Image preprocessing for the models: RGBA8 of any size and aspect ratio ->
//! composite on white -> letterbox to a square on white -> area (box) resample to 224x224 ->
//! ImageNet mean/std -> CHW `f32`, written into a caller-provided slice so that batch tensors are
//! assembled in place.
//!
//! **Composite:** straight alpha over white, `c' = c*a + 255*(1-a)` with `a = alpha/255`.
//!
//! **Letterbox:** the image is centred in a square of side `max(w, h)`; the offset of the image in
//! that square is `floor((side - w) / 2)` horizontally and `floor((side - h) / 2)` vertically; the
//! rest is white.
//!
//! **Area resample:** output pixel `i` (of `n`) covers the interval `[i*side/n, (i+1)*side/n)` of the
//! square; its value is the mean of the source over that interval, each source pixel weighted by the
//! length of its overlap (exact box integration, separable, rows then columns). Downscaling is
//! antialiased; upscaling a small image repeats pixels, blending only where a boundary falls inside an
//! output pixel.
//!
//! **Normalise:** `(v/255 - mean[c]) / std[c]` with the ImageNet statistics [`IMAGENET_MEAN`] and
//! [`IMAGENET_STD`].
//!
//! ```
//! use vectune_core::{image::ImageRef, preprocess};
//!
//! let rgba = [0u8, 0, 0, 255].repeat(10 * 5); // a black 10x5 bar
//! let image = ImageRef::new(&rgba, 10, 5)?;
//! let mut tensor = vec![0.0f32; preprocess::TENSOR_LEN];
//! preprocess::preprocess_into(&image, &mut tensor)?;
//! // The top-left corner is letterbox padding: white.
//! assert_eq!(tensor[0], preprocess::WHITE_NORMALISED[0]);
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::image::{ImageRef, over_white};

/// Side of the square model input, in pixels.
pub const INPUT_SIZE: usize = 224;
/// Colour channels in the model input (RGB).
pub const CHANNELS: usize = 3;
/// Length of one image tensor: `3 * 224 * 224` (CHW).
pub const TENSOR_LEN: usize = CHANNELS * INPUT_SIZE * INPUT_SIZE;

/// ImageNet per-channel mean of RGB in `[0, 1]`, as used by torchvision's pretrained models
/// (torchvision `transforms.Normalize` documentation, "ImageNet" statistics).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet per-channel standard deviation, same source as [`IMAGENET_MEAN`].
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// A white pixel after normalisation, per channel: `(1 - mean) / std`.
pub const WHITE_NORMALISED: [f32; 3] = [
    (1.0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0],
    (1.0 - IMAGENET_MEAN[1]) / IMAGENET_STD[1],
    (1.0 - IMAGENET_MEAN[2]) / IMAGENET_STD[2],
];
/// A black pixel after normalisation, per channel: `-mean / std`. With [`WHITE_NORMALISED`] these
/// bound every value the preprocessing can produce.
pub const BLACK_NORMALISED: [f32; 3] = [
    -IMAGENET_MEAN[0] / IMAGENET_STD[0],
    -IMAGENET_MEAN[1] / IMAGENET_STD[1],
    -IMAGENET_MEAN[2] / IMAGENET_STD[2],
];

/// Why preprocessing could not write its output.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PreprocessError {
    /// The output slice is not [`TENSOR_LEN`] long.
    OutputLength {
        /// [`TENSOR_LEN`].
        expected: usize,
        /// The slice's length.
        got: usize,
    },
    /// The input pixels were invalid.
    Image(crate::image::ImageError),
}

impl fmt::Display for PreprocessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PreprocessError::OutputLength { expected, got } => write!(
                f,
                "preprocessing output must hold {expected} floats (3x224x224), got {got}"
            ),
            PreprocessError::Image(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for PreprocessError {}

impl From<crate::image::ImageError> for PreprocessError {
    fn from(e: crate::image::ImageError) -> Self {
        PreprocessError::Image(e)
    }
}

/// Where the image sits inside its letterbox square.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Letterbox {
    /// Side of the square: `max(width, height)`.
    pub side: u32,
    /// Columns of white left of the image.
    pub offset_x: u32,
    /// Rows of white above the image.
    pub offset_y: u32,
}

impl Letterbox {
    /// The letterbox geometry of a `width x height` image.
    pub fn of(width: u32, height: u32) -> Letterbox {
        let side = width.max(height);
        Letterbox {
            side,
            offset_x: (side - width) / 2,
            offset_y: (side - height) / 2,
        }
    }
}

/// Writes the model input for `image` into `out` (length [`TENSOR_LEN`], CHW order).
pub fn preprocess_into(image: &ImageRef<'_>, out: &mut [f32]) -> Result<(), PreprocessError> {
    if out.len() != TENSOR_LEN {
        return Err(PreprocessError::OutputLength {
            expected: TENSOR_LEN,
            got: out.len(),
        });
    }
    let lb = Letterbox::of(image.width(), image.height());
    let plane = INPUT_SIZE * INPUT_SIZE;
    let scale: [f32; 3] = core::array::from_fn(|c| 1.0 / (255.0 * IMAGENET_STD[c]));
    let shift: [f32; 3] = core::array::from_fn(|c| IMAGENET_MEAN[c] / IMAGENET_STD[c]);
    let frame = Frame {
        out_w: INPUT_SIZE,
        out_h: INPUT_SIZE,
        padded_w: lb.side as usize,
        padded_h: lb.side as usize,
        offset_x: lb.offset_x as usize,
        offset_y: lb.offset_y as usize,
    };
    resample_area(image, frame, |x, y, rgb| {
        let i = y * INPUT_SIZE + x;
        for c in 0..CHANNELS {
            out[c * plane + i] = rgb[c] * scale[c] - shift[c];
        }
    });
    Ok(())
}

/// Convenience: validates a raw RGBA8 buffer and returns a fresh tensor.
pub fn preprocess(rgba: &[u8], width: u32, height: u32) -> Result<Vec<f32>, PreprocessError> {
    let image = ImageRef::new(rgba, width, height)?;
    let mut out = vec![0.0; TENSOR_LEN];
    preprocess_into(&image, &mut out)?;
    Ok(out)
}

/// Geometry of a resample: an output grid over a (possibly white-padded) source frame.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    pub out_w: usize,
    pub out_h: usize,
    pub padded_w: usize,
    pub padded_h: usize,
    pub offset_x: usize,
    pub offset_y: usize,
}

/// Box-filter weights of one axis: for each output index, the contributing source pixels (image
/// coordinates) with their weights, and the weight of the white padding. Weights sum to 1.
struct AxisWeights {
    /// `ranges[i]` indexes `taps` for output `i`.
    ranges: Vec<(usize, usize)>,
    taps: Vec<(usize, f32)>,
    white: Vec<f32>,
}

impl AxisWeights {
    fn new(n_out: usize, padded: usize, offset: usize, len: usize) -> AxisWeights {
        let mut ranges = Vec::with_capacity(n_out);
        let mut taps = Vec::new();
        let mut white = Vec::with_capacity(n_out);
        let scale = padded as f64 / n_out as f64;
        for i in 0..n_out {
            let lo = i as f64 * scale;
            let hi = (i + 1) as f64 * scale;
            let start = taps.len();
            let mut w_white = 0.0f64;
            let first = libm::floor(lo) as usize;
            let last = (libm::ceil(hi) as usize).min(padded);
            for j in first..last {
                let overlap = hi.min((j + 1) as f64) - lo.max(j as f64);
                if overlap <= 0.0 {
                    continue;
                }
                let w = overlap / scale;
                if j >= offset && j < offset + len {
                    taps.push((j - offset, w as f32));
                } else {
                    w_white += w;
                }
            }
            ranges.push((start, taps.len()));
            white.push(w_white as f32);
        }
        AxisWeights {
            ranges,
            taps,
            white,
        }
    }
}

/// Area-resamples `image` (composited on white) into the grid `frame` describes, calling `put(x, y,
/// rgb)` once per output pixel with RGB in `[0, 255]`.
pub(crate) fn resample_area(
    image: &ImageRef<'_>,
    frame: Frame,
    mut put: impl FnMut(usize, usize, [f32; 3]),
) {
    let w = image.width() as usize;
    let h = image.height() as usize;
    let wx = AxisWeights::new(frame.out_w, frame.padded_w, frame.offset_x, w);
    let wy = AxisWeights::new(frame.out_h, frame.padded_h, frame.offset_y, h);
    let mut acc = vec![[0.0f32; 3]; w];
    for oy in 0..frame.out_h {
        // Vertical pass: blend the contributing source rows into `acc` (one value per source column).
        let white_y = wy.white[oy] * 255.0;
        acc.iter_mut().for_each(|a| *a = [white_y; 3]);
        let (s, e) = wy.ranges[oy];
        for &(sy, wgt) in &wy.taps[s..e] {
            for (a, px) in acc.iter_mut().zip(image.row(sy).chunks_exact(4)) {
                let rgb = over_white(px);
                a[0] += wgt * rgb[0];
                a[1] += wgt * rgb[1];
                a[2] += wgt * rgb[2];
            }
        }
        // Horizontal pass.
        for ox in 0..frame.out_w {
            let white_x = wx.white[ox] * 255.0;
            let mut v = [white_x; 3];
            let (s, e) = wx.ranges[ox];
            for &(sx, wgt) in &wx.taps[s..e] {
                let a = acc[sx];
                v[0] += wgt * a[0];
                v[1] += wgt * a[1];
                v[2] += wgt * a[2];
            }
            put(ox, oy, v.map(|c| c.clamp(0.0, 255.0)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ImageError;
    use proptest::prelude::*;

    fn solid(w: u32, h: u32, px: [u8; 4]) -> Vec<u8> {
        px.repeat((w * h) as usize)
    }

    #[test]
    fn constants_bound_the_output() {
        for c in 0..3 {
            assert!(BLACK_NORMALISED[c] < 0.0 && WHITE_NORMALISED[c] > 0.0);
        }
        assert!((WHITE_NORMALISED[0] - 2.2489083).abs() < 1e-6);
    }

    #[test]
    fn rejects_bad_buffers_and_outputs() {
        assert_eq!(
            preprocess(&[], 0, 3).unwrap_err(),
            PreprocessError::Image(ImageError::ZeroSize {
                width: 0,
                height: 3
            })
        );
        assert!(matches!(
            preprocess(&[0; 15], 2, 2).unwrap_err(),
            PreprocessError::Image(ImageError::BufferLength {
                expected: 16,
                got: 15,
                ..
            })
        ));
        let px = solid(2, 2, [0, 0, 0, 255]);
        let img = ImageRef::new(&px, 2, 2).unwrap();
        let mut short = vec![0.0; 10];
        assert_eq!(
            preprocess_into(&img, &mut short).unwrap_err(),
            PreprocessError::OutputLength {
                expected: TENSOR_LEN,
                got: 10
            }
        );
    }

    #[test]
    fn transparent_is_white_and_opaque_colour_is_exact() {
        let t = preprocess(&solid(7, 7, [12, 200, 99, 0]), 7, 7).unwrap();
        let plane = INPUT_SIZE * INPUT_SIZE;
        for c in 0..3 {
            assert!(
                t[c * plane..(c + 1) * plane]
                    .iter()
                    .all(|v| (v - WHITE_NORMALISED[c]).abs() < 1e-5)
            );
        }
        let t = preprocess(&solid(300, 300, [255, 0, 0, 255]), 300, 300).unwrap();
        assert!((t[0] - WHITE_NORMALISED[0]).abs() < 1e-5);
        assert!((t[plane] - BLACK_NORMALISED[1]).abs() < 1e-5);
    }

    #[test]
    fn half_alpha_black_is_mid_grey() {
        let t = preprocess(&solid(4, 4, [0, 0, 0, 128]), 4, 4).unwrap();
        let v = 255.0 * (1.0 - 128.0 / 255.0);
        let expect = (v / 255.0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0];
        assert!((t[0] - expect).abs() < 1e-4);
    }

    #[test]
    fn downscale_averages_areas() {
        // 448x448 checkerboard of single pixels -> every output pixel is the mean (127.5).
        let mut px = Vec::new();
        for y in 0..448u32 {
            for x in 0..448u32 {
                let v = if (x + y) % 2 == 0 { 0 } else { 255 };
                px.extend_from_slice(&[v, v, v, 255]);
            }
        }
        let t = preprocess(&px, 448, 448).unwrap();
        let expect = (0.5 - IMAGENET_MEAN[0]) / IMAGENET_STD[0];
        assert!(
            t[..INPUT_SIZE * INPUT_SIZE]
                .iter()
                .all(|v| (v - expect).abs() < 1e-4)
        );
    }

    #[test]
    fn letterbox_geometry() {
        assert_eq!(
            Letterbox::of(100, 40),
            Letterbox {
                side: 100,
                offset_x: 0,
                offset_y: 30
            }
        );
        assert_eq!(
            Letterbox::of(5, 8),
            Letterbox {
                side: 8,
                offset_x: 1,
                offset_y: 0
            }
        );
    }

    /// Rows and columns whose red channel is not white, as (first, last) indices.
    fn content_box(t: &[f32]) -> Option<(usize, usize, usize, usize)> {
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for y in 0..INPUT_SIZE {
            for x in 0..INPUT_SIZE {
                if (t[y * INPUT_SIZE + x] - WHITE_NORMALISED[0]).abs() > 1e-4 {
                    x0 = x0.min(x);
                    y0 = y0.min(y);
                    x1 = x1.max(x);
                    y1 = y1.max(y);
                }
            }
        }
        (x0 != usize::MAX).then_some((x0, y0, x1, y1))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn output_in_range_and_padding_white(
            w in 1u32..400, h in 1u32..400, seed in any::<u64>()
        ) {
            // Pseudo-random pixels from a tiny xorshift (no rand in no_std tests needed).
            let mut s = seed | 1;
            let px: Vec<u8> = (0..w * h * 4).map(|_| { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s as u8 }).collect();
            let t = preprocess(&px, w, h).unwrap();
            let plane = INPUT_SIZE * INPUT_SIZE;
            for c in 0..3 {
                for v in &t[c * plane..(c + 1) * plane] {
                    prop_assert!(v.is_finite());
                    prop_assert!(*v >= BLACK_NORMALISED[c] - 1e-5 && *v <= WHITE_NORMALISED[c] + 1e-5);
                }
            }
            // Output rows/columns that lie entirely in the padding are exactly white.
            let lb = Letterbox::of(w, h);
            let scale = lb.side as f64 / INPUT_SIZE as f64;
            for o in 0..INPUT_SIZE {
                let (lo, hi) = (o as f64 * scale, (o + 1) as f64 * scale);
                let pad_x = hi <= lb.offset_x as f64 || lo >= (lb.offset_x + w) as f64;
                let pad_y = hi <= lb.offset_y as f64 || lo >= (lb.offset_y + h) as f64;
                for k in 0..INPUT_SIZE {
                    for c in 0..3 {
                        if pad_x {
                            prop_assert!((t[c * plane + k * INPUT_SIZE + o] - WHITE_NORMALISED[c]).abs() < 1e-5);
                        }
                        if pad_y {
                            prop_assert!((t[c * plane + o * INPUT_SIZE + k] - WHITE_NORMALISED[c]).abs() < 1e-5);
                        }
                    }
                }
            }
        }

        #[test]
        fn aspect_ratio_is_kept(w in 8u32..600, h in 8u32..600) {
            // A solid black image: its footprint in the output must have the image's aspect ratio.
            let t = preprocess(&solid(w, h, [0, 0, 0, 255]), w, h).unwrap();
            let (x0, y0, x1, y1) = content_box(&t).unwrap();
            let side = w.max(h) as f64;
            let ew = w as f64 / side * INPUT_SIZE as f64;
            let eh = h as f64 / side * INPUT_SIZE as f64;
            // Partial coverage at each edge can add at most one pixel per side.
            prop_assert!(((x1 - x0 + 1) as f64 - ew).abs() <= 2.0, "width {} vs {}", x1 - x0 + 1, ew);
            prop_assert!(((y1 - y0 + 1) as f64 - eh).abs() <= 2.0, "height {} vs {}", y1 - y0 + 1, eh);
            // Centred: opposite white margins differ by at most one source pixel (the floor in the
            // offset) plus edge blending.
            let tol = INPUT_SIZE as f64 / side + 2.0;
            let (l, r) = (x0 as f64, (INPUT_SIZE - 1 - x1) as f64);
            let (tp, b) = (y0 as f64, (INPUT_SIZE - 1 - y1) as f64);
            prop_assert!((l - r).abs() <= tol && (tp - b).abs() <= tol, "margins {} {} {} {}", l, r, tp, b);
        }
    }
}
