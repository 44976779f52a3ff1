// Paths and readers for the fixtures every backend shares (tests/fixtures/).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodePng } from './png.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const modelsDir = new URL('../fixtures/models/', import.meta.url);

export const manifestText = () => readFileSync(new URL('manifest.json', modelsDir), 'utf8');
export const reference = () => JSON.parse(readFileSync(new URL('reference.json', modelsDir), 'utf8'));
export const logo = () => decodePng(readFileSync(new URL('../fixtures/golden/logo.png', import.meta.url)));

/** Every fixture model's bytes, by file name. */
export function modelBytes() {
  const manifest = JSON.parse(manifestText());
  return Object.fromEntries(
    manifest.models.map((m) => [m.file, new Uint8Array(readFileSync(new URL(m.file, modelsDir)))]),
  );
}

export function softmax(logits) {
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** The parity tolerance for the wasm build against ONNX Runtime's reference outputs. */
export const TOLERANCE = 1e-4;
