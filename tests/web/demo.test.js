// The demo page end to end in headless Chromium (Debian's, driven by playwright-core): a local
// static server serves the repository, the page loads the fixture models in a worker, the golden
// logo is uploaded, a slider is moved with the keyboard, and the shown prediction must equal the
// native value (ONNX Runtime's reference outputs, which the native backends match to 1e-5) within
// TOLERANCE. A bad file must show an error. A screenshot goes to target/web-demo.png.
// Skipped when Chromium is absent, unless VECTUNE_REQUIRE_BROWSER=1 (scripts/test.sh sets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { TOLERANCE, reference, root, softmax } from './fixtures.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && process.env.VECTUNE_REQUIRE_BROWSER === '1') {
  throw new Error(`Chromium not found at ${CHROMIUM} (VECTUNE_REQUIRE_BROWSER=1)`);
}

const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json',
  '.onnx': 'application/octet-stream', '.tar': 'application/x-tar', '.png': 'image/png', '.css': 'text/css',
};

/** A static server for the repository root on a free port (GET only, no path escapes). */
function serve() {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    let file = join(root, path);
    if (!file.startsWith(root) || path.split(sep).includes('..')) {
      res.writeHead(403).end();
      return;
    }
    if (file.endsWith('/')) file = join(file, 'index.html');
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('demo page: upload the golden logo, move a slider, prediction equals native', { skip: !haveBrowser && `no Chromium at ${CHROMIUM}` }, async () => {
  const { chromium } = await import('playwright-core');
  const server = await serve();
  const profile = mkdtempSync(join(tmpdir(), 'vectune-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const ref = reference();
    const { port } = server.address();
    await page.goto(`http://127.0.0.1:${port}/web/demo/?models=../../tests/fixtures/models/`);
    const ready = () => page.waitForFunction(() => document.body.dataset.state === 'ready');
    await ready();
    assert.match(await page.textContent('#status'), /quality: encoder \+ head/);

    // Defaults are reference.json's first parameter set.
    await page.setInputFiles('#file', fileURLToPath(new URL('../fixtures/golden/logo.png', import.meta.url)));
    await page.waitForSelector('#ssim[data-value]');
    await ready();
    const shown = async () => Number(await page.getAttribute('#ssim', 'data-value'));
    let ssim = await shown();
    assert.ok(Math.abs(ssim - ref.ssim[0]) <= TOLERANCE, `defaults: ${ssim} vs native ${ref.ssim[0]}`);
    assert.match(await page.textContent('#source'), /source: model/);
    const expectedClass = ['simple_geometric', 'text_based', 'gradient', 'complex'][
      softmax(ref.logits).indexOf(Math.max(...softmax(ref.logits)))
    ];
    await page.waitForSelector(`#classes[data-class="${expectedClass}"]`);

    // The second reference set: color_precision 6 -> 2 and filter_speckle 4 -> 10, with the keyboard.
    await page.focus('#p-color_precision');
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowLeft');
    await page.focus('#p-filter_speckle');
    for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowRight');
    assert.equal(await page.textContent('#v-color_precision'), '2');
    assert.equal(await page.textContent('#v-filter_speckle'), '10');
    await ready();
    ssim = await shown();
    assert.ok(Math.abs(ssim - ref.ssim[1]) <= TOLERANCE, `after the sliders: ${ssim} vs native ${ref.ssim[1]}`);
    mkdirSync(join(root, 'target'), { recursive: true });
    await page.screenshot({ path: join(root, 'target', 'web-demo.png'), fullPage: true });

    // A file that is not an image: the page says why and shows no prediction.
    await page.setInputFiles('#file', { name: 'bad.png', mimeType: 'image/png', buffer: Buffer.from('not an image') });
    await page.waitForFunction(() => document.getElementById('error').textContent !== '');
    assert.equal(await page.textContent('#error'), 'bad.png: cannot decode the image: not a PNG or JPEG file');
    assert.equal(await page.getAttribute('#ssim', 'data-value'), null);
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
