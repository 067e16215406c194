// `make demo`: what the project can show today. Loads the wasm core in a Web
// Worker inside headless Chromium and prints what it computed there.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../tests/e2e/support/browser';
import { bundle } from '../tests/e2e/support/bundle';
import { serveDirectory } from '../tests/e2e/support/static-server';

const E2E = fileURLToPath(new URL('../tests/e2e', import.meta.url));

// BLAKE3-team/BLAKE3 test_vectors.json: input byte i is i % 251.
const VECTORS: Array<[number, string]> = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
];

const outdir = await mkdtemp(path.join(os.tmpdir(), 'mixnet-demo-'));
const started = performance.now();
let failures = 0;
try {
  await bundle(
    {
      'selftest.page': path.join(E2E, 'selftest.page.ts'),
      'selftest.worker': path.join(E2E, 'selftest.worker.ts'),
    },
    outdir,
  );
  await writeFile(
    path.join(outdir, 'index.html'),
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>demo</title>' +
      '<body><script type="module" src="./selftest.page.js"></script></body>\n',
  );
  const server = await serveDirectory(outdir);
  const browser = await launchChromium();
  try {
    await browser.page.goto(server.url);
    await browser.page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
    console.log(`Chromium ${browser.context.browser()?.version() ?? ''}: wasm core loaded in a Web Worker`);
    for (const [len, expected] of VECTORS) {
      const input = Array.from({ length: len }, (_, i) => i % 251);
      const got = await browser.page.evaluate((bytes) => window.selftest.blake3Hex(bytes), input);
      const ok = got === expected;
      if (!ok) failures++;
      console.log(`  BLAKE3 of the ${len}-byte test vector, computed in the worker: ${got} ${ok ? 'ok' : `expected ${expected}`}`);
    }
    for (const problem of browser.problems) console.log(`  problem: ${problem}`);
    failures += browser.problems.length;
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  await rm(outdir, { recursive: true, force: true });
}
console.log(`demo ${failures === 0 ? 'passed' : 'FAILED'} in ${Math.round(performance.now() - started)} ms`);
console.log('(localnet, mixFetch, mixDNS and MixWebSocket join this demo as they land)');
process.exit(failures === 0 ? 0 : 1);
