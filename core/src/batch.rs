//! Batching logic shared by every runtime: split requests into backend batches, assemble the
//! image and parameter tensors in place, scatter results back into request order, plan the "one
//! image, many parameter sets" path (encode each distinct image once), and a pure, clock-free
//! dynamic-batching policy that the native server drives with real time.
//!
//! ```
//! use vectune_core::batch::{self, EncodePlan};
//!
//! // Requests for images a, b, a, c, b: three distinct images are encoded once each.
//! let plan = EncodePlan::by_key(&["a", "b", "a", "c", "b"]);
//! assert_eq!(plan.unique_count(), 3);
//! assert_eq!(plan.slot_of(2), plan.slot_of(0));
//!
//! // Run in batches of at most 2 and get results back in request order.
//! let squares = batch::run_batched(5, 2, |range| {
//!     Ok::<_, batch::BatchError>(range.map(|i| i * i).collect())
//! })?;
//! assert_eq!(squares, [0, 1, 4, 9, 16]);
//! # Ok::<(), batch::BatchError>(())
//! ```

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use crate::image::ImageRef;
use crate::params::{PARAM_COUNT, Params};
use crate::preprocess::{PreprocessError, TENSOR_LEN, preprocess_into};

/// Misuse of the batching API (sizes that do not add up).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchError {
    /// A maximum batch size of zero.
    ZeroMaxBatch,
    /// A backend returned a different number of results than the batch had items.
    ResultCount {
        /// Items in the batch.
        expected: usize,
        /// Results returned.
        got: usize,
    },
    /// An output buffer of the wrong length.
    BufferLength {
        /// Required length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// A processing order that is not a permutation of the requests.
    NotAPermutation,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::ZeroMaxBatch => f.write_str("maximum batch size must be at least 1"),
            BatchError::ResultCount { expected, got } => {
                write!(
                    f,
                    "backend returned {got} results for a batch of {expected}"
                )
            }
            BatchError::BufferLength { expected, got } => {
                write!(f, "batch buffer must hold {expected} values, got {got}")
            }
            BatchError::NotAPermutation => {
                f.write_str("processing order is not a permutation of the requests")
            }
        }
    }
}

impl core::error::Error for BatchError {}

/// Splits `0..n` into consecutive ranges of at most `max_batch` items.
pub fn split(n: usize, max_batch: usize) -> Result<impl Iterator<Item = Range<usize>>, BatchError> {
    if max_batch == 0 {
        return Err(BatchError::ZeroMaxBatch);
    }
    Ok((0..n.div_ceil(max_batch)).map(move |b| b * max_batch..((b + 1) * max_batch).min(n)))
}

/// Runs `run` on each batch of at most `max_batch` items of `0..n` and concatenates the results in
/// order, checking that each batch returns exactly one result per item.
pub fn run_batched<T, E: From<BatchError>>(
    n: usize,
    max_batch: usize,
    mut run: impl FnMut(Range<usize>) -> Result<Vec<T>, E>,
) -> Result<Vec<T>, E> {
    let mut out = Vec::with_capacity(n);
    for range in split(n, max_batch)? {
        let expected = range.len();
        let got = run(range)?;
        if got.len() != expected {
            return Err(BatchError::ResultCount {
                expected,
                got: got.len(),
            }
            .into());
        }
        out.extend(got);
    }
    Ok(out)
}

/// Preprocesses `images` into one `[N, 3, 224, 224]` tensor, each image written straight into its
/// slot of `out` (length `N * TENSOR_LEN`).
pub fn assemble_images(images: &[ImageRef<'_>], out: &mut [f32]) -> Result<(), PreprocessError> {
    let expected = images.len() * TENSOR_LEN;
    if out.len() != expected {
        return Err(PreprocessError::OutputLength {
            expected,
            got: out.len(),
        });
    }
    for (image, slot) in images.iter().zip(out.chunks_exact_mut(TENSOR_LEN)) {
        preprocess_into(image, slot)?;
    }
    Ok(())
}

/// Encodes `params` into one `[N, 8]` tensor written into `out` (length `N * 8`).
pub fn assemble_params(params: &[Params], out: &mut [f32]) -> Result<(), BatchError> {
    let expected = params.len() * PARAM_COUNT;
    if out.len() != expected {
        return Err(BatchError::BufferLength {
            expected,
            got: out.len(),
        });
    }
    for (p, row) in params.iter().zip(out.chunks_exact_mut(PARAM_COUNT)) {
        p.encode_into(row);
    }
    Ok(())
}

/// [`assemble_params`] into a fresh vector.
pub fn params_tensor(params: &[Params]) -> Vec<f32> {
    let mut out = vec![0.0; params.len() * PARAM_COUNT];
    // Cannot fail: the buffer is sized here.
    let _ = assemble_params(params, &mut out);
    out
}

/// Puts results computed in `order` (result `k` belongs to request `order[k]`) back into request
/// order.
pub fn scatter<T>(order: &[usize], results: Vec<T>) -> Result<Vec<T>, BatchError> {
    if order.len() != results.len() {
        return Err(BatchError::ResultCount {
            expected: order.len(),
            got: results.len(),
        });
    }
    let mut slots: Vec<Option<T>> = (0..order.len()).map(|_| None).collect();
    for (&i, r) in order.iter().zip(results) {
        let slot = slots.get_mut(i).ok_or(BatchError::NotAPermutation)?;
        if slot.replace(r).is_some() {
            return Err(BatchError::NotAPermutation);
        }
    }
    slots
        .into_iter()
        .map(|s| s.ok_or(BatchError::NotAPermutation))
        .collect()
}

/// The "one image, many parameter sets" plan: which requests share an image, so each distinct
/// image is preprocessed and encoded once and only the small head runs per parameter set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodePlan {
    /// For each distinct image (in order of first appearance), the first request that names it.
    unique: Vec<usize>,
    /// For each request, the index of its image in `unique`.
    slot: Vec<usize>,
}

impl EncodePlan {
    /// Groups requests by an image key (a path, a content hash, an index).
    pub fn by_key<K: Ord>(keys: &[K]) -> EncodePlan {
        let mut seen: alloc::collections::BTreeMap<&K, usize> = alloc::collections::BTreeMap::new();
        let mut unique = Vec::new();
        let mut slot = Vec::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            let s = *seen.entry(k).or_insert_with(|| {
                unique.push(i);
                unique.len() - 1
            });
            slot.push(s);
        }
        EncodePlan { unique, slot }
    }

    /// Number of distinct images (encoder runs).
    pub fn unique_count(&self) -> usize {
        self.unique.len()
    }

    /// For each distinct image, the first request naming it (where to find its pixels).
    pub fn unique_requests(&self) -> &[usize] {
        &self.unique
    }

    /// Index of request `request`'s image among the distinct images.
    pub fn slot_of(&self, request: usize) -> usize {
        self.slot[request]
    }

    /// Number of requests.
    pub fn len(&self) -> usize {
        self.slot.len()
    }

    /// Whether there are no requests.
    pub fn is_empty(&self) -> bool {
        self.slot.is_empty()
    }

    /// Assembles the head's embedding input: for each request, the embedding of its image,
    /// taken from `embeddings` (one row of `dim` values per distinct image).
    pub fn gather_rows(&self, embeddings: &[f32], dim: usize) -> Result<Vec<f32>, BatchError> {
        let expected = self.unique.len() * dim;
        if embeddings.len() != expected {
            return Err(BatchError::BufferLength {
                expected,
                got: embeddings.len(),
            });
        }
        let mut out = Vec::with_capacity(self.slot.len() * dim);
        for &s in &self.slot {
            out.extend_from_slice(&embeddings[s * dim..(s + 1) * dim]);
        }
        Ok(out)
    }
}

/// When to dispatch a batch: at `max_batch` queued items, or when the oldest item has waited
/// `max_queue_delay_us` (0 = dispatch at once, as Triton's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchPolicy {
    /// Largest batch handed to a backend.
    pub max_batch: usize,
    /// Longest time the oldest request may wait for companions, in microseconds.
    pub max_queue_delay_us: u64,
}

/// What the driver should do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Poll<T> {
    /// Run these items now, as one batch (in arrival order).
    Dispatch(Vec<T>),
    /// Nothing is due; poll again at this time (microseconds, the driver's clock) or on a push.
    WaitUntil(u64),
    /// The queue is empty.
    Idle,
}

/// A dynamic batcher that owns no clock: the caller passes `now_us` (any monotonic microsecond
/// clock) to [`DynamicBatcher::push`] and [`DynamicBatcher::poll`].
#[derive(Clone, Debug)]
pub struct DynamicBatcher<T> {
    policy: BatchPolicy,
    queue: VecDeque<(T, u64)>,
}

impl<T> DynamicBatcher<T> {
    /// A batcher with this policy; `max_batch` must be at least 1.
    pub fn new(policy: BatchPolicy) -> Result<Self, BatchError> {
        if policy.max_batch == 0 {
            return Err(BatchError::ZeroMaxBatch);
        }
        Ok(DynamicBatcher {
            policy,
            queue: VecDeque::new(),
        })
    }

    /// The policy in force.
    pub fn policy(&self) -> BatchPolicy {
        self.policy
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Enqueues one item that arrived at `now_us`.
    pub fn push(&mut self, item: T, now_us: u64) {
        self.queue.push_back((item, now_us));
    }

    /// Decides, at `now_us`, whether a batch is due.
    pub fn poll(&mut self, now_us: u64) -> Poll<T> {
        let Some(&(_, oldest)) = self.queue.front() else {
            return Poll::Idle;
        };
        let due = oldest.saturating_add(self.policy.max_queue_delay_us);
        if self.queue.len() >= self.policy.max_batch || now_us >= due {
            let n = self.queue.len().min(self.policy.max_batch);
            Poll::Dispatch(self.queue.drain(..n).map(|(t, _)| t).collect())
        } else {
            Poll::WaitUntil(due)
        }
    }

    /// Takes everything queued, in batches of at most `max_batch` (for shutdown).
    pub fn flush(&mut self) -> Vec<Vec<T>> {
        let mut out = Vec::new();
        while !self.queue.is_empty() {
            let n = self.queue.len().min(self.policy.max_batch);
            out.push(self.queue.drain(..n).map(|(t, _)| t).collect());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn split_covers_everything() {
        let r: Vec<_> = split(7, 3).unwrap().collect();
        assert_eq!(r, [0..3, 3..6, 6..7]);
        assert_eq!(split(0, 3).unwrap().count(), 0);
        assert!(split(3, 0).is_err());
    }

    #[test]
    fn run_batched_checks_counts() {
        let e = run_batched(4, 2, |_| Ok::<Vec<u8>, BatchError>(vec![1])).unwrap_err();
        assert_eq!(
            e,
            BatchError::ResultCount {
                expected: 2,
                got: 1
            }
        );
    }

    #[test]
    fn assemble_writes_each_slot() {
        let red = [255u8, 0, 0, 255].repeat(4);
        let blue = [0u8, 0, 255, 255].repeat(9);
        let imgs = [
            ImageRef::new(&red, 2, 2).unwrap(),
            ImageRef::new(&blue, 3, 3).unwrap(),
        ];
        let mut t = vec![0.0; 2 * TENSOR_LEN];
        assemble_images(&imgs, &mut t).unwrap();
        assert_eq!(
            &t[..TENSOR_LEN],
            crate::preprocess::preprocess(&red, 2, 2).unwrap()
        );
        assert_eq!(
            &t[TENSOR_LEN..],
            crate::preprocess::preprocess(&blue, 3, 3).unwrap()
        );
        assert!(assemble_images(&imgs, &mut t[..TENSOR_LEN]).is_err());
        let ps = [
            Params::default(),
            Params::clamped([("color_precision", 1.0)]).unwrap(),
        ];
        let pt = params_tensor(&ps);
        assert_eq!(&pt[..8], Params::default().encode());
        assert_eq!(pt[8], 0.0);
        let mut short = [0.0; 3];
        assert!(assemble_params(&ps, &mut short).is_err());
    }

    #[test]
    fn scatter_rejects_non_permutations() {
        assert_eq!(
            scatter(&[0, 0], vec![1, 2]),
            Err(BatchError::NotAPermutation)
        );
        assert_eq!(
            scatter(&[0, 5], vec![1, 2]),
            Err(BatchError::NotAPermutation)
        );
        assert!(matches!(
            scatter(&[0], vec![1, 2]),
            Err(BatchError::ResultCount { .. })
        ));
    }

    #[test]
    fn gather_rows_repeats_embeddings() {
        let plan = EncodePlan::by_key(&[7, 9, 7]);
        let rows = plan.gather_rows(&[1.0, 1.5, 2.0, 2.5], 2).unwrap();
        assert_eq!(rows, [1.0, 1.5, 2.0, 2.5, 1.0, 1.5]);
        assert!(plan.gather_rows(&[1.0], 2).is_err());
    }

    #[test]
    fn batcher_policy() {
        let policy = BatchPolicy {
            max_batch: 3,
            max_queue_delay_us: 100,
        };
        let mut b = DynamicBatcher::new(policy).unwrap();
        assert_eq!(b.poll(0), Poll::Idle);
        b.push('a', 10);
        b.push('b', 20);
        assert_eq!(b.poll(50), Poll::WaitUntil(110));
        assert_eq!(b.poll(110), Poll::Dispatch(vec!['a', 'b']));
        for (i, c) in "cdefg".chars().enumerate() {
            b.push(c, 200 + i as u64);
        }
        assert_eq!(b.poll(201), Poll::Dispatch(vec!['c', 'd', 'e']));
        assert_eq!(b.poll(202), Poll::WaitUntil(303));
        assert_eq!(b.flush(), vec![vec!['f', 'g']]);
        let mut now = DynamicBatcher::new(BatchPolicy {
            max_batch: 8,
            max_queue_delay_us: 0,
        })
        .unwrap();
        now.push(1, 5);
        assert_eq!(now.poll(5), Poll::Dispatch(vec![1]));
        assert!(
            DynamicBatcher::<u8>::new(BatchPolicy {
                max_batch: 0,
                max_queue_delay_us: 0
            })
            .is_err()
        );
    }

    proptest! {
        #[test]
        fn split_then_concat_is_identity(n in 0usize..500, max in 1usize..64) {
            let ranges: Vec<_> = split(n, max).unwrap().collect();
            prop_assert!(ranges.iter().all(|r| !r.is_empty() && r.len() <= max));
            let flat: Vec<usize> = ranges.into_iter().flatten().collect();
            prop_assert_eq!(flat, (0..n).collect::<Vec<_>>());
        }

        /// Grouping requests by image, processing them image by image in batches, and scattering
        /// back gives the same answer as computing each request directly.
        #[test]
        fn grouped_processing_scatters_back_in_order(
            keys in proptest::collection::vec(0u8..6, 0..80),
            max in 1usize..9,
        ) {
            let direct: Vec<u32> = keys.iter().enumerate().map(|(i, k)| u32::from(*k) * 1000 + i as u32).collect();
            let plan = EncodePlan::by_key(&keys);
            prop_assert!(plan.unique_count() <= 6);
            let mut order: Vec<usize> = (0..keys.len()).collect();
            order.sort_by_key(|&i| plan.slot_of(i));
            let processed = run_batched(order.len(), max, |r| {
                Ok::<_, BatchError>(order[r].iter().map(|&i| {
                    let k = keys[plan.unique_requests()[plan.slot_of(i)]];
                    u32::from(k) * 1000 + i as u32
                }).collect())
            }).unwrap();
            prop_assert_eq!(scatter(&order, processed).unwrap(), direct);
        }

        /// A driver that sleeps until each `WaitUntil` or the next arrival: batches are FIFO, never
        /// larger than `max_batch`, and no item waits longer than `max_queue_delay_us`.
        #[test]
        fn batcher_is_fifo_bounded_and_timely(
            gaps in proptest::collection::vec(0u64..50, 1..60),
            max in 1usize..6,
            delay in 0u64..120,
        ) {
            let mut b = DynamicBatcher::new(BatchPolicy { max_batch: max, max_queue_delay_us: delay }).unwrap();
            let mut now = 0u64;
            let mut arrived = Vec::new();
            let mut out: Vec<(usize, u64)> = Vec::new();
            let drive = |b: &mut DynamicBatcher<usize>, now: &mut u64, until: u64, out: &mut Vec<(usize, u64)>| -> Result<(), TestCaseError> {
                loop {
                    match b.poll(*now) {
                        Poll::Dispatch(batch) => {
                            prop_assert!(!batch.is_empty() && batch.len() <= max);
                            out.extend(batch.into_iter().map(|j| (j, *now)));
                        }
                        Poll::WaitUntil(t) if t <= until => *now = t,
                        _ => return Ok(()),
                    }
                }
            };
            for (i, g) in gaps.iter().enumerate() {
                let next = now + g;
                drive(&mut b, &mut now, next, &mut out)?;
                now = next;
                b.push(i, now);
                arrived.push(now);
            }
            drive(&mut b, &mut now, u64::MAX, &mut out)?;
            prop_assert!(b.is_empty());
            let ids: Vec<usize> = out.iter().map(|&(j, _)| j).collect();
            prop_assert_eq!(ids, (0..gaps.len()).collect::<Vec<_>>());
            for &(j, t) in &out {
                prop_assert!(t - arrived[j] <= delay, "item {} waited {}", j, t - arrived[j]);
            }
        }
    }
}
