//! # vectune-core
//!
//! The logic of vectune, written once and shared by the native server (`vectune-native`) and the
//! browser (`vectune-web`). vectune predicts how faithful VTracer's SVG of a logo will be (its SSIM
//! against the original) for a given parameter set, classifies the logo and suggests parameters.
//!
//! This crate is `#![no_std]` + `alloc`: no I/O, no threads, no clocks. It works on RGBA8 pixel
//! buffers ([`image::ImageRef`]) and numbers; the optional feature `decode` (with `std`) adds the
//! one PNG/JPEG decoder every front end uses. Each module is one concept:
//!
//! | module | what it holds |
//! |---|---|
//! | [`error`] | the one error type, with the kind every edge reports (bad input, model unavailable, overloaded, runtime) |
//! | [`params`] | the VTracer parameter schema (one table), validation, encoding to `[f32; 8]` |
//! | [`image`] | a validated, borrowed RGBA8 image, the pixel-count limit, and (feature `decode`) PNG/JPEG decoding |
//! | [`preprocess`] | RGBA8 -> white composite -> letterbox -> area resize -> ImageNet CHW tensor |
//! | [`features`] | cheap image statistics with documented formulas, and the models' statistics input |
//! | [`heuristic`] | a fallback quality estimate from features + parameters |
//! | [`batch`] | the parameter tensor, and grouping a bulk request's items by image |
//! | [`cache`] | an LRU, memory-budgeted cache with pinning and stats |
//! | [`encoding`] | the embedding cache: an image's encoding kept by its content |
//! | [`manifest`] | the model manifest types and their validation |
//! | [`graph`] | the `Send + Sync` trait every runtime's loaded graph implements, and its tensor layouts |
//! | [`models`] | vectune's models by task over any runtime: loading, reports, the pipeline's model calls |
//! | [`predict`] | the quality model for one image and many parameter sets, output checks, class probabilities |
//! | [`suggest`] | starting parameters from the correlation model, candidate search, the choice, verification |
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

pub mod batch;
pub mod cache;
pub mod encoding;
pub mod error;
pub mod features;
pub mod graph;
pub mod heuristic;
pub mod image;
pub mod manifest;
pub mod models;
pub mod params;
pub mod predict;
pub mod preprocess;
pub mod suggest;

/// The crate version, as the bindings report it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
