// Types of the package entry (index.js). The classes, functions and result types of the
// WebAssembly module come from wasm-bindgen's generated vectune_web.d.ts.
import type { Vectune, Status, Prediction, ParamsInput, BatchItem, BatchAnswer, Classification, Suggestion, Features, Rgba, DecodedImage, ParamSpec } from './vectune_web.js';

import type { Trace, Verified } from './trace/vectune_trace.js';

export * from './vectune_web.js';
export type { Trace, Verified } from './trace/vectune_trace.js';

/** Loads the .wasm once (fetch in browsers, the file system in Node); later calls share it. */
export declare function init(module?: BufferSource | WebAssembly.Module | URL | string | Response): Promise<unknown>;

/** The VTracer module (a second .wasm), loaded by `loadTracer`. */
export interface Tracer {
  /** VTracer's SVG of an RGBA8 image and its actual SSIM (as `vectune measure`); throws on bad input. */
  trace(rgba: Rgba, width: number, height: number, params?: ParamsInput): Trace;
  /** A suggestion (`Vectune.suggest` on these pixels) checked with VTracer: its `shortlist` measured, the
   * smallest measured SVG that reaches its target kept, else the most faithful (as `vectune suggest --verify`). */
  verify(rgba: Rgba, width: number, height: number, suggestion: Suggestion): Verified;
}

/** Imports the VTracer module on first call; later calls share it. A failed load rejects and may be retried. */
export declare function loadTracer(module?: BufferSource | WebAssembly.Module | URL | string | Response): Promise<Tracer>;

declare module './vectune_web.js' {
  namespace Vectune {
    /** Fetches manifest.json and the model files the browser uses (NNEF, JSON) from a directory
     * URL (a path under Node). */
    function fromUrl(baseUrl: string | URL, options?: { fetch?: typeof fetch }): Promise<Vectune>;
  }
}

/** A Vectune in a Web Worker: the same methods, as promises. */
export declare class VectuneWorker {
  static create(modelsUrl: string | URL | null, options?: { workerUrl?: string | URL }): Promise<VectuneWorker>;
  /** `status()` as of loading. */
  loaded: Status;
  predict(rgba: Rgba, width: number, height: number, params?: ParamsInput): Promise<Prediction>;
  predictParams(rgba: Rgba, width: number, height: number, params: ParamsInput[]): Promise<Prediction[]>;
  predictBatch(items: BatchItem[]): Promise<BatchAnswer[]>;
  classify(rgba: Rgba, width: number, height: number): Promise<Classification>;
  suggest(rgba: Rgba, width: number, height: number, target?: number, margin?: number): Promise<Suggestion>;
  heuristic(rgba: Rgba, width: number, height: number, params?: ParamsInput): Promise<Prediction>;
  features(rgba: Rgba, width: number, height: number): Promise<Features>;
  status(): Promise<Status>;
  version(): Promise<string>;
  /** `decodeImage` in the worker (the pixels come back to the page). */
  decodeImage(bytes: Uint8Array): Promise<DecodedImage>;
  paramSchema(): Promise<ParamSpec[]>;
  /** `loadTracer()` then `trace` in the worker: the VTracer module is loaded there on first use. */
  trace(rgba: Rgba, width: number, height: number, params?: ParamsInput): Promise<Trace>;
  /** `loadTracer()` then `verify` in the worker. */
  verify(rgba: Rgba, width: number, height: number, suggestion: Suggestion): Promise<Verified>;
  terminate(): void;
}
