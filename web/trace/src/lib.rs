//! # vectune-trace
//!
//! VTracer in the browser: the real SVG of a logo and its actual SSIM, so a page can show them
//! beside the prediction. A second WebAssembly module, apart from `vectune-web`, so that pages
//! that only predict never download it (`loadTracer()` in `web/js/index.js` imports it on first
//! use).
//!
//! Thin by design: parameters are the core's [`Params`] (a plain JS object, validated by the
//! core's `Deserialize`, so errors carry the core's messages), pixels the core's [`ImageRef`], and
//! the measurement is `vectune-measure`'s instrument itself ([`measure_with_clock`]: flatten on
//! white, VTracer 0.6.5, resvg, standard SSIM), built without its dataset builder. The SSIM is
//! therefore the one `vectune measure` reports for the same pixels and parameters.

use serde::{Deserialize, Serialize};
use vectune_core::error::{Error, ErrorKind};
use vectune_core::suggest::{self, Candidate};
use vectune_core::{image::ImageRef, params::Params};
use vectune_measure::{measure_with_clock, render::Renderer};
use wasm_bindgen::prelude::*;

/// How the image is named in the instrument's error messages.
const ITEM: &str = "image";

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`, in browsers, workers and Node (`std::time::Instant` panics on
    /// wasm32-unknown-unknown).
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
import type { Params, ParamsInput, Suggestion } from '../vectune_web.js';
/** What `trace` returns: VTracer's SVG and its measured quality. */
export interface Trace {
  /** The SVG document VTracer wrote. */
  svg: string;
  /** SSIM of the SVG rendered back against the original flattened on white (as `vectune measure`). */
  ssim: number;
  /** Size of `svg` in bytes (UTF-8). */
  svgBytes: number;
  /** Number of `<path>` elements. */
  paths: number;
  /** Wall time of VTracer alone, milliseconds. */
  traceMs: number;
  /** The complete parameter set used (omitted parameters at VTracer's defaults). */
  params: Params;
}
/** What `verify` returns: a suggestion checked with VTracer (as `vectune suggest --verify --json`'s `verified`). */
export interface Verified {
  /** The smallest measured SVG that reaches the target, else the most faithful measured. */
  params: Params;
  /** Its measured SSIM. */
  ssim: number;
  svg_bytes: number;
  met_target: boolean;
  /** Whether the choice is the suggestion's own pick (else the measurements overruled it). */
  kept_suggestion: boolean;
  /** Every shortlisted set, measured, in the shortlist's order. */
  measured: { params: Params; predicted_ssim: number; ssim: number; svg_bytes: number; vectorize_ms: number }[];
  /** Wall time of all the measurements, milliseconds. */
  ms: number;
}
"#;

/// The answer of [`trace`], as a plain JS object.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Trace {
    svg: String,
    ssim: f64,
    svg_bytes: usize,
    paths: usize,
    trace_ms: f64,
    params: Params,
}

/// Installs a panic hook that reports to the console. Input is validated before VTracer runs;
/// this is only so that a bug, should one exist, is visible.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Vectorizes an RGBA8 image with VTracer and measures the result: `{svg, ssim, svgBytes, paths,
/// traceMs, params}`. `params` is a plain object (omitted parameters take VTracer's defaults;
/// `undefined` for all defaults). Throws an `Error` with the core's message for a wrong buffer
/// length, a bad size or a parameter out of range, and the instrument's for an image too small
/// for SSIM (under 11 pixels on a side).
#[wasm_bindgen(unchecked_return_type = "Trace")]
pub fn trace(
    rgba: &[u8],
    width: u32,
    height: u32,
    #[wasm_bindgen(unchecked_param_type = "ParamsInput")] params: JsValue,
) -> Result<JsValue, JsValue> {
    let image = ImageRef::new(rgba, width, height).map_err(js_error)?;
    let params = parse_params(params)?;
    let (m, svg) = measure_with_clock(&image, &params, &Renderer::new(), ITEM, performance_now)
        .map_err(|e| {
            let e = Error::from(e);
            error_of(e.kind(), e)
        })?;
    let answer = Trace {
        ssim: m.ssim,
        svg_bytes: m.svg_bytes,
        paths: m.path_count,
        trace_ms: m.vectorize_ms,
        params,
        svg,
    };
    answer
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(JsValue::from)
}

/// The part of a `Suggestion` (vectune-web's `suggest`) that [`verify`] reads.
#[derive(Deserialize)]
struct ToVerify {
    params: Params,
    /// Absent from a hand-made suggestion: then the measured pick reports `null` as predicted.
    #[serde(default = "not_predicted")]
    predicted_ssim: f32,
    target: f32,
    #[serde(default)]
    shortlist: Vec<Candidate>,
}

fn not_predicted() -> f32 {
    f32::NAN
}

/// Checks a suggestion with VTracer: measures every set of its `shortlist` (one after another, as
/// [`trace`]) and keeps the smallest measured SVG that reaches its `target`, else the most faithful
/// measured (the core's `suggest::verified`, as `vectune suggest --verify`). `suggestion` is what
/// `Vectune.suggest` returned for these pixels. Throws an `Error` naming what is wrong for a
/// malformed suggestion, and as [`trace`] for bad pixels.
#[wasm_bindgen(unchecked_return_type = "Verified")]
pub fn verify(
    rgba: &[u8],
    width: u32,
    height: u32,
    #[wasm_bindgen(unchecked_param_type = "Suggestion")] suggestion: JsValue,
) -> Result<JsValue, JsValue> {
    let image = ImageRef::new(rgba, width, height).map_err(js_error)?;
    let s: ToVerify = serde_wasm_bindgen::from_value(suggestion).map_err(|e| {
        // serde-wasm-bindgen's errors are JS `Error`s; their text starts with "Error: "
        let e = e.to_string();
        js_error(format!(
            "not a suggestion: {}",
            e.strip_prefix("Error: ").unwrap_or(&e)
        ))
    })?;
    if !(0.0..=1.0).contains(&s.target) {
        return Err(js_error(format!(
            "not a suggestion: target {} is not in [0, 1]",
            s.target
        )));
    }
    // one measurement after another, as `trace`; the choice is the core's, as native verify's
    let measure = |sets: &[Candidate]| {
        let renderer = Renderer::new();
        sets.iter()
            .map(|c| {
                measure_with_clock(&image, &c.params, &renderer, ITEM, performance_now)
                    .map(|(m, _)| m.candidate(c.params, c.predicted_ssim))
                    .map_err(Error::from)
            })
            .collect()
    };
    let v = suggest::verify(
        &s.params,
        s.predicted_ssim,
        s.target,
        &s.shortlist,
        measure,
        &performance_now,
    )
    .map_err(|e| error_of(e.kind(), &e))?;
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(JsValue::from)
}

/// A plain JS object (or `undefined`/`null` for all defaults) to the core's parameters. The
/// core's `Deserialize` validates; serde-wasm-bindgen throws its message as a JS `Error`.
fn parse_params(params: JsValue) -> Result<Params, JsValue> {
    if params.is_undefined() || params.is_null() {
        return Ok(Params::default());
    }
    serde_wasm_bindgen::from_value(params).map_err(JsValue::from)
}

/// A JS `Error` carrying `message` and `kind` (the core's error kinds, as vectune-web's errors).
fn error_of(kind: ErrorKind, message: impl core::fmt::Display) -> JsValue {
    let out = js_sys::Error::new(&message.to_string());
    let _ = js_sys::Reflect::set(&out, &"kind".into(), &kind.as_str().into());
    out.into()
}

/// The caller's mistake as a JS `Error` of kind `bad_input`.
fn js_error(e: impl core::fmt::Display) -> JsValue {
    error_of(ErrorKind::BadInput, e)
}
