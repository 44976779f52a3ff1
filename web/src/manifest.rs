//! JS face of `vectune_core::manifest`.

use vectune_core::manifest::Manifest;
use wasm_bindgen::prelude::*;

use crate::error::{js_error, to_js};

/// Parses and validates the text of `manifest.json` (checksum format, safe relative file paths,
/// shapes, preprocessing, parameter encoding) and returns it as an object; throws an `Error` with
/// the core's message. `Vectune.fromUrl` fetches model files only from a manifest that passed.
#[wasm_bindgen(js_name = parseManifest, unchecked_return_type = "Manifest")]
pub fn parse_manifest(text: &str) -> Result<JsValue, JsValue> {
    to_js(&Manifest::from_json(text).map_err(js_error)?)
}
