//! Batching shared by every binding: the `[N, 8]` parameter tensor of many sets, and the plan that
//! groups a bulk request's items by image, so that each distinct image is decoded, preprocessed
//! and encoded once and only the head runs per parameter set (the CLI's `predict --batch`, the
//! browser's `predictBatch`).
//!
//! ```
//! use vectune_core::batch;
//!
//! // Items for images a, b, a, c, b: three groups, in order of first appearance.
//! let groups = batch::group_by(&["a", "b", "a", "c", "b"], |x, y| x == y);
//! assert_eq!(groups, [vec![0, 2], vec![1, 4], vec![3]]);
//! ```

use alloc::vec;
use alloc::vec::Vec;

use crate::params::{PARAM_COUNT, Params};

/// `params` encoded ([`Params::encode_into`]) into one `[N, 8]` tensor, row-major.
pub fn params_tensor(params: &[Params]) -> Vec<f32> {
    let mut out = vec![0.0; params.len() * PARAM_COUNT];
    for (p, row) in params.iter().zip(out.chunks_exact_mut(PARAM_COUNT)) {
        p.encode_into(row);
    }
    out
}

/// The indexes of `items` grouped by `same` (an equivalence: the same image), groups in order of
/// their first item, indexes ascending within each group. Every index is in exactly one group.
pub fn group_by<T>(items: &[T], same: impl Fn(&T, &T) -> bool) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match groups.iter_mut().find(|g| same(&items[g[0]], item)) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn params_tensor_encodes_each_row() {
        let a = Params::default();
        let b = Params::from_pairs_with_defaults([("color_precision", 2.0)]).unwrap();
        let t = params_tensor(&[a, b]);
        assert_eq!(t.len(), 2 * PARAM_COUNT);
        assert_eq!(t[..PARAM_COUNT], a.encode());
        assert_eq!(t[PARAM_COUNT..], b.encode());
        assert!(params_tensor(&[]).is_empty());
    }

    proptest! {
        #[test]
        fn groups_partition_the_items_by_key(keys in proptest::collection::vec(0u8..6, 0..60)) {
            let groups = group_by(&keys, |a, b| a == b);
            let mut seen: Vec<usize> = groups.iter().flatten().copied().collect();
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..keys.len()).collect::<Vec<_>>());
            for g in &groups {
                prop_assert!(g.windows(2).all(|w| w[0] < w[1]));
                prop_assert!(g.iter().all(|&i| keys[i] == keys[g[0]]));
            }
            prop_assert!(groups.windows(2).all(|w| w[0][0] < w[1][0]));
            let distinct: std::collections::BTreeSet<u8> = keys.iter().copied().collect();
            prop_assert_eq!(groups.len(), distinct.len());
        }
    }
}
