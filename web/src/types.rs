//! TypeScript types of the plain objects the bindings take and return, emitted into the generated
//! `.d.ts` beside wasm-bindgen's own; functions name them with `unchecked_*_type`. Field names are
//! those of the serde types they describe (`Params`, `Prediction`, `ModelReport`, ...).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** The eight VTracer parameters (names as in `paramSchema()`). */
export interface Params {
  color_precision: number;
  corner_threshold: number;
  length_threshold: number;
  max_iterations: number;
  splice_threshold: number;
  path_precision: number;
  layer_difference: number;
  filter_speckle: number;
}
/** Parameters as given: omitted ones take VTracer's defaults; `undefined` means all defaults. */
export type ParamsInput = Partial<Params> | undefined | null;
/** One row of `paramSchema()`. */
export interface ParamSpec {
  name: keyof Params;
  type: "integer" | "float";
  min: number;
  max: number;
  default: number;
  step: number;
  unit: string;
  description: string;
}
/** RGBA8 pixels, row-major, `width * height * 4` bytes (e.g. `ImageData.data`). */
export type Rgba = Uint8Array | Uint8ClampedArray;
/** A decoded image (`decodeImage`). */
export interface DecodedImage {
  rgba: Uint8Array;
  width: number;
  height: number;
}
/** A predicted SSIM and what produced it. */
export interface Prediction {
  ssim: number;
  source: "model" | "heuristic";
  /** The complete parameter set (defaults filled in). */
  params: Params;
  /** Why the heuristic answered although a quality model was loaded. */
  fallback?: string;
}
/** One item of `predictBatch`. */
export interface BatchItem {
  rgba: Rgba | ArrayBuffer;
  width: number;
  height: number;
  params?: ParamsInput;
}
/** One answer of `predictBatch`: a prediction or that item's error. */
export type BatchAnswer = Prediction | { error: string };
export type LogoClass = "simple_geometric" | "text_based" | "gradient" | "complex";
export interface Classification {
  class: LogoClass;
  probabilities: Record<LogoClass, number>;
}
/** A parameter suggestion (`suggest`; the same fields as `vectune suggest --json`). */
export interface Suggestion {
  params: Params;
  predicted_ssim: number;
  /** From the correlation file's size model, when it loaded. */
  predicted_svg_bytes?: number;
  target: number;
  /** The safety margin: the choice was among candidates predicted to reach target + margin. */
  margin: number;
  /** Whether the prediction reaches the target (else: the most faithful candidate). */
  met_target: boolean;
  /** Where the search started. */
  start: Params;
  start_from: "correlation" | "defaults";
  /** The logo class used for the start, when a classifier is ready. */
  class?: LogoClass;
  /** Parameter sets scored. */
  candidates: number;
  source: "model" | "heuristic";
  /** The candidates worth checking with a real VTracer run (`loadTracer()` then `trace`), best first:
   * this suggestion, the choices at safety margins 0.02, 0.05 and 0.1, the most faithful, the smallest
   * SVGs predicted within 0.02 and 0.05 of the target, and VTracer's defaults; no repeats, at most 8. `vectune suggest --verify` measures them all and keeps the smallest
   * SVG that reaches the target. */
  shortlist: ShortlistCandidate[];
}
/** One of a suggestion's `shortlist`. */
export interface ShortlistCandidate {
  params: Params;
  predicted_ssim: number;
  /** From the correlation file's size model, when it loaded. */
  predicted_svg_bytes?: number;
}
/** Image statistics (see core/src/features.rs). */
export interface Features {
  width: number;
  height: number;
  unique_colors: number;
  color_entropy: number;
  edge_density: number;
  gradient_strength: number;
  corner_density: number;
  transparency: number;
  complexity: number;
}
/** Model bytes by model name or file name; a string stands for "could not fetch: <why>". */
export type ModelBytes =
  | Record<string, Uint8Array | ArrayBuffer | string>
  | Map<string, Uint8Array | ArrayBuffer | string>;
export interface ModelReport {
  name: string;
  task: string;
  format: string;
  backend: string | null;
  status: { state: "ready" } | { state: "unavailable"; reason: string };
  load_ms: number;
  warmup_ms: number;
  bytes: number;
}
export interface Status {
  backend: string;
  version: string;
  /** Whether this build uses WebAssembly SIMD. */
  simd: boolean;
  /** How quality is predicted: encoder + head, the combined model, or the heuristic. */
  quality: "split" | "combined" | "heuristic";
  classifier: boolean;
  /** Whether the suggester's correlation models loaded (else `suggest` starts from the defaults). */
  correlation: boolean;
  manifest_error: string | null;
  models: ModelReport[];
  memory: { model_bytes: number; runtime_bytes: number };
}
/** A validated `manifest.json` (see core/src/manifest.rs). */
export interface Manifest {
  schema_version: number;
  models: { name: string; task: string; file: string; format: string; sha256: string; bytes?: number; [k: string]: unknown }[];
}
"#;
