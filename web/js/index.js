// vectune in the browser and in Node: the ESM entry of the npm package.
//
// The wasm-bindgen module (`vectune_web.js`, built by scripts/build-web.sh) does the work; this
// file adds what JS does best: loading the .wasm (fetch in browsers, the file system in Node),
// `Vectune.fromUrl` (fetch manifest.json and the model files), `VectuneWorker` (a Vectune in a
// Web Worker behind promises, see worker.js), and `loadTracer` (VTracer itself, a second module in
// trace/, imported only when first asked for).

import wasmInit, {
  initSync,
  Vectune,
  decodeImage,
  features,
  heuristic,
  paramSchema,
  parseManifest,
  validateParams,
  version,
} from './vectune_web.js';

export { initSync, Vectune, decodeImage, features, heuristic, paramSchema, parseManifest, validateParams, version };

let ready;

/** Bytes at `url`: the file system for `file:` URLs (Node), else `fetchFn`. */
async function readBytes(url, fetchFn = globalThis.fetch) {
  if (url.protocol === 'file:') {
    const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:fs/promises');
    return new Uint8Array(await readFile(url));
  }
  const response = await fetchFn(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** A URL for `base`: URL objects and absolute URLs as they are, else relative to the page, else
 * (Node) a file-system path. */
async function toUrl(base) {
  if (base instanceof URL) return base;
  try {
    return new URL(base);
  } catch {
    // not absolute
  }
  if (typeof location !== 'undefined') return new URL(base, location.href);
  const { pathToFileURL } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:url');
  return pathToFileURL(base);
}

/**
 * Loads and instantiates the WebAssembly module once; later calls return the same promise.
 * `module` may be the .wasm's bytes, a `WebAssembly.Module`, a URL or a `Response`; by default
 * `vectune_web_bg.wasm` beside this file (read from disk under Node).
 */
export function init(module) {
  ready ??= (async () => {
    if (module !== undefined) return wasmInit({ module_or_path: module });
    const url = new URL('./vectune_web_bg.wasm', import.meta.url);
    return wasmInit({ module_or_path: url.protocol === 'file:' ? await readBytes(url) : url });
  })().catch((err) => {
    ready = undefined; // a failed load (e.g. offline) may be retried
    throw err;
  });
  return ready;
}

/** The manifest formats the browser build uses: tract's NNEF exports of the ONNX models
 * (`vectune export-nnef`) and the suggester's JSON. ONNX and TorchScript files are for the native
 * backends and are not fetched. */
const BROWSER_FORMATS = new Set(['nnef', 'json']);

let tracer;

/**
 * Loads the VTracer module (trace/, built from web/trace) on first call; later calls return the
 * same promise. Resolves to `{ trace, verify }`: `trace(rgba, width, height, params)` returns
 * VTracer's SVG and its actual SSIM, as `vectune measure` computes it; `verify(rgba, width, height,
 * suggestion)` measures a suggestion's `shortlist` and keeps the smallest measured SVG that reaches
 * its target, as `vectune suggest --verify`. A failed load (e.g. offline
 * before the first call) rejects with an Error saying so, and may be retried.
 * `module` may be the .wasm's bytes, a `WebAssembly.Module`, a URL or a `Response`.
 */
export function loadTracer(module) {
  tracer ??= (async () => {
    const glue = await import('./trace/vectune_trace.js');
    const url = new URL('./trace/vectune_trace_bg.wasm', import.meta.url);
    const source = module ?? (url.protocol === 'file:' ? await readBytes(url) : url);
    await glue.default({ module_or_path: source });
    return { trace: glue.trace, verify: glue.verify };
  })().catch((err) => {
    tracer = undefined;
    throw new Error(`cannot load the VTracer module: ${err?.message ?? err}`, { cause: err });
  });
  return tracer;
}

/**
 * Fetches `manifest.json` from `baseUrl` (a directory URL, or a path under Node), validates it,
 * fetches every model file the browser uses (formats `nnef` and `json`) in parallel and returns a
 * Vectune. A model that cannot be fetched or fails its sha256 check is reported unavailable by
 * `status()` and its task falls back to the heuristic; an unreachable or invalid manifest throws.
 * @param {string | URL} baseUrl
 * @param {{ fetch?: typeof fetch }} [options]
 */
Vectune.fromUrl = async function fromUrl(baseUrl, options = {}) {
  await init();
  let base = await toUrl(baseUrl);
  if (!base.pathname.endsWith('/')) base = new URL(`${base.href}/`);
  const manifestUrl = new URL('manifest.json', base);
  const text = new TextDecoder().decode(await readBytes(manifestUrl, options.fetch));
  const manifest = parseManifest(text);
  const models = {};
  await Promise.all(
    manifest.models.filter((entry) => BROWSER_FORMATS.has(entry.format)).map(async (entry) => {
      const url = new URL(entry.file, base);
      try {
        models[entry.file] = await readBytes(url, options.fetch);
      } catch (err) {
        models[entry.file] = `cannot fetch ${url}: ${err?.message ?? err}`;
      }
    }),
  );
  return new Vectune(text, models);
};

/** The methods a `VectuneWorker` forwards (see worker.js). */
const WORKER_METHODS = [
  'predict', 'predictParams', 'predictBatch', 'classify', 'suggest', 'heuristic', 'features', 'status', 'version',
  'decodeImage', 'paramSchema', 'trace', 'verify',
];

/**
 * A Vectune running in a Web Worker: the same methods, returning promises, so the page never
 * blocks on inference. Create with `await VectuneWorker.create(modelsUrl)`.
 */
export class VectuneWorker {
  #worker;
  #next = 0;
  #pending = new Map();

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = (event) => {
      const { id, result, error } = event.data;
      const pending = this.#pending.get(id);
      if (!pending) return;
      this.#pending.delete(id);
      if (error !== undefined) pending.reject(new Error(error));
      else pending.resolve(result);
    };
    worker.onerror = (event) => {
      const err = new Error(`vectune worker failed: ${event.message ?? 'unknown error'}`);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    for (const method of WORKER_METHODS) {
      this[method] = (...args) => this.#call(method, args);
    }
  }

  #call(method, args) {
    return new Promise((resolve, reject) => {
      const id = this.#next++;
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, method, args });
    });
  }

  /**
   * Starts a worker and loads the models from `modelsUrl` (relative URLs are resolved against the
   * page; `null` for no models: heuristic only). Resolves once the models are ready.
   * @param {string | URL | null} modelsUrl
   * @param {{ workerUrl?: string | URL }} [options]
   */
  static async create(modelsUrl, options = {}) {
    const workerUrl = options.workerUrl ?? new URL('./worker.js', import.meta.url);
    const client = new VectuneWorker(new Worker(workerUrl, { type: 'module' }));
    const base = modelsUrl == null ? null : String(await toUrl(modelsUrl));
    client.loaded = await client.#call('load', [base]);
    return client;
  }

  /** Stops the worker; pending calls reject. */
  terminate() {
    this.#worker.terminate();
    for (const p of this.#pending.values()) p.reject(new Error('vectune worker terminated'));
    this.#pending.clear();
  }
}
