// Type-checked, never run (tests/web/types.test.js runs tsc on it): the package's types as a
// TypeScript consumer uses them, imported by the package's own name.
import { init, loadTracer, Vectune, VectuneWorker, decodeImage, paramSchema, type Prediction, type Status, type Suggestion, type Trace, type Verified } from 'vectune';

await init();
const v: Vectune = await Vectune.fromUrl('/models/');
const img = decodeImage(new Uint8Array(10));
const p: Prediction = v.predict(img.rgba, img.width, img.height, { color_precision: 4 });
const s: Status = v.status();
const total: number = p.ssim + s.memory.model_bytes;
const many: Prediction[] = v.predictParams(img.rgba, 1, 1, [{}, { filter_speckle: 3 }]);
const answers = v.predictBatch([{ rgba: img.rgba, width: 1, height: 1 }]);
const first = answers[0];
const ssim: number | undefined = 'error' in first ? undefined : first.ssim;
const c = v.classify(img.rgba, 1, 1);
const cls: 'simple_geometric' | 'text_based' | 'gradient' | 'complex' = c.class;
const gradient: number = c.probabilities.gradient;
const worker = await VectuneWorker.create('/models/');
const viaWorker: Prediction = await worker.predict(img.rgba, 1, 1);
const name: string = paramSchema()[0].name;
const tracer = await loadTracer();
const traced: Trace = tracer.trace(img.rgba, img.width, img.height, { filter_speckle: 8 });
const svg: string = traced.svg;
const actual: number = (await worker.trace(img.rgba, 1, 1)).ssim + traced.params.color_precision;
const suggestion: Suggestion = v.suggest(img.rgba, 1, 1, 0.95);
const alternative: number = suggestion.shortlist[0].predicted_ssim;
const checked: Verified = tracer.verify(img.rgba, 1, 1, suggestion);
const measured: number = checked.measured[0].ssim + (await worker.verify(img.rgba, 1, 1, suggestion)).svg_bytes;
// @ts-expect-error: not a parameter name
v.predict(img.rgba, 1, 1, { colour_precision: 4 });
console.log(total, many, ssim, cls, gradient, viaWorker, name, svg, actual, alternative, checked.met_target, measured);
