import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MixFetchEvent, MixFetchEventCallback, MixFetchRequest } from '@nymproject/mix-tunnel';

// The facade reaches the worker only through '@nymproject/mix-tunnel': replace it with a fake.
const h = vi.hoisted(() => ({ worker: undefined as unknown, setup: [] as unknown[] }));
vi.mock('@nymproject/mix-tunnel', async () => {
  const { proxy } = await vi.importActual<typeof import('comlink')>('comlink');
  const { concatBytes } = await vi.importActual<typeof import('../../mix-tunnel/src/bytes')>('../../mix-tunnel/src/bytes');
  return {
    concatBytes,
    getMixTunnel: async () => h.worker,
    proxy,
    setupMixTunnel: async (opts?: unknown) => {
      h.setup.push(opts);
    },
    disconnectMixTunnel: async () => {},
    getTunnelState: async () => ({ state: 'ready' }),
    getTunnelStats: async () => ({ state: 'ready', reason: null }),
    onTunnelStateChange: async () => {},
  };
});

import * as Comlink from 'comlink';
import { BODY_HIGH_WATER_MARK, createMixFetch, mixFetch, setupMixTunnel } from './index';

interface FakeRequest {
  id: number;
  request: MixFetchRequest;
  emit: MixFetchEventCallback;
  uploaded: Array<Uint8Array | null>;
  consumed: number[];
  aborted: boolean;
}

/** A fake mix-tunnel worker: records what the page asks and lets a test answer. */
class FakeWorker {
  requests: FakeRequest[] = [];
  /** When set, fetchBody waits on it: the worker's back-pressure. */
  bodyGate: Promise<void> | null = null;
  startError: unknown = null;
  /** Called inside fetchStart, before it returns the id. */
  onStart: ((r: FakeRequest) => void) | null = null;
  private nextId = 1;

  byId(id: number): FakeRequest {
    const r = this.requests.find((x) => x.id === id);
    if (!r) throw new Error(`no request ${id}`);
    return r;
  }
  fetchStart = vi.fn(async (request: MixFetchRequest, onEvent: MixFetchEventCallback): Promise<number> => {
    if (this.startError) throw this.startError;
    const r: FakeRequest = { id: this.nextId++, request, emit: onEvent, uploaded: [], consumed: [], aborted: false };
    this.requests.push(r);
    this.onStart?.(r);
    return r.id;
  });
  fetchBody = vi.fn(async (id: number, chunk: Uint8Array | null): Promise<void> => {
    this.byId(id).uploaded.push(chunk);
    if (this.bodyGate) await this.bodyGate;
  });
  fetchConsumed = vi.fn(async (id: number, bytes: number): Promise<void> => {
    this.byId(id).consumed.push(bytes);
  });
  fetchAbort = vi.fn(async (id: number): Promise<void> => {
    this.byId(id).aborted = true;
  });
}

let worker: FakeWorker;
beforeEach(() => {
  worker = new FakeWorker();
  h.worker = worker;
  h.setup = [];
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null | undefined): string => new TextDecoder().decode(b ?? new Uint8Array());

/** Waits until the fake has seen request number n (1-based). */
async function started(n = 1): Promise<FakeRequest> {
  for (let i = 0; i < 50 && worker.requests.length < n; i++) await tick();
  const r = worker.requests[n - 1];
  if (!r) throw new Error('fetchStart was not called');
  return r;
}

function respond(r: FakeRequest, init: Partial<Extract<MixFetchEvent, { type: 'response' }>> = {}): void {
  r.emit({
    type: 'response',
    status: 200,
    statusText: 'OK',
    headers: [],
    url: r.request.url,
    redirected: false,
    ...init,
  });
}

/** Starts a fetch and gives the request the worker saw. */
async function requestOf(input: RequestInfo | URL, init?: RequestInit): Promise<MixFetchRequest> {
  const p = mixFetch(input, init);
  const r = await started();
  respond(r);
  r.emit({ type: 'end' });
  await p;
  return r.request;
}

async function gzip(bytes: Uint8Array, format: CompressionFormat = 'gzip'): Promise<Uint8Array> {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

describe('mixFetch: the request as the worker gets it', () => {
  it('a plain GET, byte for byte', async () => {
    expect(await requestOf('https://example.com/a?b=1')).toEqual({
      url: 'https://example.com/a?b=1',
      method: 'GET',
      headers: [['Accept-Encoding', 'gzip, deflate']],
      body: null,
      bodyStreamed: false,
      redirect: 'follow',
      timeoutMs: 0,
    });
  });

  it('takes a null or missing init', async () => {
    expect((await requestOf('https://example.com/', null as unknown as RequestInit)).method).toBe('GET');
  });

  it('passes the callback as a Comlink proxy', async () => {
    await requestOf('https://example.com/');
    const cb = worker.fetchStart.mock.calls[0]![1];
    expect((cb as unknown as Record<symbol, unknown>)[Comlink.proxyMarker]).toBe(true);
  });

  it('drops the fragment and takes a URL object', async () => {
    expect((await requestOf(new URL('http://example.com:8080/p#frag'))).url).toBe('http://example.com:8080/p');
    worker.requests = [];
    expect((await requestOf('https://example.com/x#')).url).toBe('https://example.com/x');
  });

  it('resolves a relative URL against location.href when there is one', async () => {
    vi.stubGlobal('location', { href: 'https://site.example/dir/page.html' });
    expect((await requestOf('../img/a.png?x')).url).toBe('https://site.example/img/a.png?x');
  });

  it('rejects a relative URL without a location, other schemes and credentials, with a TypeError', async () => {
    await expect(mixFetch('/relative')).rejects.toThrow(TypeError);
    await expect(mixFetch('ftp://example.com/')).rejects.toThrow(TypeError);
    await expect(mixFetch('data:text/plain,hi')).rejects.toThrow(/unsupported URL scheme/);
    await expect(mixFetch('ws://example.com/')).rejects.toThrow(TypeError);
    await expect(mixFetch('https://user:pw@example.com/')).rejects.toThrow(TypeError);
    expect(worker.fetchStart).not.toHaveBeenCalled();
  });

  it('upper-cases the methods fetch normalises, and only those', async () => {
    const seen: string[] = [];
    for (const m of ['delete', 'get', 'Head', 'options', 'post', 'put', 'patch', 'PaTcH', 'PROPFIND']) {
      worker.requests = [];
      seen.push((await requestOf('https://example.com/', { method: m })).method);
    }
    expect(seen).toEqual(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'patch', 'PaTcH', 'PROPFIND']);
  });

  it('rejects invalid and forbidden methods with a TypeError', async () => {
    await expect(mixFetch('https://example.com/', { method: 'GE T' })).rejects.toThrow(TypeError);
    await expect(mixFetch('https://example.com/', { method: '' })).rejects.toThrow(TypeError);
    await expect(mixFetch('https://example.com/', { method: 'connect' })).rejects.toThrow(TypeError);
    await expect(mixFetch('https://example.com/', { method: 'TRACE' })).rejects.toThrow(TypeError);
    expect(worker.fetchStart).not.toHaveBeenCalled();
  });

  it('rejects a GET or HEAD with a body with a TypeError', async () => {
    await expect(mixFetch('https://example.com/', { body: 'x' })).rejects.toThrow(TypeError);
    await expect(mixFetch('https://example.com/', { method: 'head', body: 'x' })).rejects.toThrow(TypeError);
    // a null body is no body
    expect((await requestOf('https://example.com/', { body: null })).body).toBeNull();
  });

  it('keeps record headers in order, with their case, Cookie and Host included', async () => {
    const req = await requestOf('https://example.com/', {
      headers: { 'X-B': '2', Cookie: 'a=1', 'x-a': ' 1\t', Host: 'other.example', Origin: 'https://o.example' },
    });
    expect(req.headers).toEqual([
      ['X-B', '2'],
      ['Cookie', 'a=1'],
      ['x-a', '1'],
      ['Host', 'other.example'],
      ['Origin', 'https://o.example'],
      ['Accept-Encoding', 'gzip, deflate'],
    ]);
  });

  it('keeps pairs in order with repeats', async () => {
    const req = await requestOf('https://example.com/', {
      headers: [
        ['X-Rep', 'a'],
        ['Accept', '*/*'],
        ['X-Rep', 'b'],
      ],
    });
    expect(req.headers).toEqual([
      ['X-Rep', 'a'],
      ['Accept', '*/*'],
      ['X-Rep', 'b'],
      ['Accept-Encoding', 'gzip, deflate'],
    ]);
  });

  it('takes a Headers object, in its iteration order', async () => {
    const hs = new Headers();
    hs.append('X-Z', '1');
    hs.append('Cookie', 'c=1');
    const req = await requestOf('https://example.com/', { headers: hs });
    expect(req.headers).toEqual([
      ['cookie', 'c=1'],
      ['x-z', '1'],
      ['Accept-Encoding', 'gzip, deflate'],
    ]);
  });

  it('rejects invalid header names, values and pairs with a TypeError', async () => {
    await expect(mixFetch('https://example.com/', { headers: { 'bad name': 'x' } })).rejects.toThrow(TypeError);
    await expect(mixFetch('https://example.com/', { headers: { a: 'x\ny' } })).rejects.toThrow(TypeError);
    await expect(
      mixFetch('https://example.com/', { headers: [['a', 'b', 'c']] as unknown as HeadersInit }),
    ).rejects.toThrow(TypeError);
  });

  it('leaves a caller-set Accept-Encoding alone, whatever its case', async () => {
    const req = await requestOf('https://example.com/', { headers: { 'accept-encoding': 'identity' } });
    expect(req.headers).toEqual([['accept-encoding', 'identity']]);
  });

  it('passes the redirect mode, and rejects an unknown one', async () => {
    expect((await requestOf('https://example.com/', { redirect: 'manual' })).redirect).toBe('manual');
    worker.requests = [];
    expect((await requestOf('https://example.com/', { redirect: 'error' })).redirect).toBe('error');
    await expect(
      mixFetch('https://example.com/', { redirect: 'bogus' as RequestRedirect }),
    ).rejects.toThrow(TypeError);
  });

  it('takes a Request: its URL, method, headers, body and redirect', async () => {
    const request = new Request('https://example.com/r#f', {
      method: 'put',
      headers: { 'X-One': '1' },
      body: 'hello',
      redirect: 'manual',
    });
    const req = await requestOf(request);
    expect(req.url).toBe('https://example.com/r');
    expect(req.method).toBe('PUT');
    expect(req.headers).toEqual([
      ['content-type', 'text/plain;charset=UTF-8'],
      ['x-one', '1'],
      ['Accept-Encoding', 'gzip, deflate'],
    ]);
    expect(dec(req.body)).toBe('hello');
    expect(req.redirect).toBe('manual');
    expect(request.bodyUsed).toBe(true);
  });

  it('lets init override a Request', async () => {
    const request = new Request('https://example.com/r', { method: 'POST', headers: { 'X-One': '1' }, body: 'a' });
    const req = await requestOf(request, { method: 'PATCH', headers: { 'X-Two': '2' }, body: 'bb' });
    expect(req.method).toBe('PATCH');
    expect(req.headers).toEqual([
      ['X-Two', '2'],
      ['Content-Type', 'text/plain;charset=UTF-8'],
      ['Accept-Encoding', 'gzip, deflate'],
    ]);
    expect(dec(req.body)).toBe('bb');
  });

  it('rejects a Request whose body was used', async () => {
    const request = new Request('https://example.com/', { method: 'POST', body: 'x' });
    await request.text();
    await expect(mixFetch(request)).rejects.toThrow(TypeError);
  });
});

describe('mixFetch: request bodies', () => {
  const post = (body: unknown, headers?: HeadersInit): Promise<MixFetchRequest> =>
    requestOf('https://example.com/', { method: 'POST', body: body as BodyInit, ...(headers ? { headers } : {}) });
  const contentType = (req: MixFetchRequest): string | undefined =>
    req.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1];

  it('a string: UTF-8 and text/plain', async () => {
    const req = await post('héllo ✓');
    expect(req.body).toEqual(enc('héllo ✓'));
    expect(req.bodyStreamed).toBe(false);
    expect(req.headers).toEqual([
      ['Content-Type', 'text/plain;charset=UTF-8'],
      ['Accept-Encoding', 'gzip, deflate'],
    ]);
  });

  it('a caller-set Content-Type wins', async () => {
    const req = await post('{}', { 'content-type': 'application/json' });
    expect(req.headers).toEqual([
      ['content-type', 'application/json'],
      ['Accept-Encoding', 'gzip, deflate'],
    ]);
  });

  it('an ArrayBuffer, with no Content-Type', async () => {
    const req = await post(new Uint8Array([1, 2, 3]).buffer);
    expect(req.body).toEqual(new Uint8Array([1, 2, 3]));
    expect(contentType(req)).toBeUndefined();
  });

  it('any ArrayBufferView, only its own bytes, copied', async () => {
    const buf = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7]);
    const view = new DataView(buf.buffer, 2, 3);
    const p = mixFetch('https://example.com/', { method: 'POST', body: view });
    buf[2] = 9; // after the call: the body was copied in it, as fetch copies
    const r = await started();
    respond(r);
    r.emit({ type: 'end' });
    await p;
    expect(r.request.body).toEqual(new Uint8Array([2, 3, 4]));
    worker.requests = [];
    expect((await post(new Uint16Array([0x0102]))).body).toEqual(new Uint8Array(new Uint16Array([0x0102]).buffer));
    worker.requests = [];
    expect((await post(new Uint8Array([5, 6, 7]).subarray(1))).body).toEqual(new Uint8Array([6, 7]));
  });

  it('a Blob, with its type', async () => {
    const req = await post(new Blob(['<a/>'], { type: 'application/xml' }));
    expect(dec(req.body)).toBe('<a/>');
    expect(contentType(req)).toBe('application/xml');
    worker.requests = [];
    expect(contentType(await post(new Blob(['x'])))).toBeUndefined();
  });

  it('URLSearchParams, form-encoded', async () => {
    const req = await post(new URLSearchParams({ a: '1 2', b: 'é' }));
    expect(dec(req.body)).toBe('a=1+2&b=%C3%A9');
    expect(contentType(req)).toBe('application/x-www-form-urlencoded;charset=UTF-8');
  });

  it('FormData, multipart with its boundary', async () => {
    const form = new FormData();
    form.append('field', 'value');
    form.append('file', new Blob(['data'], { type: 'text/plain' }), 'f.txt');
    const req = await post(form);
    const type = contentType(req)!;
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(type)?.[1];
    expect(boundary).toBeTruthy();
    const text = dec(req.body);
    expect(text.startsWith(`--${boundary}\r\n`)).toBe(true);
    expect(text).toContain('Content-Disposition: form-data; name="field"\r\n\r\nvalue\r\n');
    expect(text).toContain('filename="f.txt"');
    expect(text.trimEnd().endsWith(`--${boundary}--`)).toBe(true);
  });

  it('a ReadableStream, streamed through fetchBody, then null', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc('ab'));
        c.enqueue(enc('cd'));
        c.close();
      },
    });
    const p = mixFetch('https://example.com/', { method: 'POST', body, duplex: 'half' } as RequestInit);
    const r = await started();
    for (let i = 0; i < 20 && r.uploaded.at(-1) !== null; i++) await tick();
    expect(r.request.body).toBeNull();
    expect(r.request.bodyStreamed).toBe(true);
    expect(r.uploaded.map((c) => (c ? dec(c) : null))).toEqual(['ab', 'cd', null]);
    expect(body.locked).toBe(true);
    respond(r);
    r.emit({ type: 'end' });
    await p;
  });

  it('honours the worker back-pressure on a streamed body', async () => {
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          pulls++;
          c.enqueue(new Uint8Array(1000));
          if (pulls === 10) c.close();
        },
      },
      { highWaterMark: 1 },
    );
    let open!: () => void;
    worker.bodyGate = new Promise((r) => (open = r));
    const p = mixFetch('https://example.com/', { method: 'POST', body });
    const r = await started();
    for (let i = 0; i < 10; i++) await tick();
    // the worker took one chunk and is not ready: the stream is read no further than its own queue
    expect(r.uploaded.length).toBe(1);
    expect(pulls).toBeLessThanOrEqual(3);
    worker.bodyGate = null;
    open();
    for (let i = 0; i < 30 && r.uploaded.at(-1) !== null; i++) await tick();
    expect(r.uploaded.length).toBe(11);
    expect(r.uploaded.at(-1)).toBeNull();
    respond(r);
    r.emit({ type: 'end' });
    await p;
  });

  it('a stream body that errors rejects with a TypeError and aborts the request', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc('a'));
      },
      pull(c) {
        c.error(new Error('disk gone'));
      },
    });
    const p = mixFetch('https://example.com/', { method: 'POST', body });
    await expect(p).rejects.toThrow(TypeError);
    expect(worker.requests[0]!.aborted).toBe(true);
  });

  it('a stream body giving non-bytes rejects with a TypeError', async () => {
    const body = new ReadableStream({
      start(c) {
        c.enqueue('text');
        c.close();
      },
    });
    await expect(mixFetch('https://example.com/', { method: 'POST', body })).rejects.toThrow(TypeError);
  });

  it('a locked stream body is a TypeError', async () => {
    const body = new ReadableStream();
    body.getReader();
    await expect(mixFetch('https://example.com/', { method: 'POST', body })).rejects.toThrow(TypeError);
  });

  it('other values become strings, as fetch converts them', async () => {
    expect(dec((await post(42)).body)).toBe('42');
  });
});

describe('mixFetch: responses', () => {
  it('gives status, statusText, headers, and a body that streams before the end', async () => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    respond(r, { status: 201, statusText: 'Created', headers: [['Content-Type', 'text/plain'], ['X-A', '1']] });
    const res = await p;
    expect(res.status).toBe(201);
    expect(res.statusText).toBe('Created');
    expect(res.ok).toBe(true);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(res.headers.get('x-a')).toBe('1');
    const reader = res.body!.getReader();
    r.emit({ type: 'body', chunk: enc('first ') });
    expect(dec((await reader.read()).value)).toBe('first ');
    r.emit({ type: 'body', chunk: enc('second') });
    r.emit({ type: 'end' });
    expect(dec((await reader.read()).value)).toBe('second');
    expect((await reader.read()).done).toBe(true);
  });

  it('gives every byte back with fetchConsumed while the reader has room', async () => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    respond(r);
    const res = await p;
    r.emit({ type: 'body', chunk: new Uint8Array(1000) });
    r.emit({ type: 'body', chunk: new Uint8Array(500) });
    r.emit({ type: 'end' });
    expect((await res.arrayBuffer()).byteLength).toBe(1500);
    await tick();
    expect(r.consumed).toEqual([1000, 500]);
  });

  it('holds fetchConsumed back when nobody reads, and gives it on pull', async () => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    respond(r);
    const res = await p;
    const chunk = 64 * 1024;
    for (let i = 0; i < 6; i++) r.emit({ type: 'body', chunk: new Uint8Array(chunk) });
    await tick();
    const acked = (): number => r.consumed.reduce((a, b) => a + b, 0);
    // room for 256 KiB: the first three chunks are acknowledged, the fourth fills the queue
    expect(acked()).toBe(3 * chunk);
    expect(acked()).toBeLessThan(BODY_HIGH_WATER_MARK);
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    await tick();
    // 256 KiB still queued: no room yet
    expect(acked()).toBe(3 * chunk);
    await reader.read();
    await tick();
    // room for one chunk: only that much more
    expect(acked()).toBe(4 * chunk);
    let n = 3;
    while (n < 6) {
      await reader.read();
      n++;
    }
    await tick();
    expect(acked()).toBe(6 * chunk);
    r.emit({ type: 'end' });
    expect((await reader.read()).done).toBe(true);
  });

  it('copies a chunk that is a view of a larger buffer', async () => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    respond(r);
    const res = await p;
    const big = enc('xxhelloxx');
    r.emit({ type: 'body', chunk: big.subarray(2, 7) });
    r.emit({ type: 'end' });
    expect(await res.text()).toBe('hello');
    expect(big.byteLength).toBe(9); // not detached
  });

  it.each([204, 205, 304])('a %i has a null body, and later body bytes are acknowledged', async (status) => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    respond(r, { status, statusText: '' });
    const res = await p;
    expect(res.status).toBe(status);
    expect(res.body).toBeNull();
    r.emit({ type: 'body', chunk: new Uint8Array(3) });
    r.emit({ type: 'end' });
    await tick();
    expect(r.consumed).toEqual([3]);
  });

  it('a HEAD response has a null body', async () => {
    const p = mixFetch('https://example.com/', { method: 'HEAD' });
    const r = await started();
    respond(r, { headers: [['Content-Length', '100']] });
    const res = await p;
    expect(res.body).toBeNull();
    expect(res.headers.get('content-length')).toBe('100');
  });

  it('keeps Set-Cookie, every one', async () => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    respond(r, {
      headers: [
        ['Set-Cookie', 'a=1; Path=/'],
        ['Content-Type', 'text/plain'],
        ['Set-Cookie', 'b=2'],
      ],
    });
    const res = await p;
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(res.clone().headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
  });

  it('leaves out a header field no Headers can hold', async () => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    respond(r, { headers: [['Good', 'yes'], ['Bad', 'a\u0000b'], ['Bad Name', 'x']] });
    const res = await p;
    expect([...res.headers]).toEqual([['good', 'yes']]);
  });

  it('sets url and redirected, on clones too', async () => {
    const p = mixFetch('https://example.com/start');
    const r = await started();
    respond(r, { url: 'https://example.com/final', redirected: true });
    r.emit({ type: 'body', chunk: enc('x') });
    r.emit({ type: 'end' });
    const res = await p;
    expect(res.url).toBe('https://example.com/final');
    expect(res.redirected).toBe(true);
    const clone = res.clone();
    expect(clone.url).toBe('https://example.com/final');
    expect(clone.redirected).toBe(true);
    expect(await clone.text()).toBe('x');
    expect(await res.text()).toBe('x');
  });

  it('falls back to the request URL when the worker gives none', async () => {
    const p = mixFetch('https://example.com/a#x');
    const r = await started();
    respond(r, { url: '' });
    const res = await p;
    expect(res.url).toBe('https://example.com/a');
    expect(res.redirected).toBe(false);
  });

  it('gives a manual 3xx as it is', async () => {
    const p = mixFetch('https://example.com/', { redirect: 'manual' });
    const r = await started();
    respond(r, { status: 302, statusText: 'Found', headers: [['Location', '/next']] });
    r.emit({ type: 'end' });
    const res = await p;
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/next');
    expect(res.redirected).toBe(false);
  });

  it('keeps an unusual statusText, or drops one the Response cannot take', async () => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    respond(r, { status: 299, statusText: 'Fine\nthanks' });
    const res = await p;
    expect(res.status).toBe(299);
    expect(res.statusText).toBe('');
  });

  it('a status outside 200-599 is a network error', async () => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    respond(r, { status: 101 });
    await expect(p).rejects.toThrow(TypeError);
    expect(r.aborted).toBe(true);
  });

  it('works when events come before fetchStart returns the id', async () => {
    worker.onStart = (r) => {
      respond(r);
      r.emit({ type: 'body', chunk: enc('early') });
      r.emit({ type: 'end' });
    };
    const res = await mixFetch('https://example.com/');
    expect(await res.text()).toBe('early');
    await tick();
    expect(worker.fetchConsumed).toHaveBeenCalledWith(1, 5);
  });
});

describe('mixFetch: content codings', () => {
  async function fetchEncoded(coding: string, body: Uint8Array): Promise<Response> {
    const p = mixFetch('https://example.com/');
    const r = await started();
    respond(r, { headers: [['Content-Encoding', coding], ['Content-Length', String(body.length)]] });
    const res = await p;
    // in pieces, to decode across chunk boundaries
    for (let i = 0; i < body.length; i += 7) r.emit({ type: 'body', chunk: body.slice(i, i + 7) });
    r.emit({ type: 'end' });
    return res;
  }
  const text = 'hello, gzip world! '.repeat(50);

  it('decodes gzip and keeps the header', async () => {
    const res = await fetchEncoded('gzip', await gzip(enc(text)));
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(await res.text()).toBe(text);
  });

  it('decodes x-gzip and a case-insensitive GZIP', async () => {
    expect(await (await fetchEncoded('x-gzip', await gzip(enc(text)))).text()).toBe(text);
    worker.requests = [];
    expect(await (await fetchEncoded('GZIP', await gzip(enc(text)))).text()).toBe(text);
  });

  it('decodes deflate, zlib-wrapped or raw', async () => {
    expect(await (await fetchEncoded('deflate', await gzip(enc(text), 'deflate'))).text()).toBe(text);
    worker.requests = [];
    expect(await (await fetchEncoded('deflate', await gzip(enc(text), 'deflate-raw'))).text()).toBe(text);
  });

  it('decodes stacked codings in reverse order', async () => {
    const twice = await gzip(await gzip(enc(text), 'deflate'));
    expect(await (await fetchEncoded('deflate, gzip', twice)).text()).toBe(text);
  });

  it('leaves codings it cannot decode alone', async () => {
    const raw = enc('not really brotli');
    expect(await (await fetchEncoded('br', raw)).text()).toBe('not really brotli');
  });

  it('a corrupt gzip body errors the stream', async () => {
    const res = await fetchEncoded('gzip', enc('this is not gzip at all'));
    await expect(res.arrayBuffer()).rejects.toThrow();
  });
});

describe('mixFetch: abort, errors, cancel', () => {
  it('an already aborted signal rejects with its reason at once, and nothing is sent', async () => {
    const reason = new Error('mine');
    await expect(mixFetch('https://example.com/', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    const c = new AbortController();
    c.abort();
    await expect(mixFetch('https://example.com/', { signal: c.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(worker.fetchStart).not.toHaveBeenCalled();
  });

  it('an abort before the response: fetchAbort and the reason', async () => {
    const c = new AbortController();
    const p = mixFetch('https://example.com/', { signal: c.signal });
    const r = await started();
    const reason = new DOMException('stop', 'AbortError');
    c.abort(reason);
    await expect(p).rejects.toBe(reason);
    await tick();
    expect(worker.fetchAbort).toHaveBeenCalledWith(r.id);
    // later events are ignored
    respond(r);
  });

  it('an abort after the response errors the body with the reason', async () => {
    const c = new AbortController();
    const p = mixFetch('https://example.com/', { signal: c.signal });
    const r = await started();
    respond(r);
    const res = await p;
    r.emit({ type: 'body', chunk: enc('part') });
    const reader = res.body!.getReader();
    expect(dec((await reader.read()).value)).toBe('part');
    c.abort('gone');
    await expect(reader.read()).rejects.toBe('gone');
    await tick();
    expect(r.aborted).toBe(true);
  });

  it('an abort after the end, with bytes unread, still errors the body (as fetch does)', async () => {
    const c = new AbortController();
    const p = mixFetch('https://example.com/', { signal: c.signal });
    const r = await started();
    respond(r);
    r.emit({ type: 'body', chunk: enc('part') });
    r.emit({ type: 'end' });
    const res = await p;
    c.abort('late');
    await expect(res.text()).rejects.toBe('late');
    expect(worker.fetchAbort).not.toHaveBeenCalled();
  });

  it("an abort through a Request's signal", async () => {
    const c = new AbortController();
    const p = mixFetch(new Request('https://example.com/', { signal: c.signal }));
    const r = await started();
    c.abort('via request');
    await expect(p).rejects.toBe('via request');
    await tick();
    expect(r.aborted).toBe(true);
  });

  it('an abort during a streamed upload cancels the body stream', async () => {
    let cancelled: unknown;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(enc('x'));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    worker.bodyGate = new Promise(() => {}); // the worker never takes more
    const c = new AbortController();
    const p = mixFetch('https://example.com/', { method: 'POST', body, signal: c.signal });
    await started();
    await tick();
    c.abort('stop upload');
    await expect(p).rejects.toBe('stop upload');
    await tick();
    expect(cancelled).toBe('stop upload');
  });

  it('a worker error before the response is a TypeError with its message', async () => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    r.emit({ type: 'error', name: 'TypeError', message: 'DNS error: no such host' });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toBe('DNS error: no such host');
    expect(worker.fetchAbort).not.toHaveBeenCalled();
  });

  it('a timeout is a DOMException TimeoutError', async () => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    r.emit({ type: 'error', name: 'TimeoutError', message: 'timed out' });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe('TimeoutError');
  });

  it('a worker error after the response errors the body', async () => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    respond(r);
    const res = await p;
    r.emit({ type: 'body', chunk: enc('abc') });
    r.emit({ type: 'error', name: 'TypeError', message: 'body truncated' });
    await expect(res.text()).rejects.toThrow('body truncated');
  });

  it('an end without a response is a TypeError', async () => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    r.emit({ type: 'end' });
    await expect(p).rejects.toThrow(TypeError);
  });

  it('fetchStart failing (no tunnel) is a TypeError', async () => {
    worker.startError = new Error('tunnel not connected');
    const err = await mixFetch('https://example.com/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toContain('tunnel not connected');
  });

  it('cancelling the body aborts the request', async () => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    respond(r);
    const res = await p;
    await res.body!.cancel();
    await tick();
    expect(r.aborted).toBe(true);
    r.emit({ type: 'body', chunk: enc('late') }); // ignored
    await tick();
    expect(r.consumed).toEqual([]);
  });

  it('cancelling a decoded body aborts the request too', async () => {
    const p = mixFetch('https://example.com/');
    const r = await started();
    respond(r, { headers: [['Content-Encoding', 'gzip']] });
    const res = await p;
    await res.body!.cancel();
    await tick();
    expect(r.aborted).toBe(true);
  });
});

describe('createMixFetch and the re-exports', () => {
  it('sets the tunnel up and gives mixFetch', async () => {
    const f = await createMixFetch({ clientId: 'x' });
    expect(f).toBe(mixFetch);
    expect(h.setup).toEqual([{ clientId: 'x' }]);
    expect(typeof setupMixTunnel).toBe('function');
  });
});
