// The Web Worker side of `VectuneWorker` (index.js): one Vectune per worker. Messages are
// `{id, method, args}`; answers `{id, result}` or `{id, error}` (the Error's message).

import { init, Vectune, decodeImage, loadTracer, paramSchema } from './index.js';

const METHODS = new Set(['predict', 'predictParams', 'predictBatch', 'classify', 'suggest', 'heuristic', 'features', 'status', 'version']);
// Free functions, answered without a loaded Vectune.
const FUNCTIONS = { decodeImage, paramSchema };
let vectune;

self.onmessage = async (event) => {
  const { id, method, args } = event.data;
  try {
    let result;
    if (method === 'load') {
      await init();
      vectune = args[0] == null ? new Vectune() : await Vectune.fromUrl(args[0]);
      result = vectune.status();
    } else if (method === 'trace' || method === 'verify') {
      // VTracer's module is imported here on the first trace or verify only.
      result = (await loadTracer())[method](...args);
    } else if (Object.hasOwn(FUNCTIONS, method)) {
      await init();
      result = FUNCTIONS[method](...args);
    } else if (!METHODS.has(method)) {
      throw new Error(`unknown method \`${method}\``);
    } else if (!vectune) {
      throw new Error('the worker has not loaded vectune yet');
    } else {
      result = vectune[method](...args);
    }
    self.postMessage({ id, result });
  } catch (err) {
    self.postMessage({ id, error: err?.message ?? String(err) });
  }
};
