// tract (vectune's .wasm) and onnxruntime-web side by side in headless Chromium, on the packaged
// models (tests/web/latency/): both must load and give the same outputs on the same inputs
// (within 1e-4); the median latencies are measured and printed, and written to
// target/web-latency.json, not asserted (a shared machine is too noisy for timed assertions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

import { skipWithoutBrowser, withPage } from './browser.js';
import { root } from './fixtures.js';

const gz = (path) => gzipSync(readFileSync(join(root, path)), { level: 9 }).length;

test('tract and onnxruntime-web: same outputs on the packaged models; latencies measured', { skip: skipWithoutBrowser, timeout: 300_000 }, async () => {
  const result = await withPage(async (page, base) => {
    await page.goto(`${base}/tests/web/latency/?runs=30`);
    await page.waitForFunction(() => window.latency !== undefined, null, { timeout: 240_000 });
    assert.deepEqual(page.errors, []);
    return page.evaluate(() => window.latency);
  });
  assert.equal(result.error, undefined, result.error);
  assert.equal(result.tract_simd, true);
  for (const [task, m] of Object.entries(result.models)) {
    assert.ok(m.outputs > 0, task);
    assert.ok(m.max_abs_difference <= 1e-4, `${task}: tract and onnxruntime-web differ by ${m.max_abs_difference}`);
  }
  result.wasm_gzip_bytes = {
    vectune: gz('web/pkg/vectune_web_bg.wasm'),
    'onnxruntime-web': gz('node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm'),
  };
  mkdirSync(join(root, 'target'), { recursive: true });
  writeFileSync(join(root, 'target', 'web-latency.json'), `${JSON.stringify(result, null, 1)}\n`);
  const rows = Object.entries(result.models).map(([task, m]) =>
    `  ${task.padEnd(13)} tract ${m.tract_ms.toFixed(2).padStart(7)} ms   onnxruntime-web ${m.ort_ms.toFixed(2).padStart(7)} ms   ` +
    `ratio ${(m.tract_ms / m.ort_ms).toFixed(2)}   load ${m.tract_load_ms.toFixed(0)} / ${m.ort_load_ms.toFixed(0)} ms`);
  console.log([
    `Chromium, one thread, median of ${result.runs} (${result.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? '?'}, onnxruntime-web ${result.ort_version}):`,
    ...rows,
    `  whole predict on tract: new image (features, preprocessing, encoder + head) ${result.tract_predict_new_image_ms.toFixed(2)} ms, ` +
      `same image, new parameters (head only) ${result.tract_predict_same_image_ms.toFixed(2)} ms; suggest ${result.tract_suggest_ms.toFixed(1)} ms`,
    `  .wasm gzip -9: vectune ${(result.wasm_gzip_bytes.vectune / 1e6).toFixed(2)} MB, onnxruntime-web ${(result.wasm_gzip_bytes['onnxruntime-web'] / 1e6).toFixed(2)} MB`,
  ].join('\n'));
});
