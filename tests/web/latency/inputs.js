// The latency comparison's inputs, shared by the browser page (latency.js) and the Node benchmark
// (tests/web/bench-ort.js): deterministic pseudo-random tensors for a manifest entry, as vectune's
// `runModel` feeds and as onnxruntime-web tensors over the same data.

/** xorshift: the same pseudo-random floats in [-1, 1) on every run. */
export function random(n, seed) {
  let s = seed >>> 0 || 1;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Batch-1 inputs for every input of a manifest entry: `{feeds, ortFeeds}` over the same data
 * (`Tensor` is onnxruntime-web's tensor class). */
export function feedsFor(entry, Tensor) {
  const feeds = {};
  const ortFeeds = {};
  entry.inputs.forEach((spec, k) => {
    const shape = [1, ...spec.shape.slice(1)];
    const data = random(shape.reduce((a, b) => a * b, 1), 7 + k);
    feeds[spec.name] = { data, shape };
    ortFeeds[spec.name] = new Tensor('float32', data, shape);
  });
  return { feeds, ortFeeds };
}
