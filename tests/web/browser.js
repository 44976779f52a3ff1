// Shared by the Chromium tests: a static server for the repository root and a headless Chromium
// (Debian's, driven by playwright-core). Tests skip without Chromium unless
// VECTUNE_REQUIRE_BROWSER=1 (scripts/test.sh sets it).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';

import { root } from './fixtures.js';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && process.env.VECTUNE_REQUIRE_BROWSER === '1') {
  throw new Error(`Chromium not found at ${CHROMIUM} (VECTUNE_REQUIRE_BROWSER=1)`);
}
/** The `skip` option of a browser test. */
export const skipWithoutBrowser = !haveBrowser && `no Chromium at ${CHROMIUM}`;

const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.json': 'application/json', '.onnx': 'application/octet-stream', '.tar': 'application/x-tar',
  '.png': 'image/png', '.css': 'text/css', '.svg': 'image/svg+xml',
};

/** A static server for `dir` (default: the repository root) on a free port (GET only, no path
 * escapes). It records the paths asked for in `server.requested`, and answers 503 for those
 * matching `server.failing`. */
export function serve(dir = root) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    server.requested.push(path);
    let file = join(dir, path);
    if (!file.startsWith(dir) || path.split(sep).includes('..')) {
      res.writeHead(403).end();
      return;
    }
    if (server.failing?.test(path)) {
      res.writeHead(503).end();
      return;
    }
    if (file.endsWith('/')) file = join(file, 'index.html');
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  server.requested = [];
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Runs `body(context)` in a fresh headless Chromium (a new empty profile); closes it afterwards. */
export async function withChromium(body) {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'vectune-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    return await body(context);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * Runs `body({ context, server, base })` with `dir` (default: the repository) served and a fresh
 * headless Chromium (`base`: the server's URL); closes everything afterwards.
 */
export async function withBrowser(body, dir = root) {
  const server = await serve(dir);
  try {
    return await withChromium((context) => body({ context, server, base: `http://127.0.0.1:${server.address().port}` }));
  } finally {
    server.close();
  }
}

/** Runs `body(page, base)` on one new page (see `withBrowser`); uncaught page errors are collected
 * in `page.errors`. */
export function withPage(body, dir = root) {
  return withBrowser(async ({ context, base }) => {
    const page = await context.newPage();
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e.message));
    return body(page, base);
  }, dir);
}
