// The VTracer module (web/trace, loaded by `loadTracer()`) against the native CLI: on the golden
// logo, decoded by the CLI's own decoder (`decodeImage`), `trace` must write the very SVG that
// `vectune measure --svg` writes and report the same SSIM (tolerance below), path count and size,
// for parameter sets across the ranges. Bad input must throw an Error with the core's message,
// and the module must keep working afterwards.
// Needs the CLI built by `cargo test`/`cargo build` (target/debug/vectune or $VECTUNE_BIN) for the
// parity test; skipped without it unless VECTUNE_REQUIRE_NATIVE=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { decodeImage, init, loadTracer, validateParams } from '../../web/pkg/index.js';
import { logoPath, nativeMeasure, skipWithoutNative } from './fixtures.js';

/** Both sides run the same Rust code on the same pixels; only the platform's libm may differ. */
const SSIM_TOLERANCE = 1e-9;

const sets = [
  {},
  { color_precision: 2, filter_speckle: 10 },
  { color_precision: 1, filter_speckle: 16, corner_threshold: 180 },
  { color_precision: 8, length_threshold: 10, splice_threshold: 0, path_precision: 8, layer_difference: 255 },
];

async function golden() {
  await init();
  return decodeImage(readFileSync(logoPath));
}

test('trace equals `vectune measure` on the golden logo: same SVG, same SSIM', { skip: skipWithoutNative }, async () => {
  const { rgba, width, height } = await golden();
  const tracer = await loadTracer();
  for (const params of sets) {
    const native = nativeMeasure(logoPath, params);
    const t = tracer.trace(rgba, width, height, params);
    assert.deepEqual(t.params, native.json.params, JSON.stringify(params));
    assert.equal(t.svg, native.svg, `SVG for ${JSON.stringify(params)}`);
    assert.equal(t.svgBytes, native.json.svg_bytes);
    assert.equal(t.paths, native.json.path_count);
    assert.ok(
      Math.abs(t.ssim - native.json.ssim) <= SSIM_TOLERANCE,
      `${JSON.stringify(params)}: wasm ${t.ssim} vs native ${native.json.ssim}`,
    );
    assert.ok(t.traceMs >= 0 && Number.isFinite(t.traceMs));
  }
});

test('trace: an SVG, an SSIM in [0, 1], the complete parameter set; loadTracer is shared', async () => {
  const { rgba, width, height } = await golden();
  const tracer = await loadTracer();
  assert.equal(await loadTracer(), tracer, 'one module, loaded once');
  const t = tracer.trace(rgba, width, height, undefined);
  assert.match(t.svg, new RegExp(`^<\\?xml[^>]*>\\s*(<!--[^>]*-->\\s*)?<svg [^>]*width="${width}" height="${height}"`));
  assert.equal(t.svgBytes, Buffer.byteLength(t.svg));
  assert.equal(t.paths, t.svg.split('<path').length - 1);
  assert.ok(t.paths > 0);
  assert.ok(t.ssim > 0.5 && t.ssim <= 1, `ssim ${t.ssim}`);
  assert.deepEqual(t.params, validateParams({}));
  // Coarser colours cost fidelity and paths on this logo.
  const coarse = tracer.trace(rgba, width, height, { color_precision: 1 });
  assert.ok(coarse.ssim < t.ssim, `${coarse.ssim} < ${t.ssim}`);
});

test('trace: bad input throws an Error with the core\'s message and the module keeps working', async () => {
  const { rgba, width, height } = await golden();
  const { trace } = await loadTracer();
  /** The message `fn` throws, checking that it throws an Error. */
  const thrown = (fn) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof Error, `an Error, not ${err}`);
      return err.message;
    }
    assert.fail('did not throw');
  };
  for (const bad of [{ color_precision: 0 }, { colour_precision: 4 }, { filter_speckle: 2.5 }, { corner_threshold: 'high' }]) {
    const core = thrown(() => validateParams(bad));
    assert.equal(thrown(() => trace(rgba, width, height, bad)), core, JSON.stringify(bad));
  }
  assert.match(thrown(() => trace(rgba, width, height, { color_precision: 0 })), /color_precision/);
  assert.equal(
    thrown(() => trace(rgba.subarray(4), width, height, {})),
    `RGBA buffer for a ${width}x${height} image must be ${width * height * 4} bytes (width*height*4), got ${width * height * 4 - 4}`,
  );
  assert.equal(thrown(() => trace(new Uint8Array(0), 0, 0, {})), 'image has zero size (0x0)');
  assert.equal(
    thrown(() => trace(new Uint8Array(5 * 5 * 4).fill(255), 5, 5, {})),
    'cannot compute SSIM for `image`: 5x5 is smaller than the 11x11 window',
  );
  // No trap: the instance still answers.
  assert.ok(trace(rgba, width, height, {}).ssim > 0.5);
});
