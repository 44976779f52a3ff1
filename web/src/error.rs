//! Errors at the JS edge: the core's typed errors become JS `Error`s with the core's message.

use wasm_bindgen::JsError;

/// Converts any core error (or serde-wasm-bindgen's) into a JS `Error`.
pub(crate) fn js_error(e: impl core::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// Serialises a value as a plain JS object (maps as objects, not `Map`s).
pub(crate) fn to_js<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<wasm_bindgen::JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(js_error)
}

/// The message of a thrown JS value: an `Error`'s `message` (without the `Error: ` prefix that
/// `toString` adds), a string as is.
pub(crate) fn message(value: wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    if let Some(e) = value.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}
