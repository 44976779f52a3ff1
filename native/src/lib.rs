//! # vectune-native
//!
//! vectune on the server: decodes images from files, turns command-line and JSON input into the
//! core's typed values, and runs the core's logic. Its modules mirror `vectune-core`'s
//! (`image`, `params`, ...), so a reader of `core/src/params.rs` finds its native face in
//! `native/src/params.rs`. [`backends`] turn model files into graphs (ONNX Runtime, tract,
//! libtorch); [`manager::ModelManager`] supplies a model directory's files and an LRU cache to the
//! core's model set; [`predict`] predicts with them or, without them, with the core's heuristic,
//! and says which (`source`). Errors are the core's [`vectune_core::error::Error`], with a kind.

pub mod backends;
pub mod batching;
pub mod cache;
pub mod classify;
pub mod error;
pub mod image;
pub mod manager;
pub mod memory;
pub mod nnef;
pub mod params;
pub mod predict;
pub mod requests;
pub mod serve;
pub mod suggest;
pub mod triton;

pub use error::NativeError;

/// The directory of the running executable (where an installed release keeps its neighbours:
/// `../lib` for ONNX Runtime, `../share/vectune` for the models and the web page).
pub fn install_dir() -> Option<std::path::PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(std::path::Path::to_path_buf))
}
