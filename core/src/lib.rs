//! # vectune-core
//!
//! The logic of vectune, written once and shared by the native server (`vectune-native`) and the
//! browser (`vectune-web`). vectune predicts how faithful VTracer's SVG of a logo will be (its SSIM
//! against the original) for a given parameter set, classifies the logo and suggests parameters.
//!
//! This crate is `#![no_std]` + `alloc`: no I/O, no threads, no clocks, no image decoding. It works
//! on RGBA8 pixel buffers ([`image::ImageRef`]) and numbers. Each module is one concept:
//!
//! | module | what it holds |
//! |---|---|
//! | [`params`] | the VTracer parameter schema (one table), validation, encoding to `[f32; 8]` |
//! | [`image`] | a validated, borrowed RGBA8 image and the pixel-count limit |
//! | [`preprocess`] | RGBA8 -> white composite -> letterbox -> area resize -> ImageNet CHW tensor |
//! | [`features`] | cheap image statistics with documented formulas |
//! | [`heuristic`] | a fallback quality estimate from features + parameters |
//! | [`batch`] | batch splitting, tensor assembly, result scatter, the dynamic-batching policy |
//! | [`cache`] | an LRU, memory-budgeted cache with pinning and stats |
//! | [`manifest`] | the model manifest types and their validation |
//! | [`backend`] | the `Send + Sync` trait every inference runtime implements |
//! | [`predict`] | the quality model for one image and many parameter sets, output checks, class probabilities |
//! | [`suggest`] | starting parameters from the correlation model, candidate search, the choice |
//!
//! ```
//! use vectune_core::{features, heuristic, image::ImageRef, params::Params};
//!
//! // A 2x2 red square, fully opaque.
//! let rgba = [255u8, 0, 0, 255].repeat(4);
//! let image = ImageRef::new(&rgba, 2, 2)?;
//! let params = Params::from_pairs_with_defaults([("color_precision", 4.0)])?;
//! let f = features::compute(&image);
//! let q = heuristic::estimate(&f, &params);
//! assert!((0.0..=1.0).contains(&q));
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod backend;
pub mod batch;
pub mod cache;
pub mod features;
pub mod heuristic;
pub mod image;
pub mod manifest;
pub mod params;
pub mod predict;
pub mod preprocess;
pub mod suggest;

/// The crate version, as the bindings report it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
