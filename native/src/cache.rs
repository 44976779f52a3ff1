//! The model cache: the core's [`LruCache`] (byte budget, pinning, least-recently-used eviction,
//! hit/miss/eviction counters) driven with real loaders, shared between threads.
//!
//! [`ModelCache::get_or_load`] returns a held value (a hit) or runs the caller's loader once (a
//! miss; concurrent callers for the same key wait for that one load instead of loading twice),
//! inserts the result and reports what was evicted to make room. A loader that panics fails that
//! load with a runtime error: the waiters wake and the key can be loaded again. Values are cloned
//! out (the manager stores `Arc`s), so a model evicted or replaced while a prediction uses it
//! stays alive until that prediction ends.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use vectune_core::cache::{CacheError, CacheStats, LruCache};
use vectune_core::error::Error;

/// Why [`ModelCache::get_or_load`] has no value.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CacheLoadError {
    /// The loader failed (or panicked); its error.
    #[error("{0}")]
    Load(Error),
    /// The value loaded but the cache cannot hold it (budget or pinned entries).
    #[error("loaded but not cached: {0}")]
    Cache(#[from] CacheError),
}

/// What a lookup did.
#[derive(Clone, Debug)]
pub struct Fetched<V> {
    /// The value.
    pub value: V,
    /// Whether this call ran the loader (a miss).
    pub loaded: bool,
    /// Keys evicted to make room for it.
    pub evicted: Vec<String>,
}

/// A thread-safe LRU of loaded values with a byte budget.
pub struct ModelCache<V> {
    lru: Mutex<LruCache<String, V>>,
    loading: Mutex<BTreeSet<String>>,
    loaded: Condvar,
}

/// Marks a key as being loaded; dropping it (after the load, or while a panic unwinds) clears the
/// mark and wakes the threads waiting for that key.
struct Loading<'a, V> {
    cache: &'a ModelCache<V>,
    key: &'a str,
}

impl<V> Drop for Loading<'_, V> {
    fn drop(&mut self) {
        lock(&self.cache.loading).remove(self.key);
        self.cache.loaded.notify_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves the LRU consistent (its methods do not
    // unwind midway), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<V: Clone> ModelCache<V> {
    /// An empty cache with a budget in bytes.
    pub fn new(budget_bytes: u64) -> ModelCache<V> {
        ModelCache {
            lru: Mutex::new(LruCache::new(budget_bytes)),
            loading: Mutex::new(BTreeSet::new()),
            loaded: Condvar::new(),
        }
    }

    /// The value for `key`: held (a hit, now the most recently used) or loaded by `load`, which
    /// returns the value and its size in bytes. A failed or panicking load caches nothing.
    pub fn get_or_load<F>(&self, key: &str, load: F) -> Result<Fetched<V>, CacheLoadError>
    where
        F: FnOnce() -> Result<(V, u64), Error>,
    {
        let key = key.to_string();
        // Wait while another thread loads this key, then look again.
        {
            let mut loading = lock(&self.loading);
            loop {
                if let Some(v) = lock(&self.lru).get(&key) {
                    return Ok(Fetched {
                        value: v.clone(),
                        loaded: false,
                        evicted: Vec::new(),
                    });
                }
                if !loading.contains(&key) {
                    loading.insert(key.clone());
                    break;
                }
                loading = self
                    .loaded
                    .wait(loading)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        // This thread loads; others asking for `key` wait (other keys proceed). Whatever happens
        // next, the guard clears the key and wakes them.
        let _guard = Loading {
            cache: self,
            key: &key,
        };
        let result = catch_unwind(AssertUnwindSafe(load)).unwrap_or_else(|panic| {
            let what = crate::error::panic_message(panic.as_ref());
            Err(Error::runtime(format!("loading `{key}` panicked: {what}")))
        });
        match result {
            Ok((value, bytes)) => self
                .insert(&key, value.clone(), bytes)
                .map(|evicted| Fetched {
                    value,
                    loaded: true,
                    evicted,
                })
                .map_err(CacheLoadError::from),
            Err(e) => Err(CacheLoadError::Load(e)),
        }
    }

    /// Inserts or replaces `key` (a replaced entry keeps its pin); returns the evicted keys.
    /// A refused insert changes nothing.
    pub fn insert(&self, key: &str, value: V, bytes: u64) -> Result<Vec<String>, CacheError> {
        let evicted = lock(&self.lru).insert(key.to_string(), value, bytes)?;
        Ok(evicted.into_iter().map(|(k, _)| k).collect())
    }

    /// Pins or unpins `key` (a pinned entry is never evicted); whether it was held.
    pub fn set_pinned(&self, key: &str, pinned: bool) -> bool {
        lock(&self.lru).set_pinned(&key.to_string(), pinned)
    }

    /// Whether `key` is pinned.
    pub fn is_pinned(&self, key: &str) -> bool {
        lock(&self.lru).is_pinned(&key.to_string())
    }

    /// Whether `key` is held.
    #[cfg(test)]
    pub fn contains(&self, key: &str) -> bool {
        lock(&self.lru).contains(&key.to_string())
    }

    /// Keys from least to most recently used.
    #[cfg(test)]
    pub fn keys_lru(&self) -> Vec<String> {
        lock(&self.lru).keys_lru().cloned().collect()
    }

    /// Counters and sizes.
    pub fn stats(&self) -> CacheStats {
        lock(&self.lru).stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn loads_once_then_hits() {
        let cache = ModelCache::new(100);
        let loads = AtomicUsize::new(0);
        let load = || {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok((7, 10))
        };
        let first = cache.get_or_load("a", load).unwrap();
        assert!(first.loaded && first.value == 7);
        let second = cache
            .get_or_load("a", || Err(Error::runtime("must not load again")))
            .unwrap();
        assert!(!second.loaded && second.value == 7);
        let s = cache.stats();
        assert_eq!((s.hits, s.misses, s.insertions), (1, 1, 1));
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn evicts_the_least_recently_used_and_keeps_pinned() {
        let cache = ModelCache::new(100);
        cache.get_or_load("a", || Ok(('a', 40))).unwrap();
        cache.get_or_load("b", || Ok(('b', 40))).unwrap();
        assert!(cache.set_pinned("a", true));
        // 40 + 40 + 40 > 100: b is the only unpinned entry.
        let c = cache.get_or_load("c", || Ok(('c', 40))).unwrap();
        assert_eq!(c.evicted, vec!["b".to_string()]);
        assert!(cache.contains("a") && !cache.contains("b"));
        // Larger than the budget: typed error, nothing changes.
        let err = cache.get_or_load("d", || Ok(('d', 101))).unwrap_err();
        assert!(matches!(
            err,
            CacheLoadError::Cache(CacheError::LargerThanBudget { .. })
        ));
        assert_eq!(cache.keys_lru(), vec!["a".to_string(), "c".to_string()]);
        assert_eq!(cache.stats().evictions, 1);
    }

    #[test]
    fn a_failed_load_caches_nothing_and_can_be_retried() {
        let cache: ModelCache<u8> = ModelCache::new(100);
        let e = cache
            .get_or_load("a", || Err(Error::runtime("file is gone")))
            .unwrap_err();
        assert_eq!(e, CacheLoadError::Load(Error::runtime("file is gone")));
        assert!(!cache.contains("a"));
        assert_eq!(cache.get_or_load("a", || Ok((1, 1))).unwrap().value, 1);
    }

    #[test]
    fn a_panicking_loader_fails_that_load_wakes_the_waiters_and_can_be_retried() {
        let cache = Arc::new(ModelCache::<u32>::new(1000));
        let started = Arc::new(std::sync::Barrier::new(2));
        let (c, b) = (cache.clone(), started.clone());
        // One thread's loader panics after another thread has started waiting for the same key.
        let panicking = std::thread::spawn(move || {
            c.get_or_load("m", || {
                b.wait();
                std::thread::sleep(std::time::Duration::from_millis(50));
                panic!("corrupt model")
            })
        });
        started.wait();
        let (tx, rx) = std::sync::mpsc::channel();
        let c = cache.clone();
        let waiter = std::thread::spawn(move || {
            tx.send(c.get_or_load("m", || Ok((7, 1)))).unwrap();
        });
        let first = panicking
            .join()
            .expect("the panic is caught inside get_or_load");
        match first {
            Err(CacheLoadError::Load(e)) => {
                assert_eq!(e.kind(), vectune_core::error::ErrorKind::Runtime);
                assert!(e.message().contains("corrupt model"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        // The waiter is not left hanging: it loads the key itself.
        let second = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the waiter woke");
        assert_eq!(second.unwrap().value, 7);
        waiter.join().unwrap();
        assert!(cache.contains("m"));
    }

    #[test]
    fn concurrent_misses_for_one_key_load_it_once() {
        let cache = Arc::new(ModelCache::new(1000));
        let loads = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|s| {
            for _ in 0..16 {
                let cache = cache.clone();
                let loads = loads.clone();
                s.spawn(move || {
                    let got = cache
                        .get_or_load("m", || {
                            loads.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            Ok((42u32, 8))
                        })
                        .unwrap();
                    assert_eq!(got.value, 42);
                });
            }
        });
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(cache.stats().insertions, 1);
    }
}
