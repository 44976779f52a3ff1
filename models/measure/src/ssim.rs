//! Standard SSIM (Wang, Bovik, Sheikh, Simoncelli 2004) on BT.601 luma, as scikit-image computes it
//! with `structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
//! data_range=255)`:
//!
//! - luma `Y = 0.299 R + 0.587 G + 0.114 B` (not rounded), on images flattened onto white;
//! - local statistics with a normalised Gaussian window, sigma [`SIGMA`], radius
//!   `int(3.5 * sigma + 0.5) = 5` (11x11, scikit-image's `truncate = 3.5`), separable;
//! - `S = ((2 mx my + C1)(2 sxy + C2)) / ((mx² + my² + C1)(sx² + sy² + C2))` with
//!   `C1 = (K1 L)²`, `C2 = (K2 L)²`, `K1` 0.01, `K2` 0.03, `L` 255, population (not sample) covariances;
//! - the mean of `S` over the pixels at least 5 from every border (scikit-image crops the window
//!   radius), so boundary handling never enters the result.
//!
//! Agreement with scikit-image is checked in `tests/ssim_reference.rs` against values computed by
//! `models/truth/tests/ssim_reference.py`.

use crate::MeasureError;

/// Gaussian window standard deviation.
pub const SIGMA: f64 = 1.5;
/// Window radius: `int(3.5 * SIGMA + 0.5)` (scikit-image's default truncate of 3.5).
pub const RADIUS: usize = 5;
/// SSIM constant K1.
pub const K1: f64 = 0.01;
/// SSIM constant K2.
pub const K2: f64 = 0.03;
/// Dynamic range of 8-bit data.
pub const DATA_RANGE: f64 = 255.0;

/// BT.601 luma of RGBA8 pixels composited on white.
pub fn luma(rgba: &[u8]) -> Vec<f64> {
    rgba.chunks_exact(4)
        .map(|px| {
            let [r, g, b] = vectune_core::image::over_white(px).map(f64::from);
            0.299 * r + 0.587 * g + 0.114 * b
        })
        .collect()
}

fn kernel() -> [f64; 2 * RADIUS + 1] {
    let mut k = [0.0; 2 * RADIUS + 1];
    for (i, v) in k.iter_mut().enumerate() {
        let x = i as f64 - RADIUS as f64;
        *v = (-0.5 * x * x / (SIGMA * SIGMA)).exp();
    }
    let sum: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    k
}

/// Gaussian-filters `img` (w x h) and returns only the "valid" region: (w - 2R) x (h - 2R).
fn filter_valid(img: &[f64], w: usize, h: usize, k: &[f64]) -> Vec<f64> {
    let vw = w - 2 * RADIUS;
    let vh = h - 2 * RADIUS;
    // Horizontal pass over all rows, valid columns.
    let mut tmp = vec![0.0; vw * h];
    for y in 0..h {
        let row = &img[y * w..(y + 1) * w];
        for x in 0..vw {
            tmp[y * vw + x] = row[x..x + k.len()].iter().zip(k).map(|(a, b)| a * b).sum();
        }
    }
    // Vertical pass, valid rows.
    let mut out = vec![0.0; vw * vh];
    for y in 0..vh {
        for (j, kv) in k.iter().enumerate() {
            let src = &tmp[(y + j) * vw..(y + j + 1) * vw];
            for (o, s) in out[y * vw..(y + 1) * vw].iter_mut().zip(src) {
                *o += kv * s;
            }
        }
    }
    out
}

/// Mean SSIM of two luma images of equal size (each side at least 11).
pub fn ssim_luma(
    a: &[f64],
    b: &[f64],
    width: u32,
    height: u32,
    item: &str,
) -> Result<f64, MeasureError> {
    let (w, h) = (width as usize, height as usize);
    let err = |reason: String| MeasureError::Ssim {
        item: item.to_string(),
        reason,
    };
    if w < 2 * RADIUS + 1 || h < 2 * RADIUS + 1 {
        return Err(err(format!("{w}x{h} is smaller than the 11x11 window")));
    }
    if a.len() != w * h || b.len() != w * h {
        return Err(err(format!(
            "sizes differ: {} and {} values for {w}x{h}",
            a.len(),
            b.len()
        )));
    }
    let k = kernel();
    let prod = |f: fn(f64, f64) -> f64| a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect::<Vec<_>>();
    let mx = filter_valid(a, w, h, &k);
    let my = filter_valid(b, w, h, &k);
    let mxx = filter_valid(&prod(|x, _| x * x), w, h, &k);
    let myy = filter_valid(&prod(|_, y| y * y), w, h, &k);
    let mxy = filter_valid(&prod(|x, y| x * y), w, h, &k);
    let c1 = (K1 * DATA_RANGE).powi(2);
    let c2 = (K2 * DATA_RANGE).powi(2);
    let mut total = 0.0;
    for i in 0..mx.len() {
        let (ux, uy) = (mx[i], my[i]);
        let vx = mxx[i] - ux * ux;
        let vy = myy[i] - uy * uy;
        let vxy = mxy[i] - ux * uy;
        total +=
            ((2.0 * ux * uy + c1) * (2.0 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
    }
    Ok(total / mx.len() as f64)
}

/// Mean SSIM of two RGBA8 images of equal size, on their luma (composited on white).
pub fn ssim(a: &[u8], b: &[u8], width: u32, height: u32, item: &str) -> Result<f64, MeasureError> {
    ssim_luma(&luma(a), &luma(b), width, height, item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_is_one_and_different_is_less() {
        let a: Vec<u8> = (0..32 * 20)
            .flat_map(|i| [(i % 256) as u8, 30, 200, 255])
            .collect();
        assert!((ssim(&a, &a, 32, 20, "a").unwrap() - 1.0).abs() < 1e-12);
        let mut b = a.clone();
        b[4 * 300] = 0;
        let s = ssim(&a, &b, 32, 20, "a").unwrap();
        assert!(s < 1.0 && s > 0.9);
    }

    #[test]
    fn errors() {
        let a = vec![0u8; 10 * 10 * 4];
        assert!(
            ssim(&a, &a, 10, 10, "tiny")
                .unwrap_err()
                .to_string()
                .contains("tiny")
        );
        let b = vec![0u8; 12 * 12 * 4];
        assert!(ssim(&b, &a, 12, 12, "x").is_err());
    }

    #[test]
    fn kernel_matches_scipy_radius() {
        assert_eq!((3.5 * SIGMA + 0.5) as usize, RADIUS);
        assert!((kernel().iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
