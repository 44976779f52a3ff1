// The VTracer module (web/trace, loaded by `loadTracer()`) against the native CLI: on the golden
// logo, decoded by the CLI's own decoder (`decodeImage`), `trace` must write the very SVG that
// `vectune measure --svg` writes and report the same SSIM (tolerance below), path count and size,
// for parameter sets across the ranges. Bad input must throw an Error with the core's message,
// and the module must keep working afterwards.
// Needs the CLI built by `cargo test`/`cargo build` (target/debug/vectune or $VECTUNE_BIN) for the
// parity test; skipped without it unless VECTUNE_REQUIRE_NATIVE=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { decodeImage, init, loadTracer, validateParams, Vectune } from '../../web/pkg/index.js';
import { logoPath, nativeBin, nativeMeasure, requireNative, root, skipWithoutNative } from './fixtures.js';

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

test('verify equals `vectune suggest --verify` on the packaged models (tract): the same sets measured, the same choice', { skip: skipWithoutNative }, async () => {
  requireNative();
  const { rgba, width, height } = await golden();
  const packaged = join(root, 'models');
  const native = JSON.parse(execFileSync(nativeBin,
    ['--models', packaged, '--backend', 'tract', 'suggest', logoPath, '--target', '0.9', '--verify', '--json'],
    { encoding: 'utf8' }));
  const v = await Vectune.fromUrl(packaged);
  const suggestion = v.suggest(rgba, width, height, 0.9);
  v.free();
  assert.deepEqual(suggestion.shortlist.map((c) => c.params), native.shortlist.map((c) => c.params));
  const checked = (await loadTracer()).verify(rgba, width, height, suggestion);
  const want = native.verified;
  assert.deepEqual(checked.params, want.params);
  assert.equal(checked.svg_bytes, want.svg_bytes);
  assert.ok(Math.abs(checked.ssim - want.ssim) <= SSIM_TOLERANCE, `${checked.ssim} vs ${want.ssim}`);
  assert.equal(checked.met_target, want.met_target);
  assert.equal(checked.kept_suggestion, want.kept_suggestion);
  assert.deepEqual(checked.measured.map((m) => [m.params, m.svg_bytes]), want.measured.map((m) => [m.params, m.svg_bytes]));
  assert.ok(checked.ms >= 0 && Number.isFinite(checked.ms));
});

test('verify: a malformed suggestion throws an Error naming what is wrong', async () => {
  const { rgba, width, height } = await golden();
  const { verify } = await loadTracer();
  assert.throws(() => verify(rgba, width, height, { params: {} }), /^Error: not a suggestion: missing field `target`/);
  assert.throws(() => verify(rgba, width, height, { params: {}, target: 1.5, shortlist: [] }),
    /^Error: not a suggestion: target 1.5 is not in \[0, 1\]$/);
  assert.throws(() => verify(rgba, width, height, { params: {}, target: 0.9, shortlist: [{ params: { color_precision: 0 }, predicted_ssim: 0.9 }] }),
    /color_precision/);
  // An empty shortlist: the suggestion's own set, measured.
  const alone = verify(rgba, width, height, { params: { color_precision: 5 }, target: 0.9, shortlist: [] });
  assert.equal(alone.measured.length, 1);
  assert.equal(alone.params.color_precision, 5);
  assert.ok(alone.kept_suggestion);
});
