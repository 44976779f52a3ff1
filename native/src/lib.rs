//! # vectune-native
//!
//! vectune on the server: decodes images from files, turns command-line and JSON input into the
//! core's typed values, and runs the core's logic. Its modules mirror `vectune-core`'s
//! (`image`, `params`, ...), so a reader of `core/src/params.rs` finds its native face in
//! `native/src/params.rs`. The model manager, backends and predictors (ONNX Runtime, tract,
//! libtorch) arrive with the runtime issue; until then predictions come from the core's
//! heuristic and say so (`source: "heuristic"`).

pub mod error;
pub mod image;
pub mod params;
pub mod predict;

pub use error::NativeError;
