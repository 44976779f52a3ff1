//! Calibrating the core's heuristic ([`vectune_core::heuristic`]) against ground truth: its
//! formula stays, its [`Coefficients`] are fitted to measured labels of the train split by a
//! bounded pattern search (coordinate steps that halve when nothing improves), minimising squared
//! error. Coefficients stay non-negative, so the heuristic keeps the directions VTracer shows.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use vectune_core::features::{self, Features};
use vectune_core::heuristic::{self, Coefficients};
use vectune_core::image::ImageRef;

use crate::TruthError;
use crate::dataset::LabelRow;
use crate::error::MeasureError;
use crate::metrics::{Metrics, Scored, metrics};

/// Computes the features of each distinct image of `rows` from `images_dir/<id>.png`.
pub fn image_features(
    rows: &[LabelRow],
    images_dir: &Path,
) -> Result<BTreeMap<String, Features>, TruthError> {
    let mut ids: Vec<&str> = rows.iter().map(|r| r.image_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.par_iter()
        .map(|id| {
            let path = images_dir.join(format!("{id}.png"));
            let img = image::open(&path)
                .map_err(|e| TruthError::File {
                    path: path.clone(),
                    reason: e.to_string(),
                })?
                .into_rgba8();
            let (w, h) = img.dimensions();
            let view = ImageRef::new(img.as_raw(), w, h).map_err(|source| MeasureError::Image {
                item: id.to_string(),
                source,
            })?;
            Ok((id.to_string(), features::compute(&view)))
        })
        .collect()
}

/// One row prepared for fast re-evaluation.
struct Prepared<'a> {
    row: &'a LabelRow,
    features: Features,
    params: vectune_core::params::Params,
}

fn prepare<'a>(rows: &'a [LabelRow], features: &BTreeMap<String, Features>) -> Vec<Prepared<'a>> {
    rows.iter()
        .filter_map(|row| {
            Some(Prepared {
                row,
                features: *features.get(&row.image_id)?,
                params: row.params().ok()?,
            })
        })
        .collect()
}

/// The heuristic's predictions for `rows` (rows whose image has no features are skipped).
pub fn predict<'a>(
    rows: &'a [LabelRow],
    features: &BTreeMap<String, Features>,
    c: &Coefficients,
) -> Vec<Scored<'a>> {
    prepare(rows, features)
        .iter()
        .map(|p| Scored {
            image_id: &p.row.image_id,
            label: p.row.ssim,
            predicted: f64::from(heuristic::estimate_with(&p.features, &p.params, c)),
        })
        .collect()
}

/// [`metrics`] of the heuristic with coefficients `c` on `rows`.
pub fn evaluate(
    rows: &[LabelRow],
    features: &BTreeMap<String, Features>,
    c: &Coefficients,
) -> Metrics {
    metrics(&predict(rows, features, c))
}

fn get(c: &Coefficients) -> [f32; 9] {
    [
        c.base,
        c.color,
        c.splice,
        c.corner,
        c.layer,
        c.speckle,
        c.iterations,
        c.path,
        c.length,
    ]
}

fn set(v: [f32; 9]) -> Coefficients {
    Coefficients {
        base: v[0],
        color: v[1],
        splice: v[2],
        corner: v[3],
        layer: v[4],
        speckle: v[5],
        iterations: v[6],
        path: v[7],
        length: v[8],
    }
}

/// Fits the coefficients to `rows` (use the train split only), starting from `start`.
pub fn fit(
    rows: &[LabelRow],
    features: &BTreeMap<String, Features>,
    start: Coefficients,
) -> Coefficients {
    let prepared = prepare(rows, features);
    let loss = |c: &Coefficients| -> f64 {
        prepared
            .par_iter()
            .map(|p| {
                let q = f64::from(heuristic::estimate_with(&p.features, &p.params, c));
                (q - p.row.ssim).powi(2)
            })
            .sum()
    };
    let mut best = get(&start);
    let mut best_loss = loss(&start);
    let mut steps: Vec<f32> = best.iter().map(|v| (v * 0.5).max(0.01)).collect();
    for _round in 0..40 {
        let mut improved = false;
        for i in 0..best.len() {
            for dir in [1.0f32, -1.0] {
                let mut v = best;
                v[i] = (v[i] + dir * steps[i]).max(0.0);
                let l = loss(&set(v));
                if l < best_loss {
                    best = v;
                    best_loss = l;
                    improved = true;
                    break;
                }
            }
        }
        if !improved {
            steps.iter_mut().for_each(|s| *s *= 0.5);
            if steps.iter().all(|&s| s < 1e-4) {
                break;
            }
        }
    }
    set(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vectune_core::params::{ParamId, Params};

    fn row(id: &str, p: &Params, ssim: f64) -> LabelRow {
        LabelRow::for_test(id, p, ssim)
    }

    #[test]
    fn fit_recovers_coefficients_that_generated_the_labels() {
        let truth = Coefficients {
            base: 0.25,
            color: 0.5,
            splice: 0.02,
            ..Coefficients::default()
        };
        let mut features = BTreeMap::new();
        let mut rows = Vec::new();
        for (i, complexity) in [0.1f32, 0.4, 0.8].into_iter().enumerate() {
            let id = format!("img{i}");
            let f = Features {
                width: 100,
                height: 100,
                unique_colors: 40,
                color_entropy: 3.0,
                edge_density: 0.05,
                gradient_strength: 0.1,
                corner_density: 0.001,
                transparency: 0.0,
                complexity,
            };
            features.insert(id.clone(), f);
            for cp in 1..=8 {
                for st in [0.0, 90.0, 180.0] {
                    let p = Params::default()
                        .with(ParamId::ColorPrecision, f64::from(cp))
                        .and_then(|p| p.with(ParamId::SpliceThreshold, st))
                        .unwrap();
                    let y = f64::from(heuristic::estimate_with(&f, &p, &truth));
                    rows.push(row(&id, &p, y));
                }
            }
        }
        let start = Coefficients::default();
        let before = evaluate(&rows, &features, &start);
        let fitted = fit(&rows, &features, start);
        let after = evaluate(&rows, &features, &fitted);
        assert!(after.mae < before.mae / 5.0, "{before:?} -> {after:?}");
        assert!((fitted.color - truth.color).abs() < 0.05, "{fitted:?}");
        assert!(get(&fitted).iter().all(|&c| c >= 0.0));
    }
}
