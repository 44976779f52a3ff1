// The wasm build against the native CLI itself (`vectune predict --batch --json` on both native
// backends): the same image file, decoded by each side's own decoder, and parameter sets across the
// ranges must give the same SSIM within TOLERANCE. Needs the CLI built by `cargo test`/`cargo build`
// (target/debug/vectune or $VECTUNE_BIN); skipped without it unless VECTUNE_REQUIRE_NATIVE=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { init, Vectune, decodeImage } from '../../web/pkg/index.js';
import { TOLERANCE, logoPath, modelsDir, nativeBin as bin, requireNative, root, skipWithoutNative } from './fixtures.js';

const sets = [
  {},
  { color_precision: 4 },
  { color_precision: 1, filter_speckle: 16, corner_threshold: 180 },
  { color_precision: 8, length_threshold: 10, splice_threshold: 0, path_precision: 8, layer_difference: 255 },
  { max_iterations: 1, layer_difference: 1, filter_speckle: 0 },
];

for (const backend of ['tract', 'ort']) {
  test(`wasm predictions equal the native CLI (${backend})`, { skip: skipWithoutNative }, async () => {
    requireNative();
    await init();
    const input = sets.map((params) => JSON.stringify({ image: logoPath, params })).join('\n');
    const lines = execFileSync(bin, ['--models', fileURLToPath(modelsDir), '--backend', backend, 'predict', '--batch', '-', '--json'], {
      input,
      encoding: 'utf8',
    }).trim().split('\n').map((l) => JSON.parse(l));
    const v = await Vectune.fromUrl(modelsDir);
    const { rgba, width, height } = decodeImage(readFileSync(logoPath));
    const wasm = v.predictParams(rgba, width, height, sets);
    lines.forEach((native, i) => {
      assert.equal(native.source, 'model');
      assert.equal(wasm[i].source, 'model');
      assert.deepEqual(wasm[i].params, native.params);
      assert.ok(Math.abs(wasm[i].ssim - native.ssim) <= TOLERANCE, `set ${i}: wasm ${wasm[i].ssim} vs native ${native.ssim}`);
    });
    v.free();
  });
}

test('wasm suggest equals `vectune suggest` on the packaged models (tract)', { skip: skipWithoutNative }, async () => {
  requireNative();
  await init();
  const packaged = join(root, 'models');
  const native = JSON.parse(execFileSync(bin, ['--models', packaged, '--backend', 'tract', 'suggest', logoPath, '--json'], { encoding: 'utf8' }));
  const v = await Vectune.fromUrl(packaged);
  assert.equal(v.status().correlation, true);
  const { rgba, width, height } = decodeImage(readFileSync(logoPath));
  const wasm = v.suggest(rgba, width, height, 0.95);
  assert.equal(wasm.start_from, 'correlation');
  assert.equal(wasm.source, 'model');
  for (const key of ['params', 'start', 'start_from', 'class', 'candidates', 'met_target', 'target']) {
    assert.deepEqual(wasm[key], native[key], key);
  }
  assert.ok(Math.abs(wasm.predicted_ssim - native.predicted_ssim) <= TOLERANCE, `${wasm.predicted_ssim} vs ${native.predicted_ssim}`);
  assert.ok(Math.abs(wasm.predicted_svg_bytes - native.predicted_svg_bytes) <= 1e-3 * native.predicted_svg_bytes);
  assert.throws(() => v.suggest(rgba, width, height, 2), /^Error: target SSIM 2 is not in \[0, 1\]$/);
  v.free();
});
