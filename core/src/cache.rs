//! An LRU cache with a memory budget, as a plain data structure: entries carry a byte size,
//! inserting evicts least-recently-used entries until the new one fits, pinned entries are never
//! evicted, and hits, misses and evictions are counted. The native model cache drives it with real
//! loaders; this module owns no I/O and no clock (recency is a counter).
//!
//! ```
//! use vectune_core::cache::LruCache;
//!
//! let mut cache = LruCache::new(100);
//! cache.insert("encoder", 'E', 60)?;
//! cache.insert("head", 'H', 30)?;
//! assert_eq!(cache.get(&"encoder"), Some(&'E')); // encoder is now the most recent
//! let evicted = cache.insert("classifier", 'C', 40)?; // 130 > 100: evict the LRU (head)
//! assert_eq!(evicted, vec![("head", 'H')]);
//! assert_eq!(cache.stats().bytes_used, 100);
//! # Ok::<(), vectune_core::cache::CacheError>(())
//! ```

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

/// Why an insert was refused. A refused insert changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheError {
    /// The entry alone is larger than the whole budget.
    LargerThanBudget {
        /// The entry's size.
        bytes: u64,
        /// The budget.
        budget: u64,
    },
    /// Even after evicting every unpinned entry the entry would not fit.
    PinnedFull {
        /// The entry's size.
        bytes: u64,
        /// Bytes held by pinned entries.
        pinned_bytes: u64,
        /// The budget.
        budget: u64,
    },
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheError::LargerThanBudget { bytes, budget } => write!(
                f,
                "entry of {bytes} bytes is larger than the cache budget of {budget} bytes"
            ),
            CacheError::PinnedFull {
                bytes,
                pinned_bytes,
                budget,
            } => write!(
                f,
                "entry of {bytes} bytes does not fit: pinned entries hold {pinned_bytes} of {budget} bytes"
            ),
        }
    }
}

impl core::error::Error for CacheError {}

/// Counters and sizes of a cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CacheStats {
    /// `get` calls that found their key.
    pub hits: u64,
    /// `get` calls that did not.
    pub misses: u64,
    /// Entries removed to make room.
    pub evictions: u64,
    /// Successful inserts.
    pub insertions: u64,
    /// Entries now held.
    pub entries: usize,
    /// Pinned entries now held.
    pub pinned: usize,
    /// Bytes now held.
    pub bytes_used: u64,
    /// The budget.
    pub budget: u64,
}

impl CacheStats {
    /// `hits / (hits + misses)`, or 0 before any lookup.
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

#[derive(Clone, Debug)]
struct Entry<V> {
    value: V,
    bytes: u64,
    pinned: bool,
    tick: u64,
}

/// The cache. Keys are ordered (`Ord`) so that it needs only `alloc`.
#[derive(Clone, Debug)]
pub struct LruCache<K, V> {
    budget: u64,
    entries: BTreeMap<K, Entry<V>>,
    /// Recency order: tick -> key; the smallest tick is the least recently used.
    order: BTreeMap<u64, K>,
    tick: u64,
    bytes_used: u64,
    pinned_bytes: u64,
    hits: u64,
    misses: u64,
    evictions: u64,
    insertions: u64,
}

impl<K: Ord + Clone, V> LruCache<K, V> {
    /// An empty cache with a budget in bytes.
    pub fn new(budget_bytes: u64) -> Self {
        LruCache {
            budget: budget_bytes,
            entries: BTreeMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            bytes_used: 0,
            pinned_bytes: 0,
            hits: 0,
            misses: 0,
            evictions: 0,
            insertions: 0,
        }
    }

    fn touch(&mut self, key: &K) {
        self.tick += 1;
        let tick = self.tick;
        if let Some(e) = self.entries.get_mut(key) {
            self.order.remove(&e.tick);
            e.tick = tick;
            self.order.insert(tick, key.clone());
        }
    }

    /// Looks up `key`, counting a hit or a miss and marking it most recently used.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        if self.entries.contains_key(key) {
            self.hits += 1;
            self.touch(key);
            self.entries.get(key).map(|e| &e.value)
        } else {
            self.misses += 1;
            None
        }
    }

    /// Looks up `key` without counting or changing recency.
    pub fn peek(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|e| &e.value)
    }

    /// Whether `key` is held.
    pub fn contains(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    /// Inserts (or replaces) `key` with a size in bytes, evicting least-recently-used unpinned
    /// entries until it fits. Returns the evicted entries (oldest first) so the caller can release
    /// them. A replaced entry keeps its pin. If the entry cannot fit, nothing changes.
    pub fn insert(&mut self, key: K, value: V, bytes: u64) -> Result<Vec<(K, V)>, CacheError> {
        if bytes > self.budget {
            return Err(CacheError::LargerThanBudget {
                bytes,
                budget: self.budget,
            });
        }
        let (old_bytes, old_pinned) = match self.entries.get(&key) {
            Some(e) => (e.bytes, e.pinned),
            None => (0, false),
        };
        // Whether or not the entry is (or stays) pinned, it must fit beside the other pinned ones.
        let pinned_other = self.pinned_bytes - if old_pinned { old_bytes } else { 0 };
        if pinned_other + bytes > self.budget {
            return Err(CacheError::PinnedFull {
                bytes,
                pinned_bytes: pinned_other,
                budget: self.budget,
            });
        }
        // Feasible: drop the old version, then evict until the new one fits.
        if let Some(old) = self.entries.remove(&key) {
            self.order.remove(&old.tick);
            self.bytes_used -= old.bytes;
            if old.pinned {
                self.pinned_bytes -= old.bytes;
            }
        }
        let mut evicted = Vec::new();
        while self.bytes_used + bytes > self.budget {
            let Some(victim) = self
                .order
                .values()
                .find(|k| self.entries.get(*k).is_some_and(|e| !e.pinned))
                .cloned()
            else {
                break; // unreachable by the feasibility check above
            };
            if let Some(e) = self.entries.remove(&victim) {
                self.order.remove(&e.tick);
                self.bytes_used -= e.bytes;
                self.evictions += 1;
                evicted.push((victim, e.value));
            }
        }
        self.tick += 1;
        self.order.insert(self.tick, key.clone());
        self.entries.insert(
            key,
            Entry {
                value,
                bytes,
                pinned: old_pinned,
                tick: self.tick,
            },
        );
        self.bytes_used += bytes;
        if old_pinned {
            self.pinned_bytes += bytes;
        }
        self.insertions += 1;
        Ok(evicted)
    }

    /// Pins or unpins `key`; a pinned entry is never evicted (it can still be removed).
    /// Returns whether the key was present.
    pub fn set_pinned(&mut self, key: &K, pinned: bool) -> bool {
        match self.entries.get_mut(key) {
            Some(e) => {
                if e.pinned != pinned {
                    e.pinned = pinned;
                    if pinned {
                        self.pinned_bytes += e.bytes;
                    } else {
                        self.pinned_bytes -= e.bytes;
                    }
                }
                true
            }
            None => false,
        }
    }

    /// Whether `key` is pinned.
    pub fn is_pinned(&self, key: &K) -> bool {
        self.entries.get(key).is_some_and(|e| e.pinned)
    }

    /// Removes `key` (pinned or not) and returns its value.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let e = self.entries.remove(key)?;
        self.order.remove(&e.tick);
        self.bytes_used -= e.bytes;
        if e.pinned {
            self.pinned_bytes -= e.bytes;
        }
        Some(e.value)
    }

    /// Removes everything (pinned entries too); counters are kept.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.bytes_used = 0;
        self.pinned_bytes = 0;
    }

    /// Keys from least to most recently used.
    pub fn keys_lru(&self) -> impl Iterator<Item = &K> {
        self.order.values()
    }

    /// Counters and sizes.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits,
            misses: self.misses,
            evictions: self.evictions,
            insertions: self.insertions,
            entries: self.entries.len(),
            pinned: self.entries.values().filter(|e| e.pinned).count(),
            bytes_used: self.bytes_used,
            budget: self.budget,
        }
    }

    /// Size in bytes recorded for `key`.
    pub fn bytes_of(&self, key: &K) -> Option<u64> {
        self.entries.get(key).map(|e| e.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    #[test]
    fn evicts_least_recent_and_counts() {
        let mut c = LruCache::new(10);
        c.insert(1, "a", 4).unwrap();
        c.insert(2, "b", 4).unwrap();
        assert_eq!(c.get(&1), Some(&"a"));
        assert_eq!(c.get(&3), None);
        assert_eq!(c.insert(3, "c", 4).unwrap(), vec![(2, "b")]);
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.evictions, s.insertions), (1, 1, 1, 3));
        assert_eq!((s.entries, s.bytes_used, s.budget), (2, 8, 10));
        assert_eq!(s.hit_rate(), 0.5);
        assert_eq!(c.keys_lru().copied().collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn pinned_entries_survive() {
        let mut c = LruCache::new(10);
        c.insert("p", 0, 6).unwrap();
        assert!(c.set_pinned(&"p", true));
        c.insert("x", 1, 4).unwrap();
        assert_eq!(c.insert("y", 2, 4).unwrap(), vec![("x", 1)]);
        assert!(c.contains(&"p"));
        let err = c.insert("z", 3, 5).unwrap_err();
        assert_eq!(
            err,
            CacheError::PinnedFull {
                bytes: 5,
                pinned_bytes: 6,
                budget: 10
            }
        );
        // Refused: nothing was evicted.
        assert!(c.contains(&"y"));
        assert_eq!(
            c.insert("huge", 9, 11).unwrap_err(),
            CacheError::LargerThanBudget {
                bytes: 11,
                budget: 10
            }
        );
        assert!(!c.set_pinned(&"absent", true));
        assert_eq!(c.remove(&"p"), Some(0));
        assert_eq!(c.stats().pinned, 0);
        c.insert("z", 3, 5).unwrap();
    }

    #[test]
    fn replace_updates_size_and_keeps_pin() {
        let mut c = LruCache::new(10);
        c.insert('a', 1, 3).unwrap();
        c.set_pinned(&'a', true);
        c.insert('a', 2, 7).unwrap();
        assert!(c.is_pinned(&'a'));
        assert_eq!(c.bytes_of(&'a'), Some(7));
        assert_eq!(c.stats().bytes_used, 7);
        assert_eq!(c.peek(&'a'), Some(&2));
        c.clear();
        assert_eq!(c.stats().bytes_used, 0);
        assert_eq!(c.stats().entries, 0);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Get(u8),
        Insert(u8, u64),
        Pin(u8, bool),
        Remove(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..12).prop_map(Op::Get),
            4 => (0u8..12, 0u64..40).prop_map(|(k, b)| Op::Insert(k, b)),
            1 => (0u8..12, any::<bool>()).prop_map(|(k, p)| Op::Pin(k, p)),
            1 => (0u8..12).prop_map(Op::Remove),
        ]
    }

    proptest! {
        /// Against a simple model: never over budget, evicts exactly the least recent unpinned
        /// entries, never evicts pinned ones, and the stats add up.
        #[test]
        fn lru_invariants(ops in proptest::collection::vec(op(), 1..200), budget in 1u64..100) {
            let mut c: LruCache<u8, u64> = LruCache::new(budget);
            // Model: recency list (least recent first) of (key, bytes, pinned).
            let mut model: Vec<(u8, u64, bool)> = Vec::new();
            let (mut hits, mut misses, mut evictions, mut inserts) = (0u64, 0u64, 0u64, 0u64);
            for op in ops {
                match op {
                    Op::Get(k) => {
                        let found = c.get(&k).is_some();
                        if let Some(pos) = model.iter().position(|e| e.0 == k) {
                            prop_assert!(found);
                            hits += 1;
                            let e = model.remove(pos);
                            model.push(e);
                        } else {
                            prop_assert!(!found);
                            misses += 1;
                        }
                    }
                    Op::Insert(k, bytes) => {
                        let res = c.insert(k, u64::from(k) * 1000 + bytes, bytes);
                        let old = model.iter().position(|e| e.0 == k).map(|p| model[p]);
                        let pinned = old.is_some_and(|e| e.2);
                        let pinned_other: u64 = model.iter().filter(|e| e.2 && e.0 != k).map(|e| e.1).sum();
                        if bytes > budget || pinned_other + bytes > budget {
                            prop_assert!(res.is_err());
                            continue;
                        }
                        let evicted = res.unwrap();
                        model.retain(|e| e.0 != k);
                        let mut expect = Vec::new();
                        let mut used: u64 = model.iter().map(|e| e.1).sum();
                        while used + bytes > budget {
                            let pos = model.iter().position(|e| !e.2).unwrap();
                            let e = model.remove(pos);
                            used -= e.1;
                            expect.push(e.0);
                        }
                        prop_assert_eq!(evicted.iter().map(|e| e.0).collect::<Vec<_>>(), expect);
                        for (ek, _) in &evicted {
                            prop_assert!(!c.contains(ek));
                        }
                        evictions += evicted.len() as u64;
                        inserts += 1;
                        model.push((k, bytes, pinned));
                    }
                    Op::Pin(k, p) => {
                        let present = c.set_pinned(&k, p);
                        if let Some(e) = model.iter_mut().find(|e| e.0 == k) {
                            prop_assert!(present);
                            e.2 = p;
                        } else {
                            prop_assert!(!present);
                        }
                    }
                    Op::Remove(k) => {
                        let had = c.remove(&k).is_some();
                        let pos = model.iter().position(|e| e.0 == k);
                        prop_assert_eq!(had, pos.is_some());
                        if let Some(p) = pos { model.remove(p); }
                    }
                }
                let s = c.stats();
                prop_assert!(s.bytes_used <= budget);
                prop_assert_eq!(s.bytes_used, model.iter().map(|e| e.1).sum::<u64>());
                prop_assert_eq!(s.entries, model.len());
                prop_assert_eq!(s.pinned, model.iter().filter(|e| e.2).count());
                prop_assert_eq!((s.hits, s.misses, s.evictions, s.insertions), (hits, misses, evictions, inserts));
                prop_assert_eq!(c.keys_lru().copied().collect::<Vec<_>>(), model.iter().map(|e| e.0).collect::<Vec<_>>());
            }
        }
    }
}
