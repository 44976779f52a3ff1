// The demo page end to end in headless Chromium (Debian's, driven by playwright-core): a local
// static server serves the repository, the page loads the fixture models in a worker, the golden
// logo is uploaded, a slider is moved with the keyboard, and the shown prediction must equal the
// native value (ONNX Runtime's reference outputs, which the native backends match to 1e-5) within
// TOLERANCE. A bad file must show an error. A screenshot goes to target/web-demo.png.
// The VTracer preview: the trace module is fetched only on the first "Trace"; the SVG shown, the
// actual SSIM and the downloaded file must be `vectune measure`'s (the Node trace module's when the
// CLI is not built); it re-traces offline after a slider moves; a failed load says so and can be
// retried; a bad file clears the preview.
// Skipped when Chromium is absent, unless VECTUNE_REQUIRE_BROWSER=1 (scripts/test.sh sets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { decodeImage, init, loadTracer } from '../../web/pkg/index.js';
import { skipWithoutBrowser, withBrowser } from './browser.js';
import { TOLERANCE, logo, logoPath, nativeMeasure, reference, root, softmax, useNative } from './fixtures.js';

/** Runs `body({ context, server, open })` with the repository served and a fresh headless Chromium;
 * `open()` opens the demo page with the fixture models and resolves once it is ready. */
async function withDemo(body) {
  await withBrowser(async ({ context, server, base }) => {
    const pageErrors = [];
    const open = async () => {
      const page = await context.newPage();
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.goto(`${base}/web/demo/?models=../../tests/fixtures/models/`);
      await page.waitForFunction(() => document.body.dataset.state === 'ready');
      return page;
    };
    await body({ context, server, open });
    assert.deepEqual(pageErrors, []);
  });
}

test('demo page: upload the golden logo, move a slider, prediction equals native', { skip: skipWithoutBrowser }, async () => {
  await withDemo(async ({ open }) => {
    const page = await open();
    const ref = reference();
    const ready = () => page.waitForFunction(() => document.body.dataset.state === 'ready');
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
    // Suggest: the sliders move to the suggestion and the prediction shown is its predicted SSIM.
    await page.click('#suggest');
    await page.waitForFunction(() => document.getElementById('suggestion').dataset.json !== undefined);
    await ready();
    const suggestion = JSON.parse(await page.getAttribute('#suggestion', 'data-json'));
    assert.equal(suggestion.source, 'model');
    assert.equal(suggestion.start_from, 'defaults', 'the fixtures have no correlation file');
    for (const [name, value] of Object.entries(suggestion.params)) {
      assert.equal(Number(await page.inputValue(`#p-${name}`)), value, name);
    }
    ssim = await shown();
    assert.ok(Math.abs(ssim - suggestion.predicted_ssim) <= 1e-6, `${ssim} vs suggested ${suggestion.predicted_ssim}`);
    assert.match(await page.textContent('#suggestion'), /the target 0.95: predicted/);
    mkdirSync(join(root, 'target'), { recursive: true });
    await page.screenshot({ path: join(root, 'target', 'web-demo.png'), fullPage: true });

    // Check with VTracer: the worker measures the shortlist and the sliders go to the measured choice, the one the
    // tracer's verify makes in Node for the same suggestion.
    await page.check('#verify');
    await page.click('#suggest');
    await page.waitForFunction(() => document.getElementById('suggestion').dataset.verified !== undefined);
    await ready();
    const verified = JSON.parse(await page.getAttribute('#suggestion', 'data-verified'));
    const checked = JSON.parse(await page.getAttribute('#suggestion', 'data-json'));
    assert.equal(verified.measured.length, checked.shortlist.length);
    await init();
    const { rgba, width, height } = decodeImage(readFileSync(logoPath));
    const local = (await loadTracer()).verify(rgba, width, height, checked);
    assert.deepEqual(verified.params, local.params);
    assert.equal(verified.svg_bytes, local.svg_bytes);
    for (const [name, value] of Object.entries(verified.params)) {
      assert.equal(Number(await page.inputValue(`#p-${name}`)), value, name);
    }
    assert.match(await page.textContent('#suggestion'), /the target 0.95: measured [0-9.]+, SVG .* measured with VTracer/);
    await page.uncheck('#verify');

    // A file that is not an image: the page says why and shows no prediction.
    await page.setInputFiles('#file', { name: 'bad.png', mimeType: 'image/png', buffer: Buffer.from('not an image') });
    await page.waitForFunction(() => document.getElementById('error').textContent !== '');
    assert.equal(await page.textContent('#error'), 'bad.png: cannot decode the image: not a PNG or JPEG file');
    assert.equal(await page.getAttribute('#ssim', 'data-value'), null);
  });
});

/** What the page must show for `params`: `vectune measure`'s SVG and SSIM (the Node trace module's,
 * which tests/web/trace.test.js checks against the CLI, when the CLI is not built). */
async function expectedTrace(params) {
  if (useNative) {
    const { json, svg } = nativeMeasure(logoPath, params);
    return { ssim: json.ssim, svg };
  }
  await init();
  const { rgba, width, height } = decodeImage(readFileSync(logoPath));
  const { ssim, svg } = (await loadTracer()).trace(rgba, width, height, params);
  return { ssim, svg };
}

test('demo page: VTracer preview, loaded lazily, actual SSIM equals native, SVG download, offline', { skip: skipWithoutBrowser }, async () => {
  await withDemo(async ({ context, server, open }) => {
    const traceRequests = () => server.requested.filter((p) => p.includes('/trace/'));
    const page = await open();
    const traced = () => page.waitForFunction(() => document.getElementById('trace-panel').dataset.state === 'ready');
    assert.equal(await page.isDisabled('#trace'), true, 'nothing to trace before an image');
    await page.setInputFiles('#file', logoPath);
    await page.waitForSelector('#ssim[data-value]');
    assert.deepEqual(traceRequests(), [], 'the trace module is not fetched before it is asked for');

    // The first trace loads the module, shows the original beside the SVG and the actual SSIM.
    await page.click('#trace');
    await traced();
    assert.deepEqual(traceRequests().sort(), ['/web/pkg/trace/vectune_trace.js', '/web/pkg/trace/vectune_trace_bg.wasm']);
    let want = await expectedTrace({});
    assert.equal(await page.textContent('#actual'), want.ssim.toFixed(4));
    assert.ok(Math.abs(Number(await page.getAttribute('#actual', 'data-value')) - want.ssim) <= 1e-9);
    assert.equal(await page.isVisible('#actual-line'), true);
    const { width, height } = logo();
    await page.waitForFunction(([w, h]) => ['trace-original', 'trace-svg'].every((id) => {
      const img = document.getElementById(id);
      return img.complete && img.naturalWidth === w && img.naturalHeight === h;
    }), [width, height]);
    assert.equal(await page.isVisible('#trace-figures'), true);

    // The download is the SVG itself, named after the file.
    const link = await page.$eval('#download', (a) => ({ href: a.href, name: a.download, hidden: a.hidden }));
    assert.match(link.href, /^blob:/);
    assert.deepEqual([link.name, link.hidden], ['logo.svg', false]);
    const blob = await page.evaluate(async (href) => {
      const b = await (await fetch(href)).blob();
      return { type: b.type, text: await b.text() };
    }, link.href);
    assert.deepEqual(blob, { type: 'image/svg+xml', text: want.svg });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.equal(download.suggestedFilename(), 'logo.svg');
    assert.equal(readFileSync(await download.path(), 'utf8'), want.svg);

    // Offline now: moving sliders traces again with the module already loaded.
    await context.setOffline(true);
    const before = await page.getAttribute('#actual', 'data-value');
    await page.focus('#p-color_precision');
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowLeft');
    await page.focus('#p-filter_speckle');
    for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowRight');
    await page.waitForFunction((b) => document.getElementById('actual').dataset.value !== b, before);
    await traced();
    want = await expectedTrace({ color_precision: 2, filter_speckle: 10 });
    assert.equal(await page.textContent('#actual'), want.ssim.toFixed(4));
    assert.equal(await page.evaluate(async () => (await fetch(document.getElementById('download').href)).text()), want.svg);
    assert.equal(await page.textContent('#trace-error'), '');
    mkdirSync(join(root, 'target'), { recursive: true });
    await page.screenshot({ path: join(root, 'target', 'web-demo-trace.png'), fullPage: true });
    await context.setOffline(false);

    // A file that is not an image clears the preview.
    await page.setInputFiles('#file', { name: 'bad.png', mimeType: 'image/png', buffer: Buffer.from('not an image') });
    await page.waitForFunction(() => document.getElementById('error').textContent !== '');
    assert.equal(await page.isHidden('#trace-figures'), true);
    assert.equal(await page.isHidden('#download'), true);
    assert.equal(await page.isHidden('#actual-line'), true);
    assert.equal(await page.isDisabled('#trace'), true);

    // A page that cannot fetch the module says so, and a later click retries.
    server.failing = /\/trace\//;
    const second = await open();
    await second.setInputFiles('#file', logoPath);
    await second.click('#trace');
    await second.waitForFunction(() => document.getElementById('trace-panel').dataset.state === 'error');
    assert.match(await second.textContent('#trace-error'), /^cannot load the VTracer module: /);
    assert.equal(await second.isHidden('#trace-figures'), true);
    server.failing = undefined;
    await second.click('#trace');
    await second.waitForFunction(() => document.getElementById('trace-panel').dataset.state === 'ready');
    assert.equal(await second.textContent('#actual'), (await expectedTrace({})).ssim.toFixed(4));
  });
});
