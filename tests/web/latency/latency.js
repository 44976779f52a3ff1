// tract (vectune's .wasm) vs onnxruntime-web on the same packaged models, in one page, one thread
// each: the same deterministic inputs go to both runtimes; the page reports load times, median
// latencies and the largest output difference in `window.latency` (read by
// tests/web/latency.test.js) and on the page.
import * as ort from '../../../node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';
import { init, Vectune, decodeImage } from '../../../web/pkg/index.js';
import { feedsFor, median } from './inputs.js';

const runs = Number(new URLSearchParams(location.search).get('runs') ?? 30);
const WARMUP = 3;
const models = new URL('../../../models/', import.meta.url);
const out = document.getElementById('out');

/** Median ms per call over `runs` samples; a sample repeats `f` until at least 2 ms have passed,
 * because the page's clock is coarse (0.1 ms without cross-origin isolation). */
async function time(f) {
  for (let i = 0; i < WARMUP; i++) await f();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    let calls = 0;
    do {
      await f();
      calls++;
    } while (performance.now() - t < 2);
    ms.push((performance.now() - t) / calls);
  }
  return median(ms);
}

async function main() {
  const result = { runs, userAgent: navigator.userAgent, crossOriginIsolated, models: {} };
  let t = performance.now();
  await init();
  result.tract_init_ms = performance.now() - t;
  t = performance.now();
  const vectune = await Vectune.fromUrl(models);
  result.tract_load_all_ms = performance.now() - t;
  const status = vectune.status();
  result.tract_simd = status.simd;

  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = new URL('../../../node_modules/onnxruntime-web/dist/', import.meta.url).href;
  result.ort_version = ort.env.versions?.web ?? null;

  const manifest = await (await fetch(new URL('manifest.json', models))).json();
  const graphs = [
    ['quality', 'quality_predictor'],
    ['quality_head', 'quality_head'],
    ['classifier', 'logo_classifier'],
  ];
  for (const [task, name] of graphs) {
    const entry = manifest.models.find((m) => m.name === name);
    const { feeds, ortFeeds } = feedsFor(entry, ort.Tensor);
    t = performance.now();
    const session = await ort.InferenceSession.create(new URL(entry.file, models).href, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
    });
    const ortLoad = performance.now() - t;
    const ortOut = (await session.run(ortFeeds))[session.outputNames[0]].data;
    const tractOut = vectune.runModel(task, feeds);
    let diff = 0;
    for (let i = 0; i < tractOut.length; i++) diff = Math.max(diff, Math.abs(tractOut[i] - ortOut[i]));
    const tractReport = status.models.find((m) => m.name === `${name}_nnef`);
    result.models[task] = {
      outputs: tractOut.length,
      max_abs_difference: diff,
      tract_ms: await time(() => vectune.runModel(task, feeds)),
      ort_ms: await time(() => session.run(ortFeeds)),
      tract_load_ms: tractReport.load_ms,
      ort_load_ms: ortLoad,
    };
    await session.release();
  }
  // What a page calls: the whole prediction (features, preprocessing, encoder + head) on tract.
  const png = new Uint8Array(await (await fetch(new URL('../../fixtures/golden/logo.png', import.meta.url))).arrayBuffer());
  const { rgba, width, height } = decodeImage(png);
  // A new image each call (two alternating copies: the encoding cache never hits) ...
  const other = rgba.slice();
  other[0] ^= 0x80;
  let flip = false;
  result.tract_predict_new_image_ms = await time(() => {
    flip = !flip;
    return vectune.predict(flip ? rgba : other, width, height, { color_precision: 4 });
  });
  // ... and the same image with changing parameters (a slider moving: only the head runs).
  let cp = 1;
  result.tract_predict_same_image_ms = await time(() => {
    cp = (cp % 8) + 1;
    return vectune.predict(rgba, width, height, { color_precision: cp });
  });
  result.tract_suggest_ms = await time(() => vectune.suggest(rgba, width, height));
  window.latency = result;
  out.textContent = JSON.stringify(result, null, 1);
}

main().catch((err) => {
  window.latency = { error: String(err?.stack ?? err) };
  out.textContent = `failed: ${err?.stack ?? err}`;
});
