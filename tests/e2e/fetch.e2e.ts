// mixFetch in Chromium against localnet: HTTPS to nginx and httpbin through
// the tunnel (the test CA given as extraTrustAnchors), with fetch semantics.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalnetPage, type LocalnetPage } from './support/localnet-page';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NGINX = 'https://nginx.mixnet.test';
const HTTPBIN = 'https://httpbin.mixnet.test';

describe('mixFetch in Chromium against localnet', () => {
  let harness: LocalnetPage | undefined;

  beforeAll(async () => {
    harness = await startLocalnetPage('fetch', path.join(HERE, 'fetch.page.ts'));
    const opts = { ...harness.tunnelOptions, disablePoissonTraffic: true, clientId: `e2e-fetch-${Date.now()}` };
    await harness.page.evaluate((o) => window.setupMixTunnel(o), opts);
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('GETs a small file over HTTPS', async () => {
    const r = await harness!.page.evaluate(async (u) => {
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
    const r = await harness!.page.evaluate(async (u) => {
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
    const r = await harness!.page.evaluate(async (u) => {
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
    const r = await harness!.page.evaluate(async (u) => {
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
    const cookies = await harness!.page.evaluate(async (u) => {
      const res = await window.mixFetch(`${u}/response-headers?Set-Cookie=a%3D1&Set-Cookie=b%3D2`);
      return res.headers.getSetCookie();
    }, HTTPBIN);
    expect(cookies).toEqual(['a=1', 'b=2']);
  });

  it('decodes gzip and deflate bodies', async () => {
    const r = await harness!.page.evaluate(async (u) => {
      const gzip = await (await window.mixFetch(`${u}/gzip`)).json();
      const deflate = await (await window.mixFetch(`${u}/deflate`)).json();
      return [gzip.gzipped, deflate.deflated];
    }, HTTPBIN);
    expect(r).toEqual([true, true]);
  });

  it('streams httpbin /stream and /drip as they come', async () => {
    const r = await harness!.page.evaluate(async (u) => {
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
      .update(await readFile(path.join(harness!.localnet.runDir, 'www/random-10MiB.bin')))
      .digest('hex');
    const r = await harness!.page.evaluate(async (u) => {
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
    const r = await harness!.page.evaluate(async (u) => {
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
    const after = await harness!.page.evaluate(async (u) => (await window.mixFetch(u)).status, `${NGINX}/small.txt`);
    expect(after).toBe(200);
  });

  it('shows Set-Cookie of httpbin /cookies/set on a manual redirect, and sends a Cookie the caller sets', async () => {
    const r = await harness!.page.evaluate(async (u) => {
      const set = await window.mixFetch(`${u}/cookies/set?flavour=oatmeal`, { redirect: 'manual' });
      const echoed = await (await window.mixFetch(`${u}/cookies`, { headers: { Cookie: 'flavour=oatmeal' } })).json();
      return {
        status: set.status,
        location: set.headers.get('location'),
        setCookie: set.headers.getSetCookie(),
        echoed,
      };
    }, HTTPBIN);
    expect(r.status).toBe(302);
    expect(r.location).toMatch(/\/cookies$/);
    expect(r.setCookie).toEqual([expect.stringMatching(/^flavour=oatmeal(;|$)/)]);
    expect(r.echoed).toEqual({ cookies: { flavour: 'oatmeal' } });
  });

  it('gives httpbin /bytes/N whole, the same bytes for the same seed', async () => {
    const r = await harness!.page.evaluate(async (u) => {
      const read = async () => {
        const res = await window.mixFetch(`${u}/bytes/4096?seed=7`);
        return { type: res.headers.get('content-type'), bytes: Array.from(new Uint8Array(await res.arrayBuffer())) };
      };
      const [first, second] = [await read(), await read()];
      return { type: first.type, length: first.bytes.length, same: first.bytes.join() === second.bytes.join() };
    }, HTTPBIN);
    expect(r).toEqual({ type: 'application/octet-stream', length: 4096, same: true });
  });

  it('gives what httpbin /base64 decodes, as UTF-8 text', async () => {
    const text = 'mixnet-web über alles ✓';
    const encoded = Buffer.from(text).toString('base64url');
    const padded = encoded.padEnd(Math.ceil(encoded.length / 4) * 4, '=');
    const body = await harness!.page.evaluate(async (url) => (await window.mixFetch(url)).text(), `${HTTPBIN}/base64/${padded}`);
    expect(body).toBe(text);
  });

  it('sends the header shim of the published mix-fetch, and the caller\'s headers instead when given', async () => {
    const r = await harness!.page.evaluate(async (u) => {
      const shim = (await (await window.mixFetch(`${u}/headers`)).json()).headers;
      const callers = (
        await (
          await window.mixFetch(`${u}/headers`, {
            headers: {
              'User-Agent': 'mixnet-web-e2e/1',
              Accept: 'application/json',
              'Accept-Language': 'fr',
              'Accept-Encoding': 'identity',
            },
          })
        ).json()
      ).headers;
      return { shim, callers };
    }, HTTPBIN);
    expect(r.shim).toMatchObject({
      Host: 'httpbin.mixnet.test',
      'User-Agent':
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
      'Accept-Language': 'en-US,en;q=0.9',
      // ours, unlike the published identity: mixFetch decodes gzip and deflate as browsers do
      'Accept-Encoding': 'gzip, deflate',
    });
    // each exactly as given: a shim value beside the caller's would show up comma-joined
    expect(r.callers).toMatchObject({
      'User-Agent': 'mixnet-web-e2e/1',
      Accept: 'application/json',
      'Accept-Language': 'fr',
      'Accept-Encoding': 'identity',
    });
  });

  it('sends a ReadableStream body (duplex: half) as it comes, which httpbin /anything echoes', async () => {
    const r = await harness!.page.evaluate(async (u) => {
      const pieces = ['first piece, ', 'second piece, ', 'last piece ✓'];
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const next = pieces.shift();
          if (next === undefined) return controller.close();
          // a pause between pieces, so they leave as separate chunks
          await new Promise((resolve) => setTimeout(resolve, 50));
          controller.enqueue(encoder.encode(next));
        },
      });
      const init = { method: 'PUT', body, duplex: 'half', headers: { 'Content-Type': 'text/plain' } };
      const res = await window.mixFetch(`${u}/anything/upload`, init as RequestInit);
      const echo = await res.json();
      return { status: res.status, method: echo.method, data: echo.data, transferEncoding: echo.headers['Transfer-Encoding'] };
    }, HTTPBIN);
    expect(r).toEqual({
      status: 200,
      method: 'PUT',
      data: 'first piece, second piece, last piece ✓',
      transferEncoding: 'chunked',
    });
  });

  it('page and worker reported no errors', () => {
    expect(harness!.browser.problems).toEqual([]);
  });
});
