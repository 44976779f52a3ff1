//! A fallback quality estimate (predicted SSIM in `[0, 1]`) from image [`Features`] and
//! [`Params`], used when no model can run. Cheap, transparent, and shaped after VTracer's measured
//! behaviour: a one-parameter-at-a-time sweep over 40 real and synthetic logos at 256 px
//! (VTracer 0.6.15, resvg, Gaussian SSIM on luma; median SSIM at VTracer's defaults 0.958;
//! `models/tools/param_sweep/` has the study and its tables). What it showed, and what the terms encode:
//!
//! | parameter | measured median SSIM along its range | term |
//! |---|---|---|
//! | `color_precision` | 1: 0.69, 2: 0.75, 3-8: 0.957-0.958 (collapse to 1-3 colours below 3) | [`COLOR_LOSS`] table, all images |
//! | `splice_threshold` | flat to 60 (0.958), 90: 0.949, 135: 0.906, 180: 0.893 | `((st-60)/120)^1.3`, more on detailed/shaded images |
//! | `corner_threshold` | 0: 0.940, 30-60: 0.956-0.958, 120-180: 0.935 | valley at 30-60, rising both ways |
//! | `layer_difference` | flat to 128 (0.956), 255: 0.925; gradients lose most | `((ld-32)/223)^3`, scaled by shading |
//! | `filter_speckle` | 0: 0.962, 1-8: 0.958, 16: 0.954; worst single image -0.15 | linear, scaled by detail |
//! | `max_iterations` | 1: 0.951, 2: 0.953, 5 and above: 0.958 | loss below 5 only |
//! | `path_precision` | 0: 0.953, 1-8: 0.958 | loss at 0 only |
//! | `length_threshold` | 0.954-0.960, no consistent direction | a small linear term |
//!
//! **Against ground truth** (`vectune-dataset heuristic`, on the committed evaluation set
//! `models/data/eval`: 320 real logos of the test split x 8 parameter sets): MAE 0.092, R² 0.29,
//! median within-image Spearman 0.80. Least-squares fitting of the coefficients on 24,950 train labels
//! raised R² to 0.46 but lowered the within-image Spearman to 0.79 and worsened MAE to 0.095, so the
//! defaults below stay the sweep's values; `vectune-dataset heuristic --fit` refits them.
//!
//! The estimate is `clamp(1 - base·complexity - Σ penalties, 0, 1)`, each penalty being
//! `coefficient × image-sensitivity × shape(parameter)`. The coefficients live in
//! [`Coefficients`], so calibration against ground truth can replace them without changing the
//! formula.
//!
//! ```
//! use vectune_core::{features::Features, heuristic, params::{ParamId, Params}};
//!
//! let f = Features { width: 256, height: 256, unique_colors: 900, color_entropy: 6.0,
//!     edge_density: 0.1, gradient_strength: 0.3, corner_density: 0.001, transparency: 0.0,
//!     complexity: 0.6 };
//! let low = Params::default().with(ParamId::ColorPrecision, 2.0)?;
//! let high = Params::default().with(ParamId::ColorPrecision, 8.0)?;
//! assert!(heuristic::estimate(&f, &high) > heuristic::estimate(&f, &low));
//! # Ok::<(), vectune_core::params::ParamError>(())
//! ```

use crate::features::Features;
use crate::params::Params;

/// Relative loss by `color_precision` (index `cp - 1`): the sweep's drop from 0.958 to 0.69 at 1
/// and 0.75 at 2, and a residual slope from 3 to 8 seen on synthetic images.
pub const COLOR_LOSS: [f32; 8] = [1.0, 0.75, 0.04, 0.03, 0.02, 0.015, 0.01, 0.0];

/// Weights of the heuristic's terms. `Default` holds values read off the sweep (each is the
/// median loss at the worst end of its range on a fully sensitive image); calibration against
/// ground truth replaces them.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Coefficients {
    /// Loss at complexity 1 with the best parameters (complex images never vectorize perfectly).
    pub base: f32,
    /// Loss at `color_precision` 1, times [`COLOR_LOSS`].
    pub color: f32,
    /// Loss at `splice_threshold` 180.
    pub splice: f32,
    /// Loss at `corner_threshold` 180 (and 0.8 of it at 0).
    pub corner: f32,
    /// Loss at `layer_difference` 255 on a fully shaded image.
    pub layer: f32,
    /// Loss at `filter_speckle` 16 on a detailed image.
    pub speckle: f32,
    /// Loss at `max_iterations` 1.
    pub iterations: f32,
    /// Loss at `path_precision` 0.
    pub path: f32,
    /// Loss at `length_threshold` 10.
    pub length: f32,
}

impl Default for Coefficients {
    fn default() -> Self {
        Coefficients {
            base: 0.10,
            color: 0.30,
            splice: 0.07,
            corner: 0.03,
            layer: 0.09,
            speckle: 0.03,
            iterations: 0.008,
            path: 0.006,
            length: 0.004,
        }
    }
}

/// Per-image sensitivities in `[0, 1]`: how much each kind of parameter can hurt this image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sensitivity {
    /// Colour richness: `min(1, log2(unique)/10 + gradient_strength)`.
    pub colour: f32,
    /// Shading: `gradient_strength`.
    pub shading: f32,
    /// Fine detail: `min(1, edge_density/0.15)`.
    pub detail: f32,
    /// Corner richness: `min(1, corner_density/0.002)`.
    pub corners: f32,
}

impl Sensitivity {
    /// Derives the sensitivities from features.
    pub fn of(f: &Features) -> Sensitivity {
        let colours = libm::log2f(f.unique_colors.max(1) as f32) / 10.0;
        Sensitivity {
            colour: (colours + f.gradient_strength).clamp(0.0, 1.0),
            shading: f.gradient_strength.clamp(0.0, 1.0),
            detail: (f.edge_density / 0.15).clamp(0.0, 1.0),
            corners: (f.corner_density / 0.002).clamp(0.0, 1.0),
        }
    }
}

/// Shape of the `corner_threshold` loss: 0 on the measured optimum 30-60 degrees, rising to 0.8
/// at 0 degrees and to 1 from 120 degrees.
pub fn corner_shape(degrees: f32) -> f32 {
    if degrees < 30.0 {
        0.8 * (30.0 - degrees) / 30.0
    } else if degrees <= 60.0 {
        0.0
    } else {
        ((degrees - 60.0) / 60.0).min(1.0)
    }
}

/// Estimated SSIM with the default [`Coefficients`].
pub fn estimate(features: &Features, params: &Params) -> f32 {
    estimate_with(features, params, &Coefficients::default())
}

/// Estimated SSIM with the given coefficients; always in `[0, 1]`.
pub fn estimate_with(features: &Features, params: &Params, c: &Coefficients) -> f32 {
    let s = Sensitivity::of(features);
    let cp = params.color_precision().clamp(1, 8) as usize;
    let splice = ((params.splice_threshold() as f32 - 60.0) / 120.0).max(0.0);
    let layer = ((params.layer_difference() as f32 - 32.0) / 223.0).max(0.0);
    let iterations = params.max_iterations().min(5) as f32;
    let penalty = c.color * (0.6 + 0.4 * s.colour) * COLOR_LOSS[cp - 1]
        + c.splice * (0.6 + 0.4 * s.detail.max(s.shading)) * libm::powf(splice, 1.3)
        + c.corner * (0.5 + 0.5 * s.corners) * corner_shape(params.corner_threshold() as f32)
        + c.layer * (0.3 + 0.7 * s.shading) * layer * layer * layer
        + c.speckle * (0.2 + 0.8 * s.detail) * params.filter_speckle() as f32 / 16.0
        + c.iterations * (5.0 - iterations) / 4.0
        + c.path * (0.5 + 0.5 * s.detail) * (1.0 - params.path_precision().min(1) as f32)
        + c.length * (params.length_threshold() as f32 - 3.5) / 6.5;
    let q = 1.0 - c.base * features.complexity.clamp(0.0, 1.0) - penalty;
    if q.is_finite() {
        q.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{PARAM_COUNT, ParamId, SCHEMA};
    use proptest::prelude::*;

    fn arb_features() -> impl Strategy<Value = Features> {
        (
            1u32..40_000,
            0.0f32..15.0,
            0.0f32..1.0,
            0.0f32..1.0,
            0.0f32..0.05,
            0.0f32..1.0,
        )
            .prop_map(|(u, e, ed, g, c, cx)| Features {
                width: 256,
                height: 256,
                unique_colors: u,
                color_entropy: e,
                edge_density: ed,
                gradient_strength: g,
                corner_density: c,
                transparency: 0.0,
                complexity: cx,
            })
    }

    fn arb_encoded() -> impl Strategy<Value = [f32; PARAM_COUNT]> {
        proptest::array::uniform8(0.0f32..=1.0)
    }

    /// +1: quality must not fall as the parameter grows; -1: must not rise; 0: checked separately
    /// (corner_threshold has a valley at 30-60 degrees).
    const DIRECTION: [i8; PARAM_COUNT] = [1, 0, -1, 1, -1, 1, -1, -1];

    #[test]
    fn direction_table_matches_schema() {
        assert_eq!(SCHEMA[0].name, "color_precision");
        assert_eq!(SCHEMA[7].name, "filter_speckle");
    }

    proptest! {
        #[test]
        fn in_unit_range(f in arb_features(), x in arb_encoded()) {
            let q = estimate(&f, &Params::decode(&x).unwrap());
            prop_assert!((0.0..=1.0).contains(&q));
        }

        #[test]
        fn monotone_in_each_parameter(f in arb_features(), x in arb_encoded(), i in 0usize..PARAM_COUNT, a in 0.0f32..=1.0, b in 0.0f32..=1.0) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let mut xl = x;
            xl[i] = lo;
            let mut xh = x;
            xh[i] = hi;
            let ql = estimate(&f, &Params::decode(&xl).unwrap());
            let qh = estimate(&f, &Params::decode(&xh).unwrap());
            match DIRECTION[i] {
                1 => prop_assert!(qh >= ql, "{} {ql} -> {qh}", SCHEMA[i].name),
                -1 => prop_assert!(qh <= ql, "{} {ql} -> {qh}", SCHEMA[i].name),
                _ => {}
            }
        }
    }

    #[test]
    fn corner_threshold_has_its_measured_valley() {
        let f = Features {
            width: 64,
            height: 64,
            unique_colors: 3,
            color_entropy: 1.0,
            edge_density: 0.05,
            gradient_strength: 0.0,
            corner_density: 0.002,
            transparency: 0.0,
            complexity: 0.2,
        };
        let q = |ct: f64| {
            estimate(
                &f,
                &Params::default()
                    .with(ParamId::CornerThreshold, ct)
                    .unwrap(),
            )
        };
        assert_eq!(q(30.0), q(60.0));
        assert!(q(0.0) < q(45.0) && q(180.0) < q(45.0));
        assert!(q(180.0) < q(90.0));
    }

    #[test]
    fn colour_collapse_dominates() {
        let f = Features {
            width: 64,
            height: 64,
            unique_colors: 2,
            color_entropy: 0.5,
            edge_density: 0.02,
            gradient_strength: 0.0,
            corner_density: 0.0,
            transparency: 0.0,
            complexity: 0.1,
        };
        let q = |cp: f64| {
            estimate(
                &f,
                &Params::default().with(ParamId::ColorPrecision, cp).unwrap(),
            )
        };
        // Even a two-colour logo collapses at color_precision 1 (every sweep image did).
        assert!(q(6.0) - q(1.0) > 0.15);
        assert!(q(6.0) - q(3.0) < 0.02);
    }

    #[test]
    fn parameters_matter_where_the_image_is_sensitive() {
        let flat = Features {
            width: 64,
            height: 64,
            unique_colors: 2,
            color_entropy: 0.8,
            edge_density: 0.02,
            gradient_strength: 0.0,
            corner_density: 0.0005,
            transparency: 0.0,
            complexity: 0.15,
        };
        let rich = Features {
            unique_colors: 3000,
            gradient_strength: 0.6,
            color_entropy: 9.0,
            complexity: 0.6,
            ..flat
        };
        // Gradients lose most when layer_difference merges their layers (the sweep: -0.073 vs ~0).
        let ld16 = Params::default();
        let ld255 = Params::default()
            .with(ParamId::LayerDifference, 255.0)
            .unwrap();
        let drop_flat = estimate(&flat, &ld16) - estimate(&flat, &ld255);
        let drop_rich = estimate(&rich, &ld16) - estimate(&rich, &ld255);
        assert!(drop_rich > 2.0 * drop_flat, "{drop_rich} vs {drop_flat}");
        assert!(estimate(&flat, &Params::default()) > estimate(&rich, &Params::default()));
    }
}
