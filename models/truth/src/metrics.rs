//! Accuracy figures for quality predictions against measured labels, the same for the models, the
//! heuristic and baselines: MAE, R², and the median within-image Spearman rank correlation across
//! parameter sets (ranking parameter sets correctly is what the suggester needs).

use std::collections::BTreeMap;

use serde::Serialize;

/// One prediction beside its label.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored<'a> {
    /// The image the label belongs to.
    pub image_id: &'a str,
    /// Measured SSIM.
    pub label: f64,
    /// Predicted SSIM.
    pub predicted: f64,
}

/// The figures.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Metrics {
    /// Labels scored.
    pub n: usize,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination, `1 - SS_res / SS_tot`.
    pub r2: f64,
    /// Median over images (with at least 3 labels) of the Spearman correlation between predicted
    /// and measured SSIM across that image's parameter sets; images whose labels or predictions are
    /// all equal are skipped (their ranking is undefined).
    pub median_within_image_spearman: f64,
    /// Images that entered the median.
    pub images_ranked: usize,
}

/// Average ranks (ties share the mean rank), 0-based.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut r = vec![0.0; values.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && values[idx[j + 1]] == values[idx[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0;
        for &k in &idx[i..=j] {
            r[k] = mean;
        }
        i = j + 1;
    }
    r
}

fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

/// Spearman rank correlation (Pearson on average ranks); `None` if either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    pearson(&ranks(a), &ranks(b))
}

/// Computes [`Metrics`].
pub fn metrics(scored: &[Scored<'_>]) -> Metrics {
    let n = scored.len();
    let mean = scored.iter().map(|s| s.label).sum::<f64>() / n.max(1) as f64;
    let mae = scored
        .iter()
        .map(|s| (s.label - s.predicted).abs())
        .sum::<f64>()
        / n.max(1) as f64;
    let ss_res: f64 = scored.iter().map(|s| (s.label - s.predicted).powi(2)).sum();
    let ss_tot: f64 = scored.iter().map(|s| (s.label - mean).powi(2)).sum();
    let mut by_image: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for s in scored {
        let e = by_image.entry(s.image_id).or_default();
        e.0.push(s.label);
        e.1.push(s.predicted);
    }
    let mut rhos: Vec<f64> = by_image
        .values()
        .filter(|(l, _)| l.len() >= 3)
        .filter_map(|(l, p)| spearman(l, p))
        .collect();
    let images_ranked = rhos.len();
    let median = if rhos.is_empty() {
        f64::NAN
    } else {
        crate::dataset::quantiles(&mut rhos).p50
    };
    Metrics {
        n,
        mae,
        r2: if ss_tot > 0.0 {
            1.0 - ss_res / ss_tot
        } else {
            f64::NAN
        },
        median_within_image_spearman: median,
        images_ranked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_handle_ties() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), [2.5, 0.0, 2.5, 1.0]);
    }

    #[test]
    fn spearman_basics() {
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 35.0]), Some(1.0));
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[3.0, 2.0, 1.0]), None);
    }

    #[test]
    fn metrics_of_perfect_and_mean_predictions() {
        let rows: Vec<Scored> = (0..6)
            .map(|i| Scored {
                image_id: if i < 3 { "a" } else { "b" },
                label: i as f64 / 10.0,
                predicted: i as f64 / 10.0,
            })
            .collect();
        let m = metrics(&rows);
        assert_eq!(
            (m.n, m.mae, m.r2, m.median_within_image_spearman),
            (6, 0.0, 1.0, 1.0)
        );
        assert_eq!(m.images_ranked, 2);
        let mean: Vec<Scored> = rows
            .iter()
            .map(|s| Scored {
                predicted: 0.25,
                ..s.clone()
            })
            .collect();
        let m = metrics(&mean);
        assert!(m.r2.abs() < 1e-12);
        assert_eq!(m.images_ranked, 0, "constant predictions rank nothing");
    }
}
