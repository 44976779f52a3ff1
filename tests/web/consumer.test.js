// The npm package as a consumer gets it: `npm pack`, install the tarball into a fresh project,
// import `vectune` by name, predict in Node from the fixture models' directory, and trace with the
// VTracer module the package ships (loaded lazily); then a bundler-free page of that project (an
// import map) in headless Chromium predicts and suggests with the models the package ships.
// Run after ./scripts/build-web.sh:  node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Vectune, decodeImage, loadTracer } from '../../web/pkg/index.js';
import { skipWithoutBrowser, withPage } from './browser.js';
import { TOLERANCE, logo, logoPath, modelsDir, reference, root } from './fixtures.js';

test('npm pack, install the tarball in a new project, import, predict and trace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vectune-consumer-'));
  try {
    const npm = (...args) => execFileSync('npm', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }),
    );
    const files = packed.files.map((f) => f.path);
    for (const f of ['web/pkg/index.js', 'web/pkg/index.d.ts', 'web/pkg/worker.js', 'web/pkg/vectune_web.js', 'web/pkg/vectune_web_bg.wasm',
      'web/pkg/trace/vectune_trace.js', 'web/pkg/trace/vectune_trace.d.ts', 'web/pkg/trace/vectune_trace_bg.wasm']) {
      assert.ok(files.includes(f), `${f} is packed (${files.join(', ')})`);
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    npm('install', '--no-audit', '--no-fund', '--offline', join(dir, packed.filename));
    const ref = reference();
    const { rgba, width, height } = logo();
    writeFileSync(
      join(dir, 'main.js'),
      `import { init, loadTracer, Vectune, paramSchema } from 'vectune';
await init();
const v = await Vectune.fromUrl(${JSON.stringify(fileURLToPath(modelsDir))});
const rgba = new Uint8Array(${JSON.stringify(Array.from(rgba))});
const p = v.predict(rgba, ${width}, ${height}, ${JSON.stringify(ref.params[0])});
const t = (await loadTracer()).trace(rgba, ${width}, ${height}, ${JSON.stringify(ref.params[0])});
console.log(JSON.stringify({ params: paramSchema().length, status: v.status().quality, p, traced: { ssim: t.ssim, svg: t.svg } }));
`,
    );
    const out = JSON.parse(execFileSync('node', ['main.js'], { cwd: dir, encoding: 'utf8' }));
    assert.equal(out.params, 8);
    assert.equal(out.status, 'split');
    assert.equal(out.p.source, 'model');
    assert.ok(Math.abs(out.p.ssim - ref.ssim[0]) <= TOLERANCE, `${out.p.ssim} vs ${ref.ssim[0]}`);
    // The VTracer module ships in the package and loads lazily there: the same SVG and SSIM as here.
    const local = (await loadTracer()).trace(rgba, width, height, ref.params[0]);
    assert.deepEqual(out.traced, { ssim: local.ssim, svg: local.svg });

    // A bundler-free page of the consumer project: an import map names the installed package; the
    // page loads the models the package ships (NNEF, correlation file), predicts and suggests.
    if (!skipWithoutBrowser) {
      writeFileSync(join(dir, 'logo.png'), readFileSync(logoPath));
      writeFileSync(join(dir, 'index.html'), `<!doctype html><meta charset="utf-8">
<script type="importmap">{"imports": {"vectune": "./node_modules/vectune/web/pkg/index.js"}}</script>
<script type="module">
import { init, Vectune, decodeImage } from 'vectune';
try {
  await init();
  const v = await Vectune.fromUrl('./node_modules/vectune/models/');
  const { rgba, width, height } = decodeImage(new Uint8Array(await (await fetch('./logo.png')).arrayBuffer()));
  window.result = { status: v.status(), p: v.predict(rgba, width, height, { color_precision: 4 }), s: v.suggest(rgba, width, height) };
} catch (err) {
  window.result = { error: String(err) };
}
</script>`);
      const page = await withPage(async (p, base) => {
        await p.goto(`${base}/index.html`);
        await p.waitForFunction(() => window.result !== undefined);
        assert.deepEqual(p.errors, []);
        return p.evaluate(() => window.result);
      }, dir);
      assert.equal(page.error, undefined, page.error);
      assert.equal(page.status.quality, 'split');
      assert.equal(page.status.correlation, true);
      const packaged = await Vectune.fromUrl(join(root, 'models'));
      const decoded = decodeImage(readFileSync(logoPath));
      const want = packaged.predict(decoded.rgba, decoded.width, decoded.height, { color_precision: 4 });
      assert.equal(page.p.source, 'model');
      assert.ok(Math.abs(page.p.ssim - want.ssim) <= 1e-6, `${page.p.ssim} vs ${want.ssim}`);
      assert.deepEqual(page.s.params, packaged.suggest(decoded.rgba, decoded.width, decoded.height).params);
      packaged.free();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
