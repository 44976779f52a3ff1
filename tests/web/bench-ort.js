// tract (vectune's .wasm) vs onnxruntime-web on the packaged models in Node, one thread each, the
// same inputs: a benchmark for quick iteration on the browser latency gap (Node 20's ratio matches
// Chromium's; the browser comparison that the suite runs is tests/web/latency.test.js).
// Run after ./scripts/build-web.sh:  node tests/web/bench-ort.js [runs] [modelDir]
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import * as ort from 'onnxruntime-web';
import { init, Vectune } from '../../web/pkg/index.js';
import { feedsFor, median } from './latency/inputs.js';

const runs = Number(process.argv[2] ?? 200);
const models = process.argv[3] ?? fileURLToPath(new URL('../../models/', import.meta.url));
const read = (f) => readFileSync(`${models}/${f}`);

await init();
const manifestText = read('manifest.json').toString();
const manifest = JSON.parse(manifestText);
const bytes = {};
for (const m of manifest.models) if (m.format === 'nnef') bytes[m.file] = read(m.file);
const vectune = new Vectune(manifestText, bytes);
ort.env.wasm.numThreads = 1;

async function time(f) {
  for (let i = 0; i < 10; i++) await f();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

for (const [task, name] of [['quality', 'quality_predictor'], ['quality_head', 'quality_head'], ['classifier', 'logo_classifier']]) {
  const entry = manifest.models.find((m) => m.name === name);
  const { feeds, ortFeeds } = feedsFor(entry, ort.Tensor);
  const session = await ort.InferenceSession.create(read(entry.file), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const a = vectune.runModel(task, feeds);
  const b = (await session.run(ortFeeds))[session.outputNames[0]].data;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  const tract = await time(() => vectune.runModel(task, feeds));
  const onnx = await time(() => session.run(ortFeeds));
  console.log(`${task.padEnd(13)} tract ${tract.toFixed(3)} ms  onnxruntime-web ${onnx.toFixed(3)} ms  ratio ${(tract / onnx).toFixed(2)}  max |diff| ${diff.toExponential(1)}  (median of ${runs})`);
  await session.release();
}
