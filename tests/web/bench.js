// Latency of the wasm build in Node on the fixture models (a benchmark, not a test: numbers vary
// with the machine). Run after ./scripts/build-web.sh:  node tests/web/bench.js [runs]
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import { decodeImage, init, loadTracer, Vectune } from '../../web/pkg/index.js';
import { logo, logoPath, manifestText, modelBytes, reference, root } from './fixtures.js';

const runs = Number(process.argv[2] ?? 30);
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time(label, f) {
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    ms.push(performance.now() - t);
  }
  console.log(`${label.padEnd(44)} median ${median(ms).toFixed(2)} ms (${runs} runs)`);
}

let t = performance.now();
await init();
console.log(`${'init (compile + instantiate the .wasm)'.padEnd(44)} ${(performance.now() - t).toFixed(0)} ms`);
const manifest = manifestText();
const bytes = modelBytes();
t = performance.now();
const v = new Vectune(manifest, bytes);
console.log(`${'new Vectune (sha256, parse, optimise, warm up)'.padEnd(44)} ${(performance.now() - t).toFixed(0)} ms`);
for (const m of v.status().models.filter((r) => r.status.state === 'ready')) console.log(`  ${m.name.padEnd(20)} load ${m.load_ms.toFixed(0)} ms, warm-up ${m.warmup_ms.toFixed(1)} ms`);

const { rgba, width, height } = logo();
const ref = reference();
const eight = Array.from({ length: 8 }, (_, i) => ({ color_precision: 1 + i }));
// Two copies of the image alternate, so the encoding cache never hits: the whole prediction.
const other = rgba.slice();
other[0] ^= 0x80;
let flip = false;
const alternate = () => (flip = !flip) ? rgba : other;
time('predict, new image (features, encoder, head)', () => v.predict(alternate(), width, height, ref.params[0]));
time('predict, same image (cached encoding: head)', () => v.predict(rgba, width, height, ref.params[0]));
time('predictParams, new image, 8 sets', () => v.predictParams(alternate(), width, height, eight));
time('classify', () => v.classify(rgba, width, height));
time('heuristic', () => v.heuristic(rgba, width, height, ref.params[0]));
const combined = new Vectune(manifest, { 'quality_predictor.nnef.tar': bytes['quality_predictor.nnef.tar'] });
time('predict (combined model, 1 parameter set)', () => combined.predict(rgba, width, height, ref.params[0]));

const maxDiff = Math.max(...v.predictParams(rgba, width, height, ref.params).map((p, i) => Math.abs(p.ssim - ref.ssim[i])));
console.log(`max |wasm - ONNX Runtime reference| over ${ref.params.length} sets: ${maxDiff.toExponential(2)}`);

// The VTracer module (loaded lazily): load once, then trace + render + SSIM per call.
t = performance.now();
const tracer = await loadTracer();
console.log(`${'loadTracer (import, compile, instantiate)'.padEnd(44)} ${(performance.now() - t).toFixed(0)} ms`);
for (const [label, path] of [
  ['golden logo', logoPath],
  ['eval logo', `${root}models/data/eval/images/devicon-ballerina-line-wordmark-296.png`],
]) {
  const img = decodeImage(readFileSync(path));
  const vtracerMs = [];
  time(`trace, ${label} ${img.width}x${img.height}`, () => vtracerMs.push(tracer.trace(img.rgba, img.width, img.height, {}).traceMs));
  console.log(`${'  of which VTracer'.padEnd(44)} median ${median(vtracerMs).toFixed(2)} ms`);
}
