//! The embedding cache: an image's encoding (its features and the split form's embedding) kept by
//! the image's content, so that predicting again for the same pixels with other parameters (a
//! slider moving in a page, a thin client sending only parameters to a server) runs only the
//! model's head. An LRU with a byte budget ([`crate::cache::LruCache`]); no I/O, no clock.
//!
//! The key is the SHA-256 of the image's size and RGBA8 pixels ([`ImageKey::of`]): equal keys mean
//! equal pixels, whatever buffer they came in. An encoding belongs to one encoder: a binding that
//! replaces its encoder clears the cache.
//!
//! ```
//! use std::sync::Arc;
//! use vectune_core::encoding::{Encoding, EncodingCache, ImageKey};
//! use vectune_core::{features, image::ImageRef};
//!
//! let rgba = [255u8, 0, 0, 255].repeat(4);
//! let image = ImageRef::new(&rgba, 2, 2)?;
//! let mut cache = EncodingCache::new(1 << 20);
//! let key = ImageKey::of(&image);
//! cache.insert(key, Arc::new(Encoding { features: features::compute(&image), embedding: vec![0.0; 96] }));
//! assert!(cache.get(&ImageKey::of(&ImageRef::new(&rgba.clone(), 2, 2)?)).is_some());
//! assert_eq!(cache.stats().hits, 1);
//! # Ok::<(), vectune_core::image::ImageError>(())
//! ```

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::cache::{CacheStats, LruCache};
use crate::features::Features;
use crate::image::ImageRef;

/// An image's identity: SHA-256 over its width and height (little-endian `u32`s) and its RGBA8
/// pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageKey([u8; 32]);

impl ImageKey {
    /// The key of `image`'s pixels.
    pub fn of(image: &ImageRef<'_>) -> ImageKey {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(image.width().to_le_bytes());
        h.update(image.height().to_le_bytes());
        h.update(image.data());
        ImageKey(h.finalize().into())
    }

    /// Lowercase hex.
    pub fn hex(&self) -> String {
        use core::fmt::Write;
        let mut out = String::with_capacity(64);
        for b in self.0 {
            let _ = write!(out, "{b:02x}");
        }
        out
    }
}

/// One image's encoding: what the split form's head needs to predict for any parameter set.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoding {
    /// The image's features (the heuristic's input, should the head fail).
    pub features: Features,
    /// The encoder's embedding row.
    pub embedding: Vec<f32>,
}

impl Encoding {
    /// Bytes it holds, as the cache's budget counts them.
    pub fn bytes(&self) -> u64 {
        (core::mem::size_of::<Encoding>() + self.embedding.len() * core::mem::size_of::<f32>())
            as u64
    }
}

/// Encodings by image, least recently used evicted past a byte budget.
pub struct EncodingCache {
    lru: LruCache<ImageKey, Arc<Encoding>>,
}

impl EncodingCache {
    /// An empty cache holding at most `budget_bytes` of encodings.
    pub fn new(budget_bytes: u64) -> EncodingCache {
        EncodingCache {
            lru: LruCache::new(budget_bytes),
        }
    }

    /// The encoding of `key`, counting a hit or a miss.
    pub fn get(&mut self, key: &ImageKey) -> Option<Arc<Encoding>> {
        self.lru.get(key).cloned()
    }

    /// Keeps `encoding` for `key`, evicting the least recently used to make room (one larger
    /// than the whole budget is not kept).
    pub fn insert(&mut self, key: ImageKey, encoding: Arc<Encoding>) {
        let bytes = encoding.bytes();
        let _ = self.lru.insert(key, encoding, bytes);
    }

    /// Forgets every encoding (the encoder changed).
    pub fn clear(&mut self) {
        self.lru.clear();
    }

    /// Counters and sizes.
    pub fn stats(&self) -> CacheStats {
        self.lru.stats()
    }
}

/// An [`EncodingCache`] behind shared access: a `RefCell` on one thread (the browser), a `Mutex`
/// across threads (native).
pub trait EncodingStore {
    /// The encoding of `key`, if held.
    fn get(&self, key: &ImageKey) -> Option<Arc<Encoding>>;
    /// Keeps `encoding` for `key`.
    fn put(&self, key: ImageKey, encoding: Arc<Encoding>);
}

impl EncodingStore for core::cell::RefCell<EncodingCache> {
    fn get(&self, key: &ImageKey) -> Option<Arc<Encoding>> {
        self.borrow_mut().get(key)
    }
    fn put(&self, key: ImageKey, encoding: Arc<Encoding>) {
        self.borrow_mut().insert(key, encoding);
    }
}

#[cfg(feature = "std")]
impl EncodingStore for std::sync::Mutex<EncodingCache> {
    fn get(&self, key: &ImageKey) -> Option<Arc<Encoding>> {
        self.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
    }
    fn put(&self, key: ImageKey, encoding: Arc<Encoding>) {
        self.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, encoding);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features;

    fn encoding(image: &ImageRef<'_>) -> Arc<Encoding> {
        Arc::new(Encoding {
            features: features::compute(image),
            embedding: alloc::vec![1.0; 96],
        })
    }

    #[test]
    fn keys_follow_the_pixels_and_the_budget_evicts() {
        let a = [10u8, 20, 30, 255].repeat(6);
        let mut b = a.clone();
        b[0] = 11;
        let (ia, ib) = (
            ImageRef::new(&a, 3, 2).unwrap(),
            ImageRef::new(&b, 3, 2).unwrap(),
        );
        assert_ne!(ImageKey::of(&ia), ImageKey::of(&ib));
        // same bytes, other shape: another image
        assert_ne!(
            ImageKey::of(&ia),
            ImageKey::of(&ImageRef::new(&a, 2, 3).unwrap())
        );
        assert_eq!(ImageKey::of(&ia).hex().len(), 64);
        let one = encoding(&ia).bytes();
        let mut cache = EncodingCache::new(one + one / 2);
        cache.insert(ImageKey::of(&ia), encoding(&ia));
        cache.insert(ImageKey::of(&ib), encoding(&ib));
        assert!(cache.get(&ImageKey::of(&ia)).is_none(), "evicted for b");
        assert!(cache.get(&ImageKey::of(&ib)).is_some());
        let s = cache.stats();
        assert_eq!((s.hits, s.misses, s.evictions, s.entries), (1, 1, 1, 1));
        cache.clear();
        assert_eq!(cache.stats().entries, 0);
    }
}
