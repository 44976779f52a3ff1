//! Cheap image statistics for the heuristic and the parameter suggester.
//!
//! All statistics see the image composited on white ([`crate::image::over_white`]). Colour
//! statistics use every pixel at full resolution; structure statistics (edges, shading, corners)
//! use an *analysis view*: the image area-resampled so its long side is at most [`ANALYSIS_SIZE`]
//! (never upscaled), which bounds their cost and makes them roughly independent of resolution.
//!
//! Formulas (L = BT.601 luma `0.299 R + 0.587 G + 0.114 B`, in `[0, 1]`, on the analysis view;
//! `G = sqrt(Gx² + Gy²) / 4` with 3x3 Sobel `Gx`, `Gy`, so a full black-to-white step gives 1;
//! borders replicate edge pixels):
//!
//! | field | formula |
//! |---|---|
//! | `width`, `height` | the original size in pixels |
//! | `unique_colors` | number of distinct RGB colours after quantising each channel to 5 bits (`c >> 3`) |
//! | `color_entropy` | Shannon entropy in bits of that 32768-bin histogram, `-Σ p log2 p`, in `[0, 15]` |
//! | `edge_density` | fraction of analysis pixels with `G > EDGE_THRESHOLD` |
//! | `gradient_strength` | fraction of analysis pixels in smooth shading: `SHADING_MIN < G <= SHADING_MAX` |
//! | `corner_density` | Harris corners per analysis pixel: `R = det(M) - 0.04 tr(M)²` with `M` the 3x3 box sum of `[Gx², GxGy; GxGy, Gy²]`, counting pixels with `R > CORNER_THRESHOLD` that are maxima of their 3x3 neighbourhood |
//! | `transparency` | fraction of pixels with alpha < 255 (at full resolution) |
//! | `complexity` | `0.35 min(1, edge/0.2) + 0.25 min(1, entropy/8) + 0.2 min(1, log2(unique)/12) + 0.2 min(1, corners/0.004)`, see [`Features::complexity`] |
//!
//! ```
//! use vectune_core::{features, image::ImageRef};
//! let rgba = [255u8, 255, 255, 255].repeat(64 * 64); // blank white
//! let f = features::compute(&ImageRef::new(&rgba, 64, 64)?);
//! assert_eq!(f.unique_colors, 1);
//! assert_eq!(f.edge_density, 0.0);
//! # Ok::<(), vectune_core::image::ImageError>(())
//! ```

use alloc::vec;
use alloc::vec::Vec;

use crate::image::{ImageRef, over_white};
use crate::preprocess::{Frame, resample_area};

/// Long side of the analysis view for structure statistics, in pixels.
pub const ANALYSIS_SIZE: u32 = 256;
/// Sobel magnitude above which a pixel is an edge (a quarter of a full-contrast step).
pub const EDGE_THRESHOLD: f32 = 0.25;
/// Lower bound of smooth shading (one 8-bit level across two pixels is ~0.004).
pub const SHADING_MIN: f32 = 0.002;
/// Upper bound of smooth shading; above this a change is an edge, not a gradient.
pub const SHADING_MAX: f32 = 0.08;
/// Harris response above which a local maximum is a corner.
pub const CORNER_THRESHOLD: f32 = 0.05;
/// Harris sensitivity constant `k` (Harris & Stephens 1988; 0.04 is the common choice).
pub const HARRIS_K: f32 = 0.04;
/// Bits kept per channel when counting colours.
pub const COLOR_QUANT_BITS: u32 = 5;

/// Number of size features per image ([`size_features`]).
pub const SIZE_FEATURES: usize = 2;

/// The original size as model input: `[log2(width) / 10, log2(height) / 10]` (about `[0.6, 1]` for
/// 64-1024 px). The 224x224 view loses the size, yet many VTracer parameters are in pixels
/// (`filter_speckle`, `length_threshold`), so the quality model takes it as its `size` input.
pub fn size_features(width: u32, height: u32) -> [f32; SIZE_FEATURES] {
    [
        libm::log2f(width.max(1) as f32) / 10.0,
        libm::log2f(height.max(1) as f32) / 10.0,
    ]
}

/// Number of image statistics per image ([`image_stats`]).
pub const IMAGE_STATS: usize = SIZE_FEATURES + VECTOR_LEN;

/// The per-image side input of the quality models: [`size_features`] followed by
/// [`Features::vector`] (full-resolution colour statistics and
/// structure the 224 px view blurs). A model declares how many of them it reads, always a prefix:
/// an input named `size` takes the first [`SIZE_FEATURES`], one named `stats` all
/// [`IMAGE_STATS`] (see [`crate::manifest::ModelEntry::stats_input`]).
pub fn image_stats(f: &Features) -> [f32; IMAGE_STATS] {
    let mut out = [0.0; IMAGE_STATS];
    out[..SIZE_FEATURES].copy_from_slice(&size_features(f.width, f.height));
    out[SIZE_FEATURES..].copy_from_slice(&f.vector());
    out
}

/// Length of [`Features::vector`].
pub const VECTOR_LEN: usize = 9;

/// Names of [`Features::vector`]'s entries, in order.
pub const VECTOR_NAMES: [&str; VECTOR_LEN] = [
    "log2_width",
    "log2_height",
    "log2_unique_colors",
    "color_entropy",
    "edge_density",
    "gradient_strength",
    "corner_density",
    "transparency",
    "complexity",
];

/// The statistics of one image. See the module docs for each formula.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Features {
    /// Original width in pixels.
    pub width: u32,
    /// Original height in pixels.
    pub height: u32,
    /// Distinct colours after 5-bit quantisation.
    pub unique_colors: u32,
    /// Entropy of the quantised colour histogram, bits.
    pub color_entropy: f32,
    /// Fraction of edge pixels.
    pub edge_density: f32,
    /// Fraction of smoothly shaded pixels.
    pub gradient_strength: f32,
    /// Harris corners per pixel.
    pub corner_density: f32,
    /// Fraction of pixels that are not fully opaque.
    pub transparency: f32,
    /// Blend of the above in `[0, 1]`.
    pub complexity: f32,
}

impl Features {
    /// The statistics as numbers for models ([`VECTOR_NAMES`]): sizes and colour counts as
    /// `log2`, the rest as they are.
    pub fn vector(&self) -> [f32; VECTOR_LEN] {
        [
            libm::log2f(self.width.max(1) as f32),
            libm::log2f(self.height.max(1) as f32),
            libm::log2f(self.unique_colors.max(1) as f32),
            self.color_entropy,
            self.edge_density,
            self.gradient_strength,
            self.corner_density,
            self.transparency,
            self.complexity,
        ]
    }

    /// The complexity blend from the other fields:
    /// `0.35·min(1, edge/0.2) + 0.25·min(1, entropy/8) + 0.2·min(1, log2(unique)/12) + 0.2·min(1, corners/0.004)`.
    /// Each term saturates where typical flat logos end and photos or busy illustrations begin.
    pub fn complexity(
        edge_density: f32,
        color_entropy: f32,
        unique_colors: u32,
        corner_density: f32,
    ) -> f32 {
        let edges = (edge_density / 0.2).min(1.0);
        let entropy = (color_entropy / 8.0).min(1.0);
        let colours = (libm::log2f(unique_colors.max(1) as f32) / 12.0).min(1.0);
        let corners = (corner_density / 0.004).min(1.0);
        (0.35 * edges + 0.25 * entropy + 0.2 * colours + 0.2 * corners).clamp(0.0, 1.0)
    }
}

/// Computes all statistics of `image`.
pub fn compute(image: &ImageRef<'_>) -> Features {
    let (unique_colors, color_entropy, transparency) = colour_stats(image);
    let (aw, ah) = analysis_size(image.width(), image.height());
    let luma = analysis_luma(image, aw, ah);
    let (gx, gy) = sobel(&luma, aw, ah);
    let n = (aw * ah) as f32;
    let mut edges = 0usize;
    let mut shading = 0usize;
    for (x, y) in gx.iter().zip(&gy) {
        let g = libm::sqrtf(x * x + y * y);
        if g > EDGE_THRESHOLD {
            edges += 1;
        } else if g > SHADING_MIN && g <= SHADING_MAX {
            shading += 1;
        }
    }
    let edge_density = edges as f32 / n;
    let corner_density = harris_corners(&gx, &gy, aw, ah) as f32 / n;
    Features {
        width: image.width(),
        height: image.height(),
        unique_colors,
        color_entropy,
        edge_density,
        gradient_strength: shading as f32 / n,
        corner_density,
        transparency,
        complexity: Features::complexity(
            edge_density,
            color_entropy,
            unique_colors,
            corner_density,
        ),
    }
}

/// Size of the analysis view: long side at most [`ANALYSIS_SIZE`], aspect kept, at least 1.
pub fn analysis_size(width: u32, height: u32) -> (usize, usize) {
    let long = width.max(height);
    if long <= ANALYSIS_SIZE {
        return (width as usize, height as usize);
    }
    let s = ANALYSIS_SIZE as f64 / long as f64;
    let w = libm::round(width as f64 * s).max(1.0) as usize;
    let h = libm::round(height as f64 * s).max(1.0) as usize;
    (w, h)
}

fn colour_stats(image: &ImageRef<'_>) -> (u32, f32, f32) {
    let bins = 1usize << (3 * COLOR_QUANT_BITS);
    let shift = 8 - COLOR_QUANT_BITS;
    let mut hist = vec![0u32; bins];
    let mut translucent = 0u64;
    for px in image.data().chunks_exact(4) {
        if px[3] < 255 {
            translucent += 1;
        }
        let [r, g, b] = over_white(px).map(|c| (libm::roundf(c) as u32).min(255) >> shift);
        hist[((r << (2 * COLOR_QUANT_BITS)) | (g << COLOR_QUANT_BITS) | b) as usize] += 1;
    }
    let total = (image.data().len() / 4) as f64;
    let mut unique = 0u32;
    let mut entropy = 0.0f64;
    for &count in hist.iter().filter(|&&c| c > 0) {
        unique += 1;
        let p = count as f64 / total;
        entropy -= p * libm::log2(p);
    }
    (
        unique,
        entropy.max(0.0) as f32,
        (translucent as f64 / total) as f32,
    )
}

fn analysis_luma(image: &ImageRef<'_>, aw: usize, ah: usize) -> Vec<f32> {
    let mut luma = vec![0.0f32; aw * ah];
    let frame = Frame {
        out_w: aw,
        out_h: ah,
        padded_w: image.width() as usize,
        padded_h: image.height() as usize,
        offset_x: 0,
        offset_y: 0,
    };
    resample_area(image, frame, |x, y, [r, g, b]| {
        luma[y * aw + x] = (0.299 * r + 0.587 * g + 0.114 * b) / 255.0;
    });
    luma
}

/// 3x3 Sobel gradients divided by 4, borders replicated.
fn sobel(l: &[f32], w: usize, h: usize) -> (Vec<f32>, Vec<f32>) {
    let at = |x: isize, y: isize| {
        let x = x.clamp(0, w as isize - 1) as usize;
        let y = y.clamp(0, h as isize - 1) as usize;
        l[y * w + x]
    };
    let mut gx = vec![0.0f32; w * h];
    let mut gy = vec![0.0f32; w * h];
    for y in 0..h as isize {
        for x in 0..w as isize {
            let i = y as usize * w + x as usize;
            gx[i] = ((at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1))
                - (at(x - 1, y - 1) + 2.0 * at(x - 1, y) + at(x - 1, y + 1)))
                / 4.0;
            gy[i] = ((at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1))
                - (at(x - 1, y - 1) + 2.0 * at(x, y - 1) + at(x + 1, y - 1)))
                / 4.0;
        }
    }
    (gx, gy)
}

/// Harris corners: pixels whose response exceeds [`CORNER_THRESHOLD`] and is a 3x3 local maximum.
fn harris_corners(gx: &[f32], gy: &[f32], w: usize, h: usize) -> usize {
    if w < 3 || h < 3 {
        return 0;
    }
    let mut r = vec![0.0f32; w * h];
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let (mut sxx, mut syy, mut sxy) = (0.0f32, 0.0f32, 0.0f32);
            for dy in 0..3 {
                for dx in 0..3 {
                    let i = (y + dy - 1) * w + (x + dx - 1);
                    sxx += gx[i] * gx[i];
                    syy += gy[i] * gy[i];
                    sxy += gx[i] * gy[i];
                }
            }
            let tr = sxx + syy;
            r[y * w + x] = sxx * syy - sxy * sxy - HARRIS_K * tr * tr;
        }
    }
    let mut corners = 0;
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let v = r[y * w + x];
            if v <= CORNER_THRESHOLD {
                continue;
            }
            let mut is_max = true;
            'n: for dy in 0..3 {
                for dx in 0..3 {
                    let j = (y + dy - 1) * w + (x + dx - 1);
                    // Ties broken by position so a plateau counts once.
                    if j != y * w + x && (r[j] > v || (r[j] == v && j < y * w + x)) {
                        is_max = false;
                        break 'n;
                    }
                }
            }
            corners += usize::from(is_max);
        }
    }
    corners
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_features_are_log_scaled() {
        assert_eq!(size_features(1024, 64), [1.0, 0.6]);
        assert_eq!(size_features(0, 1), [0.0, 0.0]);
    }

    #[test]
    fn image_stats_are_size_then_the_feature_vector() {
        let rgba = [10u8, 20, 30, 255].repeat(8 * 4);
        let f = crate::features::compute(&crate::image::ImageRef::new(&rgba, 8, 4).unwrap());
        let s = image_stats(&f);
        assert_eq!(s[..SIZE_FEATURES], size_features(8, 4));
        assert_eq!(s[SIZE_FEATURES..], f.vector());
        assert_eq!(f.vector()[..3], [3.0, 2.0, 0.0]); // log2 8, log2 4, log2 of one colour
    }

    fn draw(w: u32, h: u32, mut f: impl FnMut(u32, u32) -> [u8; 4]) -> Vec<u8> {
        let mut px = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                px.extend_from_slice(&f(x, y));
            }
        }
        px
    }

    fn feats(w: u32, h: u32, f: impl FnMut(u32, u32) -> [u8; 4]) -> Features {
        let px = draw(w, h, f);
        compute(&ImageRef::new(&px, w, h).unwrap())
    }

    #[test]
    fn square_has_four_corners_and_edges() {
        let f = feats(128, 128, |x, y| {
            if (32..96).contains(&x) && (32..96).contains(&y) {
                [0, 0, 200, 255]
            } else {
                [255, 255, 255, 255]
            }
        });
        assert_eq!(f.unique_colors, 2);
        assert!(
            (f.color_entropy - 0.811).abs() < 0.01,
            "{}",
            f.color_entropy
        ); // p = 1/4
        assert_eq!((f.corner_density * 128.0 * 128.0).round() as i32, 4);
        assert!(
            f.edge_density > 0.01 && f.edge_density < 0.05,
            "{}",
            f.edge_density
        );
        assert_eq!(f.gradient_strength, 0.0);
        assert_eq!(f.transparency, 0.0);
    }

    #[test]
    fn disc_has_no_corners() {
        let f = feats(200, 200, |x, y| {
            let (dx, dy) = (x as f32 - 100.0, y as f32 - 100.0);
            if dx * dx + dy * dy < 70.0 * 70.0 {
                [220, 30, 30, 255]
            } else {
                [255, 255, 255, 255]
            }
        });
        assert_eq!(f.corner_density, 0.0);
        assert!(f.edge_density > 0.0);
    }

    #[test]
    fn gradient_is_shading_not_edges() {
        let f = feats(256, 64, |x, _| {
            let v = x as u8;
            [v, 255 - v, 128, 255]
        });
        assert!(f.gradient_strength > 0.9, "{}", f.gradient_strength);
        assert_eq!(f.edge_density, 0.0);
        assert!(f.unique_colors >= 32);
        let flat = feats(256, 64, |_, _| [10, 10, 10, 255]);
        assert_eq!(flat.gradient_strength, 0.0);
        assert!(f.complexity > flat.complexity);
    }

    #[test]
    fn transparency_and_size() {
        let f = feats(300, 100, |x, _| [0, 0, 0, if x < 150 { 0 } else { 255 }]);
        assert_eq!((f.width, f.height), (300, 100));
        assert!((f.transparency - 0.5).abs() < 1e-6);
        assert_eq!(f.unique_colors, 2);
        assert_eq!(analysis_size(300, 100), (256, 85));
        assert_eq!(analysis_size(10, 1000), (3, 256));
        assert_eq!(analysis_size(1, 1), (1, 1));
    }

    #[test]
    fn noise_is_complex() {
        let mut s = 0x9e3779b97f4a7c15u64;
        let f = feats(128, 128, |_, _| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let b = (s >> 33) as u32;
            [b as u8, (b >> 8) as u8, (b >> 16) as u8, 255]
        });
        assert!(f.complexity > 0.8, "{}", f.complexity);
        assert!(f.color_entropy > 12.0);
    }

    #[test]
    fn tiny_images_do_not_fail() {
        for (w, h) in [(1, 1), (1, 5), (2, 2), (3, 1)] {
            let f = feats(w, h, |_, _| [1, 2, 3, 255]);
            assert_eq!(f.corner_density, 0.0);
            assert!(f.complexity.is_finite());
        }
    }
}
