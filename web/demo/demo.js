// The demo page: drop a logo, move the eight parameter sliders, see the predicted SSIM live, or
// let the suggester move them.
// All work happens in a VectuneWorker (the page never blocks); predictions are debounced and only
// the latest answer is shown. Models: `?models=<url>` (default ../../models/); without a manifest
// there, the heuristic predicts and the page says so.
import { VectuneWorker } from '../pkg/index.js';
import { attachPreview } from './preview.js';

const $ = (id) => document.getElementById(id);
const DEBOUNCE_MS = 120;
const state = { image: null, latest: 0, timer: 0, schema: [] };

function showError(message) {
  $('error').textContent = message ?? '';
}

function params() {
  return Object.fromEntries(state.schema.map((s) => [s.name, Number($(`p-${s.name}`).value)]));
}

function buildSliders(schema) {
  const form = $('params');
  for (const s of schema) {
    const row = document.createElement('div');
    row.className = 'param';
    row.title = `${s.description} (${s.unit})`;
    row.innerHTML = `<label for="p-${s.name}">${s.name}</label>
      <input type="range" id="p-${s.name}" name="${s.name}" min="${s.min}" max="${s.max}" step="${s.step}" value="${s.default}">
      <output id="v-${s.name}" for="p-${s.name}">${s.default}</output>`;
    form.append(row);
  }
  form.addEventListener('input', (event) => {
    const spec = schema.find((s) => s.name === event.target.name);
    if (spec) $(`v-${spec.name}`).textContent = shown(spec, event.target.value);
    schedule();
  });
  $('reset').addEventListener('click', () => {
    setSliders(Object.fromEntries(schema.map((s) => [s.name, s.default])));
    schedule();
  });
  $('suggest').addEventListener('click', suggest);
}

/** A slider's value as shown: floats to at most two decimals (a suggestion's `length_threshold` has
 * fifteen), integers as they are. */
function shown(spec, value) {
  return spec.type === 'float' ? String(Math.round(Number(value) * 100) / 100) : String(value);
}

/** Moves the sliders to `values` and tells the listeners (the VTracer preview re-traces). */
function setSliders(values) {
  for (const s of state.schema) {
    $(`p-${s.name}`).value = values[s.name];
    $(`v-${s.name}`).textContent = shown(s, values[s.name]);
  }
  $('params').dispatchEvent(new Event('input'));
}

/** Asks the worker for parameters reaching the target SSIM with the smallest SVG, moves the
 * sliders there and predicts (the same model, so the shown SSIM is the suggestion's). With "check
 * with VTracer", the worker then measures the suggestion's shortlist (`verify`) and the sliders go to
 * the smallest measured SVG that reaches the target (else the most faithful measured). */
async function suggest() {
  if (!state.image) return;
  const target = Number($('target').value);
  const { rgba, width, height } = state.image;
  const button = $('suggest');
  button.disabled = true;
  document.body.dataset.state = 'suggesting';
  try {
    const s = await worker.suggest(rgba, width, height, target);
    const size = s.predicted_svg_bytes ? `, SVG ≈ ${Math.round(s.predicted_svg_bytes / 100) / 10} kB` : '';
    let text = `${s.met_target ? 'Reaches' : 'Best found, below'} the target ${target}: ` +
      `predicted ${s.predicted_ssim.toFixed(4)}${size} (${s.candidates} sets scored, start: ${s.start_from}` +
      `${s.class ? `, ${s.class}` : ''}, source: ${s.source})`;
    delete $('suggestion').dataset.verified;
    if ($('verify').checked) {
      $('suggestion').textContent = `Measuring ${s.shortlist.length} sets with VTracer…`;
      const v = await worker.verify(rgba, width, height, s);
      setSliders(v.params);
      text = `${v.met_target ? 'Reaches' : 'Best measured, below'} the target ${target}: measured ` +
        `${v.ssim.toFixed(4)}, SVG ${Math.round(v.svg_bytes / 100) / 10} kB (${v.measured.length} sets measured ` +
        `with VTracer in ${Math.round(v.ms)} ms; ${v.kept_suggestion ? 'the model\'s pick' : 'overruling the model\'s pick'})`;
      $('suggestion').dataset.verified = JSON.stringify(v);
    } else {
      setSliders(s.params);
    }
    $('suggestion').textContent = text;
    $('suggestion').dataset.json = JSON.stringify(s);
    showError();
    schedule();
  } catch (err) {
    showError(err.message);
    document.body.dataset.state = 'ready';
  } finally {
    button.disabled = !state.image;
  }
}

function schedule() {
  document.body.dataset.state = 'pending';
  clearTimeout(state.timer);
  state.timer = setTimeout(predict, DEBOUNCE_MS);
}

async function predict() {
  if (!state.image) {
    document.body.dataset.state = 'ready';
    return;
  }
  const ticket = ++state.latest;
  document.body.dataset.state = 'predicting';
  const { rgba, width, height } = state.image;
  try {
    const p = await worker.predict(rgba, width, height, params());
    if (ticket !== state.latest) return; // a newer request is on its way
    $('result').textContent = p.ssim.toFixed(4);
    $('ssim').dataset.value = String(p.ssim);
    $('source').textContent = `(source: ${p.source}${p.fallback ? `, because ${p.fallback}` : ''})`;
    showError();
  } catch (err) {
    if (ticket === state.latest) showError(err.message);
  } finally {
    if (ticket === state.latest) document.body.dataset.state = 'ready';
  }
}

function showClasses(c) {
  const box = $('classes');
  box.replaceChildren();
  if (typeof c === 'string') {
    box.textContent = c;
    return;
  }
  box.dataset.class = c.class;
  for (const [name, p] of Object.entries(c.probabilities)) {
    const row = document.createElement('div');
    row.className = 'bar';
    row.innerHTML = `<span>${name === c.class ? `<b>${name}</b>` : name}</span>
      <div style="width:${(p * 100).toFixed(1)}%"></div><span>${(p * 100).toFixed(1)}%</span>`;
    box.append(row);
  }
}

function showPreview({ rgba, width, height }) {
  const canvas = $('preview');
  canvas.width = width;
  canvas.height = height;
  canvas.hidden = false;
  canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
}

async function open(file) {
  document.body.dataset.state = 'decoding';
  try {
    // Decoded by the same decoder as the CLI, so the page sees the pixels the CLI sees.
    const image = await worker.decodeImage(new Uint8Array(await file.arrayBuffer()));
    state.image = image;
    showPreview(image);
    $('suggest').disabled = false;
    $('suggestion').textContent = '';
    $('hint').textContent = `${file.name}: ${image.width}×${image.height}`;
    showError();
    preview.setImage(image, file.name);
    worker.classify(image.rgba, image.width, image.height).then(showClasses, (err) => showClasses(err.message));
    await predict();
  } catch (err) {
    state.image = null;
    state.latest++;
    $('suggest').disabled = true;
    preview.clear();
    $('result').textContent = '–';
    delete $('ssim').dataset.value;
    showError(`${file.name}: ${err.message}`);
    document.body.dataset.state = 'ready';
  }
}

function wireInput() {
  $('file').addEventListener('change', (e) => e.target.files[0] && open(e.target.files[0]));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files[0]) open(e.dataTransfer.files[0]);
  });
}

function describe(status, note) {
  const ready = status.models.filter((m) => m.status.state === 'ready').map((m) => m.name);
  const quality = { split: 'encoder + head', combined: 'combined model', heuristic: 'heuristic (no quality model)' }[status.quality];
  return `vectune ${status.version}, ${status.backend}${status.simd ? ' (SIMD)' : ''}; quality: ${quality}; models ready: ${ready.join(', ') || 'none'}${note ? `; ${note}` : ''}`;
}

const modelsUrl = new URLSearchParams(location.search).get('models') ?? '../../models/';
let worker;
let note = '';
try {
  worker = await VectuneWorker.create(modelsUrl);
} catch (err) {
  note = `no models from ${modelsUrl} (${err.message})`;
  worker = await VectuneWorker.create(null);
}
state.schema = await worker.paramSchema();
buildSliders(state.schema);
const preview = attachPreview(worker);
wireInput();
$('status').textContent = describe(worker.loaded, note);
if (!worker.loaded.classifier) showClasses('no classifier model loaded');
document.body.dataset.state = 'ready';
