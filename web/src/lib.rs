//! # vectune-web
//!
//! The browser face of `vectune-core`, through wasm-bindgen. Thin by design: each file mirrors a
//! core module (`params.rs` <-> `core/src/params.rs`, ...), takes plain JS values
//! (serde-wasm-bindgen, never JSON strings), calls the core, and converts the core's typed errors
//! into JS `Error`s carrying the core's message and kind ([`error`]).
//!
//! The model-backed [`vectune::Vectune`] class runs the core's model pipeline on tract's NNEF
//! graphs ([`backend`]), loaded by the core from bytes the page provides ([`manager`],
//! sha256-checked against the manifest), and predicts as the native side does ([`predict`],
//! heuristic fallback, the core's embedding cache). The free functions work with no model at all.

use wasm_bindgen::prelude::*;

mod backend;
mod error;
mod features;
mod heuristic;
mod image;
mod manager;
mod manifest;
mod params;
mod predict;
mod types;
mod vectune;

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

/// Fixture access for the host unit tests (the committed fixture models and golden logo).
#[cfg(test)]
mod test_support {
    use std::path::PathBuf;

    use vectune_core::models::Loaded;

    pub fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
    }

    pub fn manifest() -> String {
        std::fs::read_to_string(fixtures().join("models/manifest.json")).unwrap()
    }

    /// The fixture models, loaded as the page would: bytes by file name.
    pub fn load_fixture_models() -> Loaded {
        crate::manager::load(&manifest(), |entry| {
            std::fs::read(fixtures().join("models").join(&entry.file)).map_err(|e| e.to_string())
        })
    }

    pub fn reference() -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(fixtures().join("models/reference.json")).unwrap(),
        )
        .unwrap()
    }

    /// The golden logo as RGBA8.
    pub fn logo() -> (Vec<u8>, u32, u32) {
        let bytes = std::fs::read(fixtures().join("golden/logo.png")).unwrap();
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgba);
        buf.truncate(info.buffer_size());
        (buf, info.width, info.height)
    }
}
