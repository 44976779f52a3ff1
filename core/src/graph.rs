//! One loaded graph, on any runtime: the small interface ONNX Runtime, libtorch and tract (native
//! and in the browser) implement, and the tensor layouts the core feeds it. Tensors cross it as
//! flat `f32` slices with their shapes, by input name: images `[N, 3, 224, 224]` (CHW,
//! [`crate::preprocess`]), image statistics `[N, k]` (a prefix of [`crate::features::image_stats`],
//! the width the manifest declares), parameters `[N, 8]` ([`crate::params::Params::encode`]),
//! embeddings `[N, D]` or `[1, D]`. Which graph runs for which task, with which of these inputs,
//! is [`crate::models::ModelSet`]'s business; a runtime only runs what it is given.
//!
//! ```
//! use vectune_core::error::Error;
//! use vectune_core::graph::{Feed, Graph};
//!
//! /// A graph that sums its `x` input.
//! struct Sum;
//! impl Graph for Sum {
//!     fn run(&self, feeds: &[Feed<'_>]) -> Result<Vec<f32>, Error> {
//!         let (_, _, x) = feeds.iter().find(|f| f.0 == "x").ok_or_else(|| Error::runtime("no x"))?;
//!         Ok(vec![x.iter().sum()])
//!     }
//!     fn input_names(&self) -> &[String] {
//!         &[]
//!     }
//! }
//! assert_eq!(Sum.run(&[("x", vec![3], &[1.0, 2.0, 3.0])])?, [6.0]);
//! # Ok::<(), Error>(())
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Error;
use crate::features::IMAGE_STATS;
use crate::params::PARAM_COUNT;
use crate::preprocess::{CHANNELS, INPUT_SIZE, TENSOR_LEN};

/// One named graph input: `(name, shape, data)`.
pub type Feed<'a> = (&'a str, Vec<usize>, &'a [f32]);

/// One loaded model graph. It must be `Send + Sync`: one instance serves many threads at once.
pub trait Graph: Send + Sync {
    /// Runs with named inputs (every input the graph has must be among `feeds`; others are
    /// ignored) and returns its first output, flattened row-major.
    fn run(&self, feeds: &[Feed<'_>]) -> Result<Vec<f32>, Error>;

    /// The graph's input names, in graph order.
    fn input_names(&self) -> &[String];
}

/// The feed called `name` among `feeds`, or the runtime error every runtime gives for it.
pub fn feed<'f, 'a>(feeds: &'f [Feed<'a>], name: &str) -> Result<&'f Feed<'a>, Error> {
    feeds.iter().find(|(n, _, _)| *n == name).ok_or_else(|| {
        Error::runtime(alloc::format!(
            "the model wants an input `{name}` that was not given"
        ))
    })
}

/// The shape of `n` preprocessed images.
pub fn image_shape(n: usize) -> Vec<usize> {
    alloc::vec![n, CHANNELS, INPUT_SIZE, INPUT_SIZE]
}

/// One batch of images with their statistics and one parameter set each, shape-checked: the
/// combined quality model's input.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    images: &'a [f32],
    stats: &'a [f32],
    params: &'a [f32],
    len: usize,
}

fn shape_error(message: String) -> Error {
    Error::runtime(alloc::format!("bad tensor shape: {message}"))
}

impl<'a> Batch<'a> {
    /// `images` must be `N * 3*224*224` long, `stats` `N * 11` and `params` `N * 8`, with the
    /// same `N >= 1`.
    pub fn new(images: &'a [f32], stats: &'a [f32], params: &'a [f32]) -> Result<Batch<'a>, Error> {
        let n = image_count(images)?;
        check_stats(n, stats)?;
        if params.len() != n * PARAM_COUNT {
            return Err(shape_error(alloc::format!(
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
pub fn check_stats(n: usize, stats: &[f32]) -> Result<(), Error> {
    if stats.len() != n * IMAGE_STATS {
        return Err(shape_error(alloc::format!(
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

/// Runs a head graph on `embedding` (`rows x d` values) and `[rows, 8]` `params`.
fn run_head_graph(
    graph: &dyn Graph,
    embedding: &[f32],
    d: usize,
    params: &[f32],
) -> Result<Vec<f32>, Error> {
    graph.run(&[
        ("embedding", alloc::vec![embedding.len() / d, d], embedding),
        (
            "params",
            alloc::vec![params.len() / PARAM_COUNT, PARAM_COUNT],
            params,
        ),
    ])
}

/// Runs a split-form head on `[N, d]` `embeddings` and `[N, 8]` `params`. A head that takes one
/// embedding row for all its parameter sets (`shares`:
/// [`crate::manifest::ModelEntry::shares_embedding`]) runs once per run of equal consecutive rows
/// (one image's parameter sets, as the core lays them out); any other head runs once on all rows.
pub fn run_head(
    graph: &dyn Graph,
    embeddings: &[f32],
    params: &[f32],
    d: usize,
    shares: bool,
) -> Result<Vec<f32>, Error> {
    let d = d.max(1);
    let n = head_rows(embeddings, params, d, false)?;
    if !shares {
        return run_head_graph(graph, embeddings, d, params);
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
            graph,
            row(start),
            d,
            &params[start * PARAM_COUNT..end * PARAM_COUNT],
        )?);
        start = end;
    }
    Ok(out)
}

/// The head for one image: its `[d]` embedding once (`shares`) or repeated per parameter set,
/// with `[N, 8]` `params`.
pub fn run_head_one(
    graph: &dyn Graph,
    embedding: &[f32],
    params: &[f32],
    d: usize,
    shares: bool,
) -> Result<Vec<f32>, Error> {
    let d = d.max(1);
    let n = head_rows(embedding, params, d, true)?;
    if shares {
        run_head_graph(graph, embedding, d, params)
    } else {
        run_head_graph(graph, &embedding.repeat(n), d, params)
    }
}

/// Checks a head's `[N, 8]` `params` with `[N, d]` embeddings, or (`one`) one `[d]` row; returns N.
fn head_rows(embeddings: &[f32], params: &[f32], d: usize, one: bool) -> Result<usize, Error> {
    let n = params.len() / PARAM_COUNT;
    let rows = if one { 1 } else { n };
    if n == 0 || params.len() != n * PARAM_COUNT || embeddings.len() != rows * d {
        return Err(shape_error(alloc::format!(
            "head needs [{}, {d}] embeddings and [N, 8] parameters, got {} and {} values",
            if one { "1" } else { "N" },
            embeddings.len(),
            params.len()
        )));
    }
    Ok(n)
}

/// Number of whole images in a flat image tensor, or a shape error.
pub fn image_count(images: &[f32]) -> Result<usize, Error> {
    if images.is_empty() || !images.len().is_multiple_of(TENSOR_LEN) {
        return Err(shape_error(alloc::format!(
            "image tensor of {} floats is not a whole number (>= 1) of 3x224x224 images",
            images.len()
        )));
    }
    Ok(images.len() / TENSOR_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// A fake head: the sum of its embedding row plus the first parameter, per parameter set;
    /// records each call's (embedding rows, parameter rows).
    struct FakeHead {
        d: usize,
        calls: std::sync::Mutex<Vec<(usize, usize)>>,
    }

    impl Graph for FakeHead {
        fn run(&self, feeds: &[Feed<'_>]) -> Result<Vec<f32>, Error> {
            let d = self.d;
            let (e, p) = (feeds[0].2, feeds[1].2);
            assert_eq!(feeds[0].1, [e.len() / d, d]);
            let (erows, rows) = (feeds[0].1[0], feeds[1].1[0]);
            self.calls.lock().unwrap().push((erows, rows));
            Ok((0..rows)
                .map(|r| {
                    let row = if erows == 1 { 0 } else { r };
                    e[row * d..(row + 1) * d].iter().sum::<f32>() + p[r * PARAM_COUNT]
                })
                .collect())
        }
        fn input_names(&self) -> &[String] {
            &[]
        }
    }

    fn head(d: usize) -> FakeHead {
        FakeHead {
            d,
            calls: Default::default(),
        }
    }

    fn calls(h: &FakeHead) -> Vec<(usize, usize)> {
        h.calls.lock().unwrap().clone()
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
        let h = head(d);
        assert_eq!(run_head(&h, &emb, &params, d, true).unwrap(), want);
        assert_eq!(calls(&h), [(1, 3), (1, 2)]);
        let h = head(d);
        assert_eq!(run_head(&h, &emb, &params, d, false).unwrap(), want);
        assert_eq!(calls(&h), [(5, 5)]);
        let h = head(d);
        assert!(run_head(&h, &emb[..9], &params, d, true).is_err());
        assert!(calls(&h).is_empty());
        let h = head(d);
        assert_eq!(
            run_head_one(&h, &[1.0, 1.0], &params, d, true)
                .unwrap()
                .len(),
            5
        );
        assert_eq!(calls(&h), [(1, 5)]);
        assert_eq!(
            run_head_one(&h, &[1.0, 1.0], &params, d, false)
                .unwrap()
                .len(),
            5
        );
        assert!(run_head_one(&h, &[1.0], &params, d, true).is_err());
        assert!(run_head_one(&h, &[1.0, 1.0], &params[..7], d, true).is_err());
    }

    #[test]
    fn batch_shapes_are_checked() {
        let img = vec![0.0; 2 * TENSOR_LEN];
        let par = vec![0.0; 16];
        let sz = vec![0.5; 2 * IMAGE_STATS];
        let b = Batch::new(&img, &sz, &par).unwrap();
        assert_eq!(b.len(), 2);
        assert!(Batch::new(&img, &sz[..IMAGE_STATS], &par).is_err());
        assert!(Batch::new(&img, &sz, &par[..8]).is_err());
        assert!(Batch::new(&img[..10], &sz, &par).is_err());
        let e = Batch::new(&[], &[], &[]).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Runtime);
        assert!(alloc::string::ToString::to_string(&e).starts_with("bad tensor shape"));
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
}
