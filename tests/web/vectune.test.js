// The wasm build in Node, on the committed fixture models: golden parity with ONNX Runtime's
// reference outputs (tests/fixtures/models/reference.json, within TOLERANCE), the split form and
// the combined model agreeing, heuristic fallbacks, and errors carrying the core's messages.
// Run after ./scripts/build-web.sh:  node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { init, initSync, Vectune, paramSchema, validateParams, parseManifest, version } from '../../web/pkg/index.js';
import { TOLERANCE, logo, manifestText, modelBytes, modelsDir, reference, softmax } from './fixtures.js';

await init();

const close = (got, want, what) =>
  assert.ok(Math.abs(got - want) <= TOLERANCE, `${what}: ${got} vs reference ${want} (tolerance ${TOLERANCE})`);

const { rgba, width, height } = logo();
const ref = reference();

test('init is idempotent and initSync accepts the bytes', async () => {
  await init();
  const bytes = readFileSync(new URL('../../web/pkg/vectune_web_bg.wasm', import.meta.url));
  initSync({ module: bytes });
  assert.match(version(), /^\d+\.\d+\.\d+/);
});

test('the parameter schema has the eight parameters with VTracer defaults', () => {
  const schema = paramSchema();
  assert.equal(schema.length, 8);
  assert.equal(schema[0].name, 'color_precision');
  assert.deepEqual(validateParams({}), Object.fromEntries(schema.map((s) => [s.name, s.default])));
});

test('all fixture models load from bytes and the split form is used', () => {
  const v = new Vectune(manifestText(), modelBytes());
  const s = v.status();
  assert.equal(s.backend, 'tract-wasm');
  assert.equal(s.simd, true, 'built with +simd128');
  assert.equal(s.quality, 'split');
  assert.equal(s.classifier, true);
  assert.equal(s.manifest_error, null);
  // The 4 NNEF exports run; the ONNX and TorchScript files (native backends) are reported, not loaded.
  assert.equal(s.models.length, 10);
  const nnef = s.models.filter((m) => m.format === 'nnef');
  assert.equal(nnef.length, 4);
  for (const m of nnef) assert.deepEqual(m.status, { state: 'ready' }, m.name);
  for (const m of s.models.filter((m) => m.format !== 'nnef')) {
    assert.equal(m.status.state, 'unavailable', m.name);
    assert.match(m.status.reason, /runs on (ort or tract|torch); tract-wasm runs the NNEF exports of the ONNX models/, m.name);
  }
  assert.equal(s.memory.model_bytes, nnef.reduce((a, m) => a + m.bytes, 0));
  v.free();
});

test('golden parity: predictions equal ONNX Runtime reference values', () => {
  const v = new Vectune(manifestText(), modelBytes());
  const many = v.predictParams(rgba, width, height, ref.params);
  assert.equal(many.length, ref.params.length);
  many.forEach((p, i) => {
    assert.equal(p.source, 'model');
    assert.deepEqual(p.params, ref.params[i]);
    close(p.ssim, ref.ssim[i], `predictParams[${i}]`);
    const one = v.predict(rgba, width, height, ref.params[i]);
    close(one.ssim, ref.ssim[i], `predict[${i}]`);
  });
  v.free();
});

test('the combined model alone gives the same predictions (models passed as a Map by name)', () => {
  const bytes = modelBytes();
  const models = new Map([['quality_predictor_nnef', bytes['quality_predictor.nnef.tar']]]);
  const v = new Vectune(JSON.parse(manifestText()), models);
  assert.equal(v.status().quality, 'combined');
  v.predictParams(rgba, width, height, ref.params).forEach((p, i) => {
    assert.equal(p.source, 'model');
    close(p.ssim, ref.ssim[i], `combined[${i}]`);
  });
  v.free();
});

test('classify gives the class and the reference probabilities', () => {
  const v = new Vectune(manifestText(), modelBytes());
  const c = v.classify(rgba, width, height);
  const want = softmax(ref.logits);
  const classes = ['simple_geometric', 'text_based', 'gradient', 'complex'];
  assert.deepEqual(Object.keys(c.probabilities), classes);
  classes.forEach((name, i) => close(c.probabilities[name], want[i], `p(${name})`));
  assert.equal(c.class, classes[want.indexOf(Math.max(...want))]);
  v.free();
});

test('predictBatch answers in order, per-item errors, one encode per shared image', () => {
  const v = new Vectune(manifestText(), modelBytes());
  const answers = v.predictBatch([
    { rgba, width, height, params: ref.params[0] },
    { rgba, width, height: height + 1, params: {} },
    { rgba, width, height, params: { color_precision: 99 } },
    { rgba: rgba.slice(), width, height, params: ref.params[2] },
    { rgba, width, height, params: ref.params[1] },
  ]);
  assert.equal(answers.length, 5);
  close(answers[0].ssim, ref.ssim[0], 'batch[0]');
  assert.match(answers[1].error, /^items\[1\]: RGBA buffer for a 61x38 image must be 9272 bytes/);
  assert.match(answers[2].error, /^items\[2\]: parameter `color_precision` = 99 is out of range/);
  close(answers[3].ssim, ref.ssim[2], 'batch[3]');
  close(answers[4].ssim, ref.ssim[1], 'batch[4]');
  assert.throws(() => v.predictBatch('nope'), /predictBatch takes an array/);
  v.free();
});

test('errors are JS Errors with the core message', () => {
  const v = new Vectune(manifestText(), modelBytes());
  assert.throws(() => v.predict(rgba, width, height, { colour_precision: 4 }), (e) => {
    assert.ok(e instanceof Error);
    assert.match(e.message, /^unknown parameter `colour_precision`; expected one of: color_precision, /);
    return true;
  });
  assert.throws(
    () => v.predict(rgba, width, height, { color_precision: 0 }),
    { message: 'parameter `color_precision` = 0 is out of range: must be an integer in [1, 8] (bits)' },
  );
  assert.throws(() => v.predict(rgba, width, height, { max_iterations: 2.5 }), /must be an integer/);
  assert.throws(() => v.predict(rgba, width, height, { color_precision: 'four' }), /parameter `color_precision`/);
  assert.throws(
    () => v.predict(rgba.subarray(4), width, height, {}),
    { message: `RGBA buffer for a ${width}x${height} image must be ${width * height * 4} bytes (width*height*4), got ${width * height * 4 - 4}` },
  );
  assert.throws(() => v.predict(new Uint8Array(0), 0, 0, {}), /image has zero size/);
  assert.throws(() => v.predictParams(rgba, width, height, [{}, { filter_speckle: -1 }]), /^Error: params\[1\]: parameter `filter_speckle`/);
  assert.throws(() => v.predictParams(rgba, width, height, {}), /must be an array/);
  assert.throws(() => v.classify(rgba, width, 1), /RGBA buffer/);
  assert.throws(() => new Vectune(42), /manifest must be/);
  assert.throws(() => parseManifest('{"schema_version": 2, "models": []}'), /schema_version 2 is not supported/);
  // Every error carries the core's kind, and the field or model it concerns.
  assert.throws(() => v.predict(rgba, width, height, { color_precision: 0 }), { kind: 'bad_input' });
  assert.throws(() => v.predict(rgba.subarray(4), width, height, {}), { kind: 'bad_input', field: 'image' });
  assert.throws(() => v.suggest(rgba, width, height, 0.95, 2), { kind: 'bad_input', field: 'margin' });
  assert.throws(() => parseManifest('{'), { kind: 'bad_input', field: 'manifest' });
  assert.throws(() => v.runModel('nope', {}), { kind: 'bad_input' });
  v.free();
  const none = new Vectune();
  assert.throws(() => none.classify(rgba, width, height), { kind: 'model_unavailable', model: 'classifier' });
  none.free();
});

test('no models: the heuristic answers and says so; classify throws', () => {
  const v = new Vectune();
  const p = v.predict(rgba, width, height, { color_precision: 4 });
  assert.equal(p.source, 'heuristic');
  assert.equal(p.fallback, undefined);
  assert.ok(p.ssim > 0 && p.ssim <= 1);
  assert.deepEqual(v.heuristic(rgba, width, height, { color_precision: 4 }), p);
  assert.throws(() => v.classify(rgba, width, height), /no classifier model is ready/);
  assert.equal(v.status().quality, 'heuristic');
  assert.equal(v.features(rgba, width, height).width, width);
  // suggest works without models: VTracer's defaults as the start, the heuristic scoring.
  const s = v.suggest(rgba, width, height);
  assert.equal(s.start_from, 'defaults');
  assert.equal(s.source, 'heuristic');
  assert.equal(s.target, Math.fround(0.95));
  assert.equal(s.margin, 0);
  assert.equal(s.met_target, s.predicted_ssim >= 0.95);
  // A safety margin: the choice is among candidates predicted to reach 0.97.
  const safe = v.suggest(rgba, width, height, 0.95, 0.02);
  assert.equal(safe.margin, Math.fround(0.02));
  assert.equal(safe.met_target, safe.predicted_ssim >= 0.95);
  assert.equal(safe.candidates, s.candidates);
  if (s.predicted_ssim >= Math.fround(0.97)) assert.deepEqual(safe.params, s.params);
  assert.throws(() => v.suggest(rgba, width, height, 0.95, 2), /safety margin 2 is not in \[0, 1\]/);
  assert.equal(s.class, undefined);
  assert.throws(() => v.suggest(rgba, width, height, -0.5), /target SSIM -0.5 is not in \[0, 1\]/);
  assert.throws(() => v.suggest(rgba.subarray(4), width, height), /Error/);
  v.free();
});

test('a corrupt or missing model is unavailable with the reason; the rest serve', () => {
  const bytes = modelBytes();
  const corrupt = bytes['quality_encoder.nnef.tar'].slice();
  corrupt[100] ^= 0xff;
  const v = new Vectune(manifestText(), {
    'quality_encoder.nnef.tar': corrupt,
    'quality_head.nnef.tar': bytes['quality_head.nnef.tar'],
    'logo_classifier.nnef.tar': 'cannot fetch: HTTP 404',
  });
  const byName = Object.fromEntries(v.status().models.map((m) => [m.name, m.status]));
  assert.equal(byName.quality_encoder_nnef.state, 'unavailable');
  assert.match(byName.quality_encoder_nnef.reason, /^checksum mismatch for `quality_encoder.nnef.tar`/);
  assert.equal(byName.quality_predictor_nnef.reason, 'no bytes were given for `quality_predictor.nnef.tar` (model `quality_predictor_nnef`)');
  assert.equal(byName.logo_classifier_nnef.reason, 'cannot use `logo_classifier.nnef.tar`: cannot fetch: HTTP 404');
  assert.deepEqual(byName.quality_head_nnef, { state: 'ready' });
  const p = v.predict(rgba, width, height, {});
  assert.equal(p.source, 'heuristic');
  assert.equal(v.status().quality, 'heuristic');
  v.free();
});

test('a bad manifest is reported by status(), not thrown', () => {
  const v = new Vectune('{"schema_version": 1, "models": [{"name": "x"}]}', {});
  assert.match(v.status().manifest_error, /^manifest is not valid/);
  assert.equal(v.predict(rgba, width, height).source, 'heuristic');
  v.free();
});

test('Vectune.fromUrl loads a model directory (a file URL under Node)', async () => {
  const v = await Vectune.fromUrl(modelsDir);
  assert.equal(v.status().quality, 'split');
  close(v.predict(rgba, width, height, ref.params[0]).ssim, ref.ssim[0], 'fromUrl');
  v.free();
  await assert.rejects(Vectune.fromUrl(new URL('./no-such-dir/', modelsDir)), /ENOENT/);
});

test('runModel runs one graph on raw tensors; bad feeds are Errors naming what is wrong', () => {
  const v = new Vectune(manifestText(), modelBytes());
  // The head on a zero embedding: one value per row, the same as running it twice in one batch.
  const params = new Float32Array(8).fill(0.5);
  const one = v.runModel('quality_head', { embedding: { data: new Float32Array(96), shape: [1, 96] }, params: { data: params, shape: [1, 8] } });
  assert.ok(one instanceof Float32Array);
  assert.equal(one.length, 1);
  assert.ok(one[0] > 0 && one[0] < 1);
  const two = v.runModel('quality_head', {
    embedding: { data: new Float32Array(192), shape: [2, 96] },
    params: { data: new Float32Array([...params, ...params]), shape: [2, 8] },
  });
  assert.deepEqual(Array.from(two), [one[0], one[0]]);
  assert.throws(() => v.runModel('nope', {}), /unknown task `nope`/);
  assert.throws(() => v.runModel('quality_head', { params: { data: params, shape: [1, 8] } }), /feeds has no input `embedding`/);
  assert.throws(
    () => v.runModel('quality_head', { embedding: { data: new Float32Array(95), shape: [1, 95] }, params: { data: params, shape: [1, 8] } }),
    /input `embedding`: shape \[1, 95\] with 95 values does not fit the graph's \[N, 96\]/,
  );
  assert.throws(
    () => v.runModel('quality_head', { embedding: { data: new Float32Array(96), shape: [1, 96] }, params: { data: [0.5], shape: [1, 8] } }),
    /feeds.params.data must be a Float32Array/,
  );
  assert.throws(() => new Vectune().runModel('quality', {}), /quality/);
  v.free();
});
