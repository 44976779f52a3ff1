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

/// One named graph input: `(name, shape, data)`, what a backend's runner takes.
pub type Feed<'a> = (&'a str, Vec<usize>, &'a [f32]);

/// Runs a head graph (`run` takes its named inputs) on `embedding` (`rows_e x d` values) and
/// `[rows, 8]` `params`.
fn run_head_graph(
    run: &mut impl FnMut(&[Feed<'_>]) -> Result<Vec<f32>, BackendError>,
    embedding: &[f32],
    d: usize,
    params: &[f32],
) -> Result<Vec<f32>, BackendError> {
    run(&[
        ("embedding", alloc::vec![embedding.len() / d, d], embedding),
        (
            "params",
            alloc::vec![params.len() / PARAM_COUNT, PARAM_COUNT],
            params,
        ),
    ])
}

/// Runs a split-form head on `[N, d]` `embeddings` and `[N, 8]` `params` through `run` (the
/// graph's named inputs). A head that takes one embedding row for all its parameter sets
/// (`shares`: [`crate::manifest::ModelEntry::shares_embedding`]) runs once per run of equal
/// consecutive rows (one image's parameter sets, as the core lays them out); any other head runs
/// once on all rows.
pub fn run_head(
    embeddings: &[f32],
    params: &[f32],
    d: usize,
    shares: bool,
    mut run: impl FnMut(&[Feed<'_>]) -> Result<Vec<f32>, BackendError>,
) -> Result<Vec<f32>, BackendError> {
    let d = d.max(1);
    let n = head_rows(embeddings, params, d, false)?;
    if !shares {
        return run_head_graph(&mut run, embeddings, d, params);
    }
    let row = |i: usize| &embeddings[i * d..(i + 1) * d];
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && row(end) == row(start) {
            end += 1;
        }
        out.extend(run_head_graph(
            &mut run,
            row(start),
            d,
            &params[start * PARAM_COUNT..end * PARAM_COUNT],
        )?);
        start = end;
    }
    Ok(out)
}

/// [`Backend::predict_head_one`] through the same `run` as [`run_head`]: one image's `[d]`
/// embedding once (`shares`) or repeated per parameter set, with `[N, 8]` `params`.
pub fn run_head_one(
    embedding: &[f32],
    params: &[f32],
    d: usize,
    shares: bool,
    mut run: impl FnMut(&[Feed<'_>]) -> Result<Vec<f32>, BackendError>,
) -> Result<Vec<f32>, BackendError> {
    let n = head_one_rows(embedding, params, d)?;
    let d = d.max(1);
    if shares {
        run_head_graph(&mut run, embedding, d, params)
    } else {
        run_head_graph(&mut run, &embedding.repeat(n), d, params)
    }
}

/// Checks one image's `[d]` embedding and `[N, 8]` parameters for
/// [`Backend::predict_head_one`]; returns N.
pub fn head_one_rows(embedding: &[f32], params: &[f32], d: usize) -> Result<usize, BackendError> {
    head_rows(embedding, params, d.max(1), true)
}

/// Checks a head's `[N, 8]` `params` with `[N, d]` embeddings, or (`one`) one `[d]` row; returns N.
fn head_rows(
    embeddings: &[f32],
    params: &[f32],
    d: usize,
    one: bool,
) -> Result<usize, BackendError> {
    let n = params.len() / PARAM_COUNT;
    let rows = if one { 1 } else { n };
    if n == 0 || params.len() != n * PARAM_COUNT || embeddings.len() != rows * d {
        return Err(BackendError::Shape(alloc::format!(
            "head needs [{}, {d}] embeddings and [N, 8] parameters, got {} and {} values",
            if one { "1" } else { "N" },
            embeddings.len(),
            params.len()
        )));
    }
    Ok(n)
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

    /// The split form's head for one image: its embedding (`[D]`, given once) with each row of
    /// `params` (`[N, 8]`). The default repeats the row for [`Backend::predict_head`]; a backend
    /// whose head takes the embedding once ([`crate::manifest::ModelEntry::shares_embedding`])
    /// passes it so, without the `N x D` copy.
    fn predict_head_one(
        &self,
        embedding: &[f32],
        params: &[f32],
    ) -> Result<Vec<f32>, BackendError> {
        self.predict_head(&embedding.repeat(params.len() / PARAM_COUNT), params)
    }

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

    /// A fake head: the sum of its embedding row plus the first parameter, per parameter set;
    /// records each call's (embedding rows, parameter rows).
    fn fake_run<'a>(
        calls: &'a mut Vec<(usize, usize)>,
        d: usize,
    ) -> impl FnMut(&[Feed<'_>]) -> Result<Vec<f32>, BackendError> + 'a {
        move |feeds| {
            let (e, p) = (feeds[0].2, feeds[1].2);
            assert_eq!(feeds[0].1, [e.len() / d, d]);
            let (erows, rows) = (feeds[0].1[0], feeds[1].1[0]);
            calls.push((erows, rows));
            Ok((0..rows)
                .map(|r| {
                    let row = if erows == 1 { 0 } else { r };
                    e[row * d..(row + 1) * d].iter().sum::<f32>() + p[r * PARAM_COUNT]
                })
                .collect())
        }
    }

    #[test]
    fn a_shared_embedding_head_runs_once_per_image() {
        let d = 2;
        // two images' rows: image A (1, 1) x 3 parameter sets, then image B (5, 0) x 2
        let emb = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0, 0.0, 5.0, 0.0];
        let params: Vec<f32> = (0..5)
            .flat_map(|i| core::iter::once(i as f32 * 10.0).chain([0.0; 7]))
            .collect();
        let want = vec![2.0, 12.0, 22.0, 35.0, 45.0];
        let mut calls = vec![];
        assert_eq!(
            run_head(&emb, &params, d, true, fake_run(&mut calls, d)).unwrap(),
            want
        );
        assert_eq!(calls, [(1, 3), (1, 2)]);
        let mut calls = vec![];
        assert_eq!(
            run_head(&emb, &params, d, false, fake_run(&mut calls, d)).unwrap(),
            want
        );
        assert_eq!(calls, [(5, 5)]);
        let mut calls = vec![];
        assert!(matches!(
            run_head(&emb[..9], &params, d, true, fake_run(&mut calls, d)),
            Err(BackendError::Shape(_))
        ));
        assert!(calls.is_empty());
        assert_eq!(head_one_rows(&[1.0, 1.0], &params, d).unwrap(), 5);
        assert!(head_one_rows(&[1.0], &params, d).is_err());
        assert!(head_one_rows(&[1.0, 1.0], &params[..7], d).is_err());
    }

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
