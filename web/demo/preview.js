// The demo page's VTracer preview: the original beside the real SVG that VTracer (the second wasm
// module, web/trace) writes in the page's worker, the actual SSIM beside the prediction, and the SVG
// to download. The module is fetched on the first "Trace" only (`worker.trace` loads it in the
// worker); once loaded, moving a slider traces again (debounced), and it keeps working offline.
// demo.js calls `attachPreview(worker)`, then `setImage(image, fileName)` / `clear()`.

const $ = (id) => document.getElementById(id);
const RETRACE_DEBOUNCE_MS = 300;

/** The current slider values as a parameter object (the form's inputs are named after them). */
function sliderParams() {
  return Object.fromEntries([...new FormData($('params'))].map(([name, value]) => [name, Number(value)]));
}

/** `logo.png` -> `logo.svg`. */
function svgName(fileName) {
  return `${fileName.replace(/\.[^./]*$/, '') || 'logo'}.svg`;
}

export function attachPreview(worker) {
  const panel = $('trace-panel');
  const button = $('trace');
  const state = { image: null, name: '', latest: 0, timer: 0, loaded: false, svgUrl: '', originalUrl: '' };

  const setState = (s) => {
    panel.dataset.state = s;
  };
  const showError = (message) => {
    $('trace-error').textContent = message ?? '';
  };
  const revoke = () => {
    for (const key of ['svgUrl', 'originalUrl']) {
      if (state[key]) URL.revokeObjectURL(state[key]);
      state[key] = '';
    }
  };

  function clear() {
    state.image = null;
    state.latest++;
    clearTimeout(state.timer);
    revoke();
    $('trace-original').removeAttribute('src');
    $('trace-svg').removeAttribute('src');
    $('trace-figures').hidden = true;
    $('download').hidden = true;
    $('download').removeAttribute('href');
    $('actual-line').hidden = true;
    $('actual').textContent = '–';
    delete $('actual').dataset.value;
    $('trace-info').textContent = '';
    button.disabled = true;
    showError();
    setState('idle');
  }

  async function trace() {
    if (!state.image) return;
    const ticket = ++state.latest;
    const { rgba, width, height } = state.image;
    setState(state.loaded ? 'tracing' : 'loading');
    $('trace-info').textContent = state.loaded ? 'tracing…' : 'loading VTracer…';
    try {
      const t = await worker.trace(rgba, width, height, sliderParams());
      state.loaded = true;
      if (ticket !== state.latest) return; // a newer trace is on its way
      if (state.svgUrl) URL.revokeObjectURL(state.svgUrl);
      state.svgUrl = URL.createObjectURL(new Blob([t.svg], { type: 'image/svg+xml' }));
      $('trace-svg').src = state.svgUrl;
      $('trace-figures').hidden = false;
      const link = $('download');
      link.href = state.svgUrl;
      link.download = svgName(state.name);
      link.hidden = false;
      $('actual').textContent = t.ssim.toFixed(4);
      $('actual').dataset.value = String(t.ssim);
      $('actual-line').hidden = false;
      delete $('actual-line').dataset.stale;
      $('trace-info').textContent =
        `${t.paths} paths, ${(t.svgBytes / 1024).toFixed(1)} KiB, VTracer ${t.traceMs.toFixed(0)} ms`;
      showError();
      setState('ready');
    } catch (err) {
      if (ticket !== state.latest) return;
      $('trace-info').textContent = '';
      showError(err.message);
      setState('error');
    }
  }

  function schedule() {
    if (!state.image) return;
    if (!state.loaded) {
      // nothing traced yet: the first trace waits for the button
      return;
    }
    // what is shown belongs to the previous parameters until the new trace is in
    if (!$('actual-line').hidden) {
      $('actual-line').dataset.stale = '';
      $('trace-info').textContent = 'parameters changed: tracing again…';
    }
    clearTimeout(state.timer);
    setState('pending');
    state.timer = setTimeout(trace, RETRACE_DEBOUNCE_MS);
  }

  function setImage(image, name) {
    clear();
    state.image = image;
    state.name = name;
    // The original as the page decoded it, at the SVG's size for a fair side-by-side look.
    const canvas = document.createElement('canvas');
    canvas.width = image.width;
    canvas.height = image.height;
    canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(image.rgba), image.width, image.height), 0, 0);
    canvas.toBlob((blob) => {
      if (state.image !== image || !blob) return;
      state.originalUrl = URL.createObjectURL(blob);
      $('trace-original').src = state.originalUrl;
    });
    button.disabled = false;
    if (state.loaded) trace();
  }

  button.addEventListener('click', () => {
    clearTimeout(state.timer);
    trace();
  });
  $('params').addEventListener('input', schedule);
  $('reset').addEventListener('click', schedule);
  clear();
  return { setImage, clear };
}
