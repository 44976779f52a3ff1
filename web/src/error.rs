//! Errors at the JS edge: the core's typed errors become JS `Error`s carrying the core's message
//! and its kind (`error.kind`: `bad_input`, `model_unavailable`, `overloaded` or `runtime`), with
//! `error.field` (bad input) or `error.model` (a model) when the core names one.

use js_sys::Reflect;
use vectune_core::error::Error;
use wasm_bindgen::JsValue;

/// A JS `Error` for a core error, with its kind, field and model.
pub(crate) fn js_error(e: impl Into<Error>) -> JsValue {
    let e: Error = e.into();
    let out = js_sys::Error::new(&e.to_string());
    let set = |k: &str, v: &str| {
        let _ = Reflect::set(&out, &JsValue::from_str(k), &JsValue::from_str(v));
    };
    set("kind", e.kind().as_str());
    if let Some(field) = e.field() {
        set("field", field);
    }
    if let Some(model) = e.model() {
        set("model", model);
    }
    out.into()
}

/// A JS `Error` of kind `bad_input` for the caller's mistake, in words.
pub(crate) fn bad_input(message: impl core::fmt::Display) -> JsValue {
    let out = js_sys::Error::new(&message.to_string());
    let _ = Reflect::set(
        &out,
        &JsValue::from_str("kind"),
        &JsValue::from_str(vectune_core::error::ErrorKind::BadInput.as_str()),
    );
    out.into()
}

/// Serialises a value as a plain JS object (maps as objects, not `Map`s).
pub(crate) fn to_js<T: serde::Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(Error::runtime(e)))
}

/// The message of a thrown JS value: an `Error`'s `message` (without the `Error: ` prefix that
/// `toString` adds), a string as is.
pub(crate) fn message(value: JsValue) -> String {
    use wasm_bindgen::JsCast;
    if let Some(e) = value.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}
