// mixFetch in Chromium against localnet: HTTPS to nginx and httpbin through
// the tunnel (the test CA given as extraTrustAnchors), with fetch semantics.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalnet, type Localnet } from '../interop/support/localnet';
import { launchChromium, type TestBrowser } from './support/browser';
import { REPO_ROOT, bundle } from './support/bundle';
import { serveDirectory, type StaticServer } from './support/static-server';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NGINX = 'https://nginx.mixnet.test';
const HTTPBIN = 'https://httpbin.mixnet.test';

describe('mixFetch in Chromium against localnet', () => {
  let outdir: string | undefined;
  let server: StaticServer | undefined;
  let browser: TestBrowser | undefined;
  let localnet: Localnet | undefined;

  beforeAll(async () => {
    localnet = await startLocalnet(path.join(REPO_ROOT, 'build/native/bin/localnet'));
    const entry = localnet.status.gateways.find((g) => g.role === 'entry')!;
    const opts = {
      nymApiUrl: localnet.status.directory_url,
      preferredGateway: entry.identity,
      forceTls: false,
      disablePoissonTraffic: true,
      clientId: `e2e-fetch-${Date.now()}`,
      extraTrustAnchors: await readFile(localnet.status.test_ca_pem!, 'utf8'),
    };
    outdir = await mkdtemp(path.join(os.tmpdir(), 'mixnet-e2e-fetch-'));
    await bundle({ 'fetch.page': path.join(HERE, 'fetch.page.ts') }, outdir);
    await writeFile(
      path.join(outdir, 'index.html'),
      '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>fetch</title>' +
        '<body><script type="module" src="./fetch.page.js"></script></body>\n',
    );
    server = await serveDirectory(outdir);
    browser = await launchChromium();
    await browser.page.goto(server.url);
    await browser.page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
    await browser.page.evaluate((o) => window.setupMixTunnel(o), opts);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await localnet?.stop();
    if (outdir) await rm(outdir, { recursive: true, force: true });
  });

  it('GETs a small file over HTTPS', async () => {
    const r = await browser!.page.evaluate(async (u) => {
      const res = await window.mixFetch(u);
      return { status: res.status, ok: res.ok, url: res.url, redirected: res.redirected, text: await res.text() };
    }, `${NGINX}/small.txt`);
    expect(r).toEqual({
      status: 200,
      ok: true,
      url: `${NGINX}/small.txt`,
      redirected: false,
      text: 'hello from the localnet nginx\n',
    });
  });

  it('POSTs JSON and a FormData body to httpbin, which echoes them', async () => {
    const r = await browser!.page.evaluate(async (u) => {
      const json = await (
        await window.mixFetch(`${u}/anything`, {
          method: 'post',
          headers: { 'content-type': 'application/json', 'x-test': 'yes' },
          body: JSON.stringify({ a: 1 }),
        })
      ).json();
      const form = new FormData();
      form.append('field', 'value');
      const formEcho = await (await window.mixFetch(`${u}/post`, { method: 'POST', body: form })).json();
      return { method: json.method, data: json.data, header: json.headers['X-Test'], form: formEcho.form };
    }, HTTPBIN);
    expect(r).toEqual({ method: 'POST', data: '{"a":1}', header: 'yes', form: { field: 'value' } });
  });

  it('gives httpbin status codes, and null bodies for 204 and 304', async () => {
    const r = await browser!.page.evaluate(async (u) => {
      const out: Array<[number, boolean]> = [];
      for (const code of [201, 204, 304, 404, 418, 500]) {
        const res = await window.mixFetch(`${u}/status/${code}`);
        out.push([res.status, res.body === null]);
      }
      return out;
    }, HTTPBIN);
    expect(r).toEqual([
      [201, false],
      [204, true],
      [304, true],
      [404, false],
      [418, false],
      [500, false],
    ]);
  });

  it('follows redirects, or hands them back with redirect: manual, or fails with redirect: error', async () => {
    const r = await browser!.page.evaluate(async (u) => {
      const followed = await window.mixFetch(`${u}/redirect/3`);
      const manual = await window.mixFetch(`${u}/redirect/3`, { redirect: 'manual' });
      let error = '';
      try {
        await window.mixFetch(`${u}/redirect/3`, { redirect: 'error' });
      } catch (e) {
        error = (e as Error).name;
      }
      return {
        followed: [followed.status, followed.redirected, followed.url, await followed.text()],
        manual: [manual.status, manual.headers.get('location')],
        error,
      };
    }, NGINX);
    expect(r).toEqual({
      followed: [200, true, `${NGINX}/small.txt`, 'hello from the localnet nginx\n'],
      manual: [302, '/redirect/2'],
      error: 'TypeError',
    });
  });

  it('keeps every Set-Cookie header', async () => {
    const cookies = await browser!.page.evaluate(async (u) => {
      const res = await window.mixFetch(`${u}/response-headers?Set-Cookie=a%3D1&Set-Cookie=b%3D2`);
      return res.headers.getSetCookie();
    }, HTTPBIN);
    expect(cookies).toEqual(['a=1', 'b=2']);
  });

  it('decodes gzip and deflate bodies', async () => {
    const r = await browser!.page.evaluate(async (u) => {
      const gzip = await (await window.mixFetch(`${u}/gzip`)).json();
      const deflate = await (await window.mixFetch(`${u}/deflate`)).json();
      return [gzip.gzipped, deflate.deflated];
    }, HTTPBIN);
    expect(r).toEqual([true, true]);
  });

  it('streams httpbin /stream and /drip as they come', async () => {
    const r = await browser!.page.evaluate(async (u) => {
      const lines = (await (await window.mixFetch(`${u}/stream/20`)).text()).trim().split('\n').length;
      const res = await window.mixFetch(`${u}/drip?numbytes=50&duration=2&delay=0`);
      const reader = res.body!.getReader();
      let chunks = 0;
      let bytes = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks++;
        bytes += value.length;
      }
      return { lines, chunks, bytes };
    }, HTTPBIN);
    expect(r.lines).toBe(20);
    expect(r.bytes).toBe(50);
    expect(r.chunks).toBeGreaterThan(1);
  });

  it('reads a 10 MB download as a stream, byte-identical', { timeout: 300_000 }, async () => {
    const expected = createHash('sha256')
      .update(await readFile(path.join(localnet!.runDir, 'www/random-10MiB.bin')))
      .digest('hex');
    const r = await browser!.page.evaluate(async (u) => {
      const started = performance.now();
      const res = await window.mixFetch(`${u}/random-10MiB.bin`);
      const firstByteMs = performance.now() - started;
      const reader = res.body!.getReader();
      const parts: Uint8Array[] = [];
      let reads = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        reads++;
      }
      const all = new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
      const seconds = (performance.now() - started) / 1000;
      return {
        length: all.length,
        reads,
        sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''),
        firstByteMs,
        mbPerS: all.length / 1048576 / seconds,
      };
    }, NGINX);
    console.log(`10 MB over HTTPS through the tunnel in Chromium: ${r.mbPerS.toFixed(3)} MB/s, first byte ${Math.round(r.firstByteMs)} ms`);
    expect(r.length).toBe(10 * 1024 * 1024);
    expect(r.sha256).toBe(expected);
    expect(r.reads).toBeGreaterThan(10);
  });

  it('aborts in the middle of a 10 MB download', async () => {
    const r = await browser!.page.evaluate(async (u) => {
      const controller = new AbortController();
      const res = await window.mixFetch(`${u}/random-10MiB.bin`, { signal: controller.signal });
      const reader = res.body!.getReader();
      let bytes = 0;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return { error: 'finished', bytes };
          bytes += value.length;
          if (bytes > 300_000) controller.abort();
        }
      } catch (e) {
        return { error: (e as Error).name, bytes };
      }
    }, NGINX);
    expect(r.error).toBe('AbortError');
    expect(r.bytes).toBeLessThan(10 * 1024 * 1024);
    // the tunnel carries on
    const after = await browser!.page.evaluate(async (u) => (await window.mixFetch(u)).status, `${NGINX}/small.txt`);
    expect(after).toBe(200);
  });

  it('page and worker reported no errors', () => {
    expect(browser!.problems).toEqual([]);
  });
});
