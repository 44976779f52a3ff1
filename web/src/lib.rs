//! # vectune-web
//!
//! The browser face of `vectune-core`, through wasm-bindgen. Thin by design: each file mirrors a
//! core module (`params.rs` <-> `core/src/params.rs`, ...), takes plain JS values
//! (serde-wasm-bindgen, never JSON strings), calls the core, and converts the core's typed errors
//! into JS `Error`s carrying the core's message ([`error`]). The model-backed `Vectune` class
//! (tract) arrives with the browser issue; what is here works with no model at all.

use wasm_bindgen::prelude::*;

mod error;
mod features;
mod heuristic;
mod params;

/// Installs a panic hook that reports to the console. Validation never relies on panics; this is
/// only so that a bug, should one exist, is visible.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The vectune version (the core's).
#[wasm_bindgen]
pub fn version() -> String {
    vectune_core::VERSION.to_string()
}
