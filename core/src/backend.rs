//! The one interface every inference runtime implements: ONNX Runtime, libtorch and tract on the
//! server, tract in the browser. Tensors cross it as flat `f32` slices in the layouts the core
//! assembles ([`crate::batch`]): images `[N, 3, 224, 224]` (CHW, [`crate::preprocess`]), original
//! sizes `[N, 2]` ([`crate::preprocess::size_features`]), parameters `[N, 8]`
//! ([`crate::params::Params::encode`]), embeddings `[N, D]`.
//!
//! A backend must be `Send + Sync`: one instance serves many threads at once. Errors are
//! [`BackendError`]s; bindings convert them at their edge (HTTP status, `JsError`, CLI message).
//!
//! ```
//! use vectune_core::backend::{Backend, BackendError, Batch};
//!
//! fn first_score(backend: &dyn Backend, images: &[f32], stats: &[f32], params: &[f32]) -> Result<f32, BackendError> {
//!     let batch = Batch::new(images, stats, params)?;
//!     Ok(backend.predict_quality(batch)?[0])
//! }
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::params::PARAM_COUNT;
use crate::preprocess::{IMAGE_STATS, TENSOR_LEN};

/// Why a backend could not run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendError {
    /// Tensor lengths that do not describe one batch.
    Shape(String),
    /// This backend has no model for the task (e.g. no classifier loaded).
    Unsupported {
        /// The backend.
        backend: String,
        /// The task asked for.
        task: &'static str,
    },
    /// The runtime failed (message from ONNX Runtime, libtorch, tract).
    Runtime(String),
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Shape(s) => write!(f, "bad tensor shape: {s}"),
            BackendError::Unsupported { backend, task } => {
                write!(
                    f,
                    "backend `{backend}` cannot run `{task}`: no model loaded for it"
                )
            }
            BackendError::Runtime(s) => write!(f, "inference failed: {s}"),
        }
    }
}

impl core::error::Error for BackendError {}

/// One batch of images with their statistics and one parameter set each, shape-checked.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    images: &'a [f32],
    stats: &'a [f32],
    params: &'a [f32],
    len: usize,
}

impl<'a> Batch<'a> {
    /// `images` must be `N * 3*224*224` long, `stats` `N * 11` and `params` `N * 8`, with the
    /// same `N >= 1`.
    pub fn new(
        images: &'a [f32],
        stats: &'a [f32],
        params: &'a [f32],
    ) -> Result<Batch<'a>, BackendError> {
        let n = image_count(images)?;
        check_stats(n, stats)?;
        if params.len() != n * PARAM_COUNT {
            return Err(BackendError::Shape(alloc::format!(
                "{n} images need {} parameter values, got {}",
                n * PARAM_COUNT,
                params.len()
            )));
        }
        Ok(Batch {
            images,
            stats,
            params,
            len: n,
        })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a batch holds at least one item.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// `[N, 3, 224, 224]` image tensor.
    pub fn images(&self) -> &'a [f32] {
        self.images
    }

    /// `[N, 11]` image statistics.
    pub fn stats(&self) -> &'a [f32] {
        self.stats
    }

    /// `[N, 8]` parameter tensor.
    pub fn params(&self) -> &'a [f32] {
        self.params
    }
}

/// Checks that `stats` holds [`IMAGE_STATS`] values for each of `n` images.
pub fn check_stats(n: usize, stats: &[f32]) -> Result<(), BackendError> {
    if stats.len() != n * IMAGE_STATS {
        return Err(BackendError::Shape(alloc::format!(
            "{n} images need {} image statistics, got {}",
            n * IMAGE_STATS,
            stats.len()
        )));
    }
    Ok(())
}

/// The first `k` statistics of each image (`[N, 11]` -> `[N, k]`), what a model whose side input
/// is `k` wide reads ([`crate::manifest::ModelEntry::stats_input`]).
pub fn stats_prefix(stats: &[f32], k: usize) -> Vec<f32> {
    stats
        .chunks_exact(IMAGE_STATS)
        .flat_map(|row| &row[..k.min(IMAGE_STATS)])
        .copied()
        .collect()
}

/// Number of whole images in a flat image tensor, or a shape error.
pub fn image_count(images: &[f32]) -> Result<usize, BackendError> {
    if images.is_empty() || !images.len().is_multiple_of(TENSOR_LEN) {
        return Err(BackendError::Shape(alloc::format!(
            "image tensor of {} floats is not a whole number (>= 1) of 3x224x224 images",
            images.len()
        )));
    }
    Ok(images.len() / TENSOR_LEN)
}

/// Memory a backend holds for its models, as attributed at load time (file and arena sizes, not
/// RSS deltas, which allocators make unreliable).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemoryUsage {
    /// Bytes of model files loaded.
    pub model_bytes: u64,
    /// Bytes the runtime reports or is known to reserve beyond the files.
    pub runtime_bytes: u64,
}

/// An inference runtime with vectune's models loaded.
pub trait Backend: Send + Sync {
    /// Short name (`ort`, `tract`, `torch`, `tract-wasm`).
    fn name(&self) -> &str;

    /// The combined quality model: one SSIM in `[0, 1]` per item.
    fn predict_quality(&self, batch: Batch<'_>) -> Result<Vec<f32>, BackendError>;

    /// The split form's encoder: `[N, D]` embeddings for `[N, 3, 224, 224]` images and their
    /// `[N, 11]` statistics ([`crate::preprocess::image_stats`]), row-major.
    fn encode_images(&self, images: &[f32], stats: &[f32]) -> Result<Vec<f32>, BackendError>;

    /// Width `D` of the encoder's embedding.
    fn embedding_dim(&self) -> usize;

    /// The split form's head: one SSIM per row of `embeddings` (`[N, D]`) and `params` (`[N, 8]`).
    fn predict_head(&self, embeddings: &[f32], params: &[f32]) -> Result<Vec<f32>, BackendError>;

    /// The classifier: `[N, classes]` logits, row-major, in [`crate::manifest::LOGO_CLASSES`] order.
    fn classify(&self, images: &[f32]) -> Result<Vec<f32>, BackendError>;

    /// Memory attributed to this backend's models.
    fn memory(&self) -> MemoryUsage;
}

/// Softmax of one row of logits (numerically stable); empty in, empty out.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&l| libm::expf(l - max)).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn batch_shapes_are_checked() {
        let img = vec![0.0; 2 * TENSOR_LEN];
        let par = vec![0.0; 16];
        let sz = vec![0.5; 2 * IMAGE_STATS];
        let b = Batch::new(&img, &sz, &par).unwrap();
        assert_eq!(b.len(), 2);
        assert!(matches!(
            Batch::new(&img, &sz[..IMAGE_STATS], &par),
            Err(BackendError::Shape(_))
        ));
        assert!(matches!(
            Batch::new(&img, &sz, &par[..8]),
            Err(BackendError::Shape(_))
        ));
        assert!(matches!(
            Batch::new(&img[..10], &sz, &par),
            Err(BackendError::Shape(_))
        ));
        assert!(matches!(
            Batch::new(&[], &[], &[]),
            Err(BackendError::Shape(_))
        ));
        assert_eq!(image_count(&img), Ok(2));
        assert!(image_count(&img[1..]).is_err());
    }

    #[test]
    fn models_read_a_prefix_of_the_statistics() {
        let stats: Vec<f32> = (0..2 * IMAGE_STATS).map(|i| i as f32).collect();
        let k = IMAGE_STATS as f32;
        assert_eq!(stats_prefix(&stats, 2), vec![0.0, 1.0, k, k + 1.0]);
        assert_eq!(stats_prefix(&stats, IMAGE_STATS), stats);
    }

    #[test]
    fn softmax_is_a_distribution() {
        let p = softmax(&[1.0, 2.0, 3.0, 1000.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[3] > 0.99);
        assert!(softmax(&[]).is_empty());
    }
}
