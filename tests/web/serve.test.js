// `vectune serve` as a whole product in headless Chromium: the service (the native debug binary, on a
// free loopback port, with the fixture models) serves the demo page at `/` and the models at
// `/models/`; the page predicts in WebAssembly, and what it shows must be what the service's own API
// answers for the same pixels and parameters: the predicted SSIM (`POST /v1/predict`, within
// TOLERANCE: wasm tract vs native ONNX Runtime) and VTracer's actual SSIM (`POST /v1/measure`, equal).
// Skipped without Chromium or the native binary unless VECTUNE_REQUIRE_BROWSER=1 /
// VECTUNE_REQUIRE_NATIVE=1 (scripts/test.sh sets both).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { skipWithoutBrowser, withChromium } from './browser.js';
import { TOLERANCE, logoPath, nativeBin, skipWithoutNative } from './fixtures.js';

const models = fileURLToPath(new URL('../fixtures/models/', import.meta.url));

/** Starts `vectune serve` on a free port; resolves to { base, stop } once it is ready. */
async function startService() {
  const child = spawn(nativeBin, ['--models', models, 'serve', '--addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`vectune serve exited with ${code}`)));
  });
  const base = line.replace(/^listening on /, '');
  for (let i = 0; i < 1200; i++) {
    if ((await fetch(`${base}/v2/health/ready`)).status === 200) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); });
  return { base, stop };
}

async function api(base, path, body) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

test('the page at / of `vectune serve`: drop a logo, move a slider, trace; numbers equal the API\'s',
  { skip: skipWithoutBrowser || skipWithoutNative }, async () => {
    const { base, stop } = await startService();
    try {
      await withChromium(async (context) => {
        const page = await context.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${base}/`);
        assert.match(page.url(), /\/web\/demo\/\?models=\/models\/$/);
        await page.waitForFunction(() => document.body.dataset.state === 'ready');
        assert.match(await page.textContent('#status'), /quality: encoder \+ head/);
        const image = readFileSync(logoPath).toString('base64');
        const ready = () => page.waitForFunction(() => document.body.dataset.state === 'ready');
        const shown = async () => Number(await page.getAttribute('#ssim', 'data-value'));

        await page.setInputFiles('#file', logoPath);
        await page.waitForSelector('#ssim[data-value]');
        await ready();
        let want = await api(base, '/v1/predict', { image });
        assert.ok(Math.abs(await shown() - want.ssim) <= TOLERANCE, `page ${await shown()} vs service ${want.ssim}`);

        // a slider: color_precision 6 -> 4, with the keyboard; the service by image_id agrees
        await page.focus('#p-color_precision');
        for (let i = 0; i < 2; i++) await page.keyboard.press('ArrowLeft');
        await page.waitForFunction(() => document.getElementById('p-color_precision').value === '4');
        await ready();
        want = await api(base, '/v1/predict', { image_id: want.image_id, params: { color_precision: 4 } });
        await page.waitForFunction((w) => Math.abs(Number(document.getElementById('ssim').dataset.value) - w) <= 1e-4, want.ssim);

        // the real trace in the page equals the service's measure
        await page.click('#trace');
        await page.waitForFunction(() => document.getElementById('trace-panel').dataset.state === 'ready');
        const measured = await api(base, '/v1/measure', { image_id: want.image_id, params: { color_precision: 4 } });
        assert.equal(await page.textContent('#actual'), measured.ssim.toFixed(4));

        // Suggest moves the sliders: every value shown briefly (a float to two decimals), and the trace is
        // redone for the new parameters (marked stale until then), equal to the service's measure of them
        await page.click('#suggest');
        await page.waitForFunction(() => document.getElementById('suggestion').dataset.json !== undefined);
        const suggested = JSON.parse(await page.getAttribute('#suggestion', 'data-json'));
        assert.match(await page.textContent('#v-length_threshold'), /^\d+(\.\d{1,2})?$/);
        await page.waitForFunction(() => {
          const line = document.getElementById('actual-line');
          return !('stale' in line.dataset) && document.getElementById('trace-panel').dataset.state === 'ready';
      });
      const again = await api(base, '/v1/measure', { image_id: want.image_id, params: suggested.params });
      assert.equal(await page.textContent('#actual'), again.ssim.toFixed(4));
      assert.deepEqual(errors, []);
      });
    } finally {
      await stop();
    }
  });
