// The demo page end to end in headless Chromium (Debian's, driven by playwright-core): a local
// static server serves the repository, the page loads the fixture models in a worker, the golden
// logo is uploaded, a slider is moved with the keyboard, and the shown prediction must equal the
// native value (ONNX Runtime's reference outputs, which the native backends match to 1e-5) within
// TOLERANCE. A bad file must show an error. A screenshot goes to target/web-demo.png.
// Skipped when Chromium is absent, unless VECTUNE_REQUIRE_BROWSER=1 (scripts/test.sh sets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { skipWithoutBrowser, withPage } from './browser.js';
import { TOLERANCE, reference, root, softmax } from './fixtures.js';

test('demo page: upload the golden logo, move a slider, prediction equals native', { skip: skipWithoutBrowser }, async () => {
  await withPage(async (page, base) => {
    const ref = reference();
    await page.goto(`${base}/web/demo/?models=../../tests/fixtures/models/`);
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

    // A file that is not an image: the page says why and shows no prediction.
    await page.setInputFiles('#file', { name: 'bad.png', mimeType: 'image/png', buffer: Buffer.from('not an image') });
    await page.waitForFunction(() => document.getElementById('error').textContent !== '');
    assert.equal(await page.textContent('#error'), 'bad.png: cannot decode the image: not a PNG or JPEG file');
    assert.equal(await page.getAttribute('#ssim', 'data-value'), null);
    assert.deepEqual(page.errors, []);
  });
});
