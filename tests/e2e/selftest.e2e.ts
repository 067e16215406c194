// Browser smoke test: the wasm core in a Web Worker behind Comlink,
// in Debian's Chromium, hashing BLAKE3's official test vectors.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from './support/browser';
import { MIXCORE_PATH, bundle } from './support/bundle';
import { serveDirectory, type StaticServer } from './support/static-server';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// From BLAKE3-team/BLAKE3 test_vectors/test_vectors.json: input byte i is
// i % 251; the expected value is the first 32 bytes of "hash".
const VECTORS: Array<[number, string]> = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
];

function vectorInput(len: number): number[] {
  return Array.from({ length: len }, (_, i) => i % 251);
}

describe('selftest: wasm core in a worker, in Chromium', () => {
  let outdir: string | undefined;
  let server: StaticServer | undefined;
  let browser: TestBrowser | undefined;

  beforeAll(async () => {
    if (!existsSync(MIXCORE_PATH)) {
      throw new Error(`${MIXCORE_PATH} does not exist: run \`make wasm\` first`);
    }
    outdir = await mkdtemp(path.join(os.tmpdir(), 'mixnet-e2e-selftest-'));
    await bundle(
      {
        'selftest.page': path.join(HERE, 'selftest.page.ts'),
        'selftest.worker': path.join(HERE, 'selftest.worker.ts'),
      },
      outdir,
    );
    await writeFile(
      path.join(outdir, 'index.html'),
      '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">' +
        '<title>selftest</title>' +
        '<body><script type="module" src="./selftest.page.js"></script></body>\n',
    );
    server = await serveDirectory(outdir);
    browser = await launchChromium();
    await browser.page.goto(server.url);
    await browser.page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outdir) await rm(outdir, { recursive: true, force: true });
  });

  for (const [len, expected] of VECTORS) {
    it(`blake3Hex of the ${len}-byte test vector`, async () => {
      const got = await browser!.page.evaluate(
        (bytes) => window.selftest.blake3Hex(bytes),
        vectorInput(len),
      );
      expect(got).toBe(expected);
    });
  }

  it('page and worker reported no errors', () => {
    expect(browser!.problems).toEqual([]);
  });
});
