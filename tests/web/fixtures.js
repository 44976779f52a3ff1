// Paths and readers for the fixtures every backend shares (tests/fixtures/), and the native CLI.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePng } from './png.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const modelsDir = new URL('../fixtures/models/', import.meta.url);
export const logoPath = fileURLToPath(new URL('../fixtures/golden/logo.png', import.meta.url));

/** The native CLI built by `cargo test`/`cargo build` (or $VECTUNE_BIN); tests that need it are
 * skipped without it, unless VECTUNE_REQUIRE_NATIVE=1 makes its absence an error. */
export const nativeBin =
  process.env.VECTUNE_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'debug', 'vectune');
export const haveNativeBin = existsSync(nativeBin);
/** Whether tests must compare with the native CLI: it is built, or VECTUNE_REQUIRE_NATIVE=1 (the
 * test run's setting) makes its absence a failure of exactly those tests. */
export const useNative = haveNativeBin || process.env.VECTUNE_REQUIRE_NATIVE === '1';
/** `skip` for a test that needs the native CLI: a reason when it is not used, else false. */
export const skipWithoutNative = !useNative && `no native CLI at ${nativeBin}`;
/** The first line of a test that needs the native CLI: throws, naming the path, when it is missing. */
export function requireNative() {
  if (!haveNativeBin) throw new Error(`no native CLI at ${nativeBin} (VECTUNE_REQUIRE_NATIVE=1; build it with cargo build -p vectune-native)`);
}

/** `vectune measure IMAGE --json --svg` with one parameter object: its JSON and the SVG it wrote. */
export function nativeMeasure(image, params) {
  requireNative();
  const dir = mkdtempSync(join(tmpdir(), 'vectune-measure-'));
  try {
    const svgPath = join(dir, 'out.svg');
    const args = ['--models', fileURLToPath(modelsDir), 'measure', image, '--json', '--svg', svgPath];
    for (const [name, value] of Object.entries(params)) args.push('--param', `${name}=${value}`);
    const json = JSON.parse(execFileSync(nativeBin, args, { encoding: 'utf8' }));
    return { json, svg: readFileSync(svgPath, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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
