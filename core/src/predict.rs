//! Running the quality model for one image and many parameter sets, and reading its outputs,
//! the same for every binding (native, browser): the split form encodes the image once and runs
//! only the head per parameter set; the combined model sees the image once per row, in bounded
//! chunks. Outputs are checked (one finite value per set) and clamped to `[0, 1]`; classifier
//! logits become a class index and probabilities. Fallback policy (the heuristic) stays with the
//! callers, which know why a model is missing.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::backend::{Backend, BackendError, Batch, softmax};
use crate::batch::params_tensor;
use crate::manifest::LOGO_CLASSES;
use crate::params::Params;
use crate::preprocess::IMAGE_STATS;

/// Which form of the quality model runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QualityPath {
    /// Encoder once, head per parameter set.
    Split,
    /// The combined model, one row per parameter set.
    Combined,
}

/// Rows per run of the combined model (each row carries a whole image tensor).
pub const COMBINED_CHUNK: usize = 32;

/// Raw model outputs for one preprocessed image (`tensor`, `stats`) and each of `params`.
pub fn quality_for_params(
    backend: &dyn Backend,
    path: QualityPath,
    tensor: &[f32],
    stats: &[f32; IMAGE_STATS],
    params: &[Params],
) -> Result<Vec<f32>, BackendError> {
    match path {
        QualityPath::Split => {
            // One image: its embedding row repeats once per parameter set (the head checks the width).
            let embedding = backend.encode_images(tensor, stats)?;
            backend.predict_head(&embedding.repeat(params.len()), &params_tensor(params))
        }
        QualityPath::Combined => {
            let mut out = Vec::with_capacity(params.len());
            for chunk in params.chunks(COMBINED_CHUNK) {
                let images = tensor.repeat(chunk.len());
                let stats = stats.repeat(chunk.len());
                let p = params_tensor(chunk);
                out.extend(backend.predict_quality(Batch::new(&images, &stats, &p)?)?);
            }
            Ok(out)
        }
    }
}

/// Checks `n` model outputs (one finite value each) and clamps them to `[0, 1]`.
pub fn ssim_values(values: Vec<f32>, n: usize) -> Result<Vec<f32>, String> {
    if values.len() != n {
        return Err(format!(
            "model returned {} values for {n} parameter sets",
            values.len()
        ));
    }
    values
        .into_iter()
        .map(|v| {
            if v.is_finite() {
                Ok(v.clamp(0.0, 1.0))
            } else {
                Err(format!("model returned {v}"))
            }
        })
        .collect()
}

/// Classifier logits -> (index of the most probable class in [`LOGO_CLASSES`], probabilities).
pub fn class_probabilities(logits: &[f32]) -> Result<(usize, Vec<f32>), String> {
    if logits.len() != LOGO_CLASSES.len() || logits.iter().any(|l| !l.is_finite()) {
        return Err(format!(
            "the classifier returned {} values: {logits:?}",
            logits.len()
        ));
    }
    let p = softmax(logits);
    let best = p
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i);
    Ok((best, p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn outputs_are_checked_and_clamped() {
        assert_eq!(
            ssim_values(vec![-0.1, 0.5, 1.2], 3),
            Ok(vec![0.0, 0.5, 1.0])
        );
        assert!(
            ssim_values(vec![0.5], 2)
                .unwrap_err()
                .contains("1 values for 2")
        );
        assert!(ssim_values(vec![f32::NAN], 1).is_err());
    }

    #[test]
    fn logits_become_a_class_and_probabilities() {
        let (best, p) = class_probabilities(&[0.0, 3.0, 1.0, 0.0]).unwrap();
        assert_eq!(LOGO_CLASSES[best], "text_based");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(class_probabilities(&[1.0]).is_err());
        assert!(class_probabilities(&[0.0, f32::INFINITY, 0.0, 0.0]).is_err());
    }
}
