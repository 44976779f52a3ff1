//! JS face of `vectune_core::params`.

use vectune_core::params::{ParamKind, Params, SCHEMA};
use wasm_bindgen::prelude::*;

use crate::error::to_js;

#[derive(serde::Serialize)]
struct SpecJs {
    name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    min: f64,
    max: f64,
    default: f64,
    step: f64,
    unit: &'static str,
    description: &'static str,
}

/// The parameter schema: `[{name, type, min, max, default, step, unit, description}, ...]` in
/// encoding order, for building sliders.
#[wasm_bindgen(js_name = paramSchema, unchecked_return_type = "ParamSpec[]")]
pub fn param_schema() -> Result<JsValue, JsValue> {
    let rows: Vec<SpecJs> = SCHEMA
        .iter()
        .map(|s| SpecJs {
            name: s.name,
            kind: match s.kind {
                ParamKind::Integer => "integer",
                ParamKind::Float => "float",
            },
            min: s.min,
            max: s.max,
            default: s.default,
            step: s.step,
            unit: s.unit,
            description: s.description,
        })
        .collect();
    to_js(&rows)
}

/// Validates a plain object of parameters (omitted ones take VTracer's defaults) and returns the
/// complete set; throws an `Error` naming the parameter and its range.
#[wasm_bindgen(js_name = validateParams, unchecked_return_type = "Params")]
pub fn validate_params(
    #[wasm_bindgen(unchecked_param_type = "ParamsInput")] params: JsValue,
) -> Result<JsValue, JsValue> {
    to_js(&parse(params)?)
}

/// A JS object (or `undefined` for all defaults) to core parameters.
pub(crate) fn parse(params: JsValue) -> Result<Params, JsValue> {
    parse_value(params).map_err(crate::error::bad_input)
}

/// As [`parse`], with the core's message as a string (for errors that get a prefix).
pub(crate) fn parse_value(params: JsValue) -> Result<Params, String> {
    if params.is_undefined() || params.is_null() {
        return Ok(Params::default());
    }
    serde_wasm_bindgen::from_value(params).map_err(|e| crate::error::message(e.into()))
}
