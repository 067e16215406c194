// @nymproject/mix-fetch: `fetch` over the mixnet. The page side only: it
// turns a fetch call into a MixFetchRequest for the mix-tunnel worker, and
// the worker's events back into a streaming `Response`.
import {
  concatBytes,
  disconnectMixTunnel,
  getMixTunnel,
  getTunnelState,
  getTunnelStats,
  onTunnelStateChange,
  proxy,
  setupMixTunnel,
} from '@nymproject/mix-tunnel';
import type { MixFetchEvent, MixFetchRequest, SetupMixTunnelOpts } from '@nymproject/mix-tunnel';

export { setupMixTunnel, disconnectMixTunnel, getTunnelState, getTunnelStats, onTunnelStateChange };
export type { SetupMixTunnelOpts };

/** Bytes a response body may hold unread before the worker is asked to wait. */
export const BODY_HIGH_WATER_MARK = 256 * 1024;

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
const NORMALISED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REDIRECT_MODES = new Set(['follow', 'manual', 'error']);
const HTTP_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

type Pairs = Array<[string, string]>;

interface Prepared {
  request: MixFetchRequest;
  stream: ReadableStream<unknown> | null;
}

function baseUrl(): string | undefined {
  const loc = (globalThis as { location?: { href?: unknown } }).location;
  return typeof loc?.href === 'string' ? loc.href : undefined;
}

function parseUrl(text: string): URL {
  try {
    const base = baseUrl();
    return base === undefined ? new URL(text) : new URL(text, base);
  } catch {
    throw new TypeError(`mixFetch: failed to parse URL from ${text}`);
  }
}

/** The caller's headers in their order, each checked as `Headers` checks them (no guard:
 * Cookie, Host, Origin and the like are the caller's to set). */
function headerPairs(init: HeadersInit): Pairs {
  const check = new Headers();
  const out: Pairs = [];
  const add = (name: unknown, value: unknown): void => {
    const n = String(name);
    const v = String(value).replace(HTTP_WHITESPACE, '');
    check.append(n, v); // a TypeError for an invalid name or value
    out.push([n, v]);
  };
  if (init === null || (typeof init !== 'object' && typeof init !== 'function')) {
    throw new TypeError('mixFetch: headers must be a Headers object, a record or a sequence of pairs');
  }
  if (Symbol.iterator in init) {
    for (const pair of init as Iterable<unknown>) {
      if (pair === null || typeof pair !== 'object' || !(Symbol.iterator in pair)) {
        throw new TypeError('mixFetch: a header must be a [name, value] pair');
      }
      const items = [...(pair as Iterable<unknown>)];
      if (items.length !== 2) throw new TypeError('mixFetch: a header must be a [name, value] pair');
      add(items[0], items[1]);
    }
  } else {
    for (const [name, value] of Object.entries(init as Record<string, unknown>)) add(name, value);
  }
  return out;
}

const hasHeader = (pairs: Pairs, name: string): boolean =>
  pairs.some(([n]) => n.toLowerCase() === name);

function isReadableStream(x: unknown): x is ReadableStream<unknown> {
  return typeof ReadableStream !== 'undefined' && x instanceof ReadableStream;
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError('mixFetch: a request body stream gave a chunk that is not bytes');
}

function normaliseMethod(method: unknown): string {
  const m = String(method);
  if (!TOKEN.test(m)) throw new TypeError(`mixFetch: "${m}" is not a valid HTTP method`);
  const upper = m.toUpperCase();
  if (FORBIDDEN_METHODS.has(upper)) throw new TypeError(`mixFetch: the method ${m} is forbidden`);
  return NORMALISED_METHODS.has(upper) ? upper : m;
}

/** Turns fetch's arguments into what the worker takes, as a browser's fetch reads them. */
async function prepare(input: RequestInfo | URL, init: RequestInit): Promise<Prepared> {
  const request = typeof Request !== 'undefined' && input instanceof Request ? input : null;
  const url = parseUrl(request ? request.url : input instanceof URL ? input.href : String(input));
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`mixFetch: unsupported URL scheme "${url.protocol}" (only http: and https:)`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError('mixFetch: a URL with credentials cannot be fetched');
  }
  url.hash = '';

  const method = normaliseMethod(init.method ?? request?.method ?? 'GET');

  const headers = headerPairs(init.headers ?? request?.headers ?? []);

  const redirect = init.redirect ?? request?.redirect ?? 'follow';
  if (!REDIRECT_MODES.has(redirect)) throw new TypeError(`mixFetch: "${redirect}" is not a redirect mode`);

  let body: Uint8Array | null = null;
  let stream: ReadableStream<unknown> | null = null;
  let impliedType: string | null = null;
  if (init.body !== undefined && init.body !== null) {
    if (method === 'GET' || method === 'HEAD') {
      throw new TypeError(`mixFetch: a ${method} request cannot have a body`);
    }
    if (isReadableStream(init.body)) {
      if (init.body.locked) throw new TypeError('mixFetch: the body stream is locked or disturbed');
      stream = init.body;
    } else {
      // Response extracts every other body type as fetch does, with the type it implies.
      const extracted = new Response(init.body as BodyInit);
      impliedType = extracted.headers.get('content-type');
      body = new Uint8Array(await extracted.arrayBuffer());
    }
  } else if (init.body === undefined && request && request.body !== null) {
    if (method === 'GET' || method === 'HEAD') {
      throw new TypeError(`mixFetch: a ${method} request cannot have a body`);
    }
    if (request.bodyUsed) throw new TypeError('mixFetch: the Request body was already used');
    body = new Uint8Array(await request.arrayBuffer());
  }

  if (impliedType !== null && !hasHeader(headers, 'content-type')) headers.push(['Content-Type', impliedType]);
  if (!hasHeader(headers, 'accept-encoding')) headers.push(['Accept-Encoding', 'gzip, deflate']);

  return {
    request: {
      url: url.href,
      method,
      headers,
      body,
      bodyStreamed: stream !== null,
      redirect,
      timeoutMs: 0,
    },
    stream,
  };
}

function pickSignal(input: RequestInfo | URL, init: RequestInit): AbortSignal | null {
  if ('signal' in init && init.signal !== undefined) return init.signal;
  return typeof Request !== 'undefined' && input instanceof Request ? input.signal : null;
}

function headersOf(pairs: Pairs): Headers {
  const h = new Headers();
  for (const [name, value] of pairs) {
    try {
      h.append(name, value);
    } catch {
      // a field no Headers can hold: left out, as browsers leave it out
    }
  }
  return h;
}

/** HTTP's `deflate` is zlib-wrapped, but some servers send it raw: browsers take both. */
function inflate(src: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = src.getReader();
  let out: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!out) {
          const first: Uint8Array[] = [];
          let n = 0;
          let done = false;
          while (n < 2) {
            const r = await reader.read();
            if (r.done) {
              done = true;
              break;
            }
            first.push(r.value);
            n += r.value.byteLength;
          }
          const head = concatBytes(first);
          const zlib = head.length >= 2 && (head[0]! & 0x0f) === 8 && ((head[0]! << 8) | head[1]!) % 31 === 0;
          const rest = new ReadableStream<Uint8Array>(
            {
              start(c) {
                if (head.length > 0) c.enqueue(head);
              },
              async pull(c) {
                if (done) return c.close();
                const r = await reader.read();
                if (r.done) c.close();
                else c.enqueue(r.value);
              },
              cancel: (reason) => reader.cancel(reason),
            },
            { highWaterMark: 0 },
          );
          out = rest
            .pipeThrough(new DecompressionStream(zlib ? 'deflate' : 'deflate-raw') as TransformStream<Uint8Array, Uint8Array>)
            .getReader();
        }
        const r = await out.read();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      cancel: (reason) => (out ? out.cancel(reason) : reader.cancel(reason)),
    },
    { highWaterMark: 0 },
  );
}

/** Decodes gzip and deflate as browsers do (the Content-Encoding header stays); any other coding is left as is. */
function decode(stream: ReadableStream<Uint8Array>, contentEncoding: string | null): ReadableStream<Uint8Array> {
  if (!contentEncoding) return stream;
  const codings = contentEncoding
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (!codings.every((c) => c === 'gzip' || c === 'x-gzip' || c === 'deflate')) return stream;
  let out = stream;
  for (const coding of codings.reverse()) {
    out =
      coding === 'deflate'
        ? inflate(out)
        : out.pipeThrough(new DecompressionStream('gzip') as TransformStream<Uint8Array, Uint8Array>);
  }
  return out;
}

function workerError(event: { name: 'TypeError' | 'TimeoutError'; message: string }): Error {
  return event.name === 'TimeoutError' ? new DOMException(event.message, 'TimeoutError') : new TypeError(event.message);
}

function asTypeError(err: unknown): TypeError {
  if (err instanceof TypeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TypeError(`mixFetch: ${message}`, { cause: err });
}

/** Gives the response the fields the Response constructor cannot: its URL, whether it
 * was redirected, and headers without the response guard (Set-Cookie kept). */
function decorate(res: Response, headers: Headers, url: string, redirected: boolean): Response {
  const clone = res.clone.bind(res);
  Object.defineProperties(res, {
    headers: { value: headers, enumerable: true, configurable: true },
    url: { value: url, enumerable: true, configurable: true },
    redirected: { value: redirected, enumerable: true, configurable: true },
    clone: { value: () => decorate(clone(), new Headers(headers), url, redirected), configurable: true, writable: true },
  });
  return res;
}

/**
 * Fetch over the mixnet, with the browser's `fetch` semantics. The tunnel must be up:
 * call `setupMixTunnel(opts)` first, or use `createMixFetch(opts)`.
 */
export const mixFetch = async (input: RequestInfo | URL, init?: RequestInit | null): Promise<Response> => {
  init ??= {};
  const signal = pickSignal(input, init);
  if (signal?.aborted) throw signal.reason;
  const { request, stream } = await prepare(input, init);
  if (signal?.aborted) throw signal.reason;
  const tunnel = await getMixTunnel();
  if (signal?.aborted) throw signal.reason;

  return new Promise<Response>((resolve, reject) => {
    let settled = false; // the promise
    let finished = false; // the worker's side of the request
    let controller: ReadableByteStreamController | undefined;
    let pendingCredit = 0;
    let uploadReader: ReadableStreamDefaultReader<unknown> | undefined;
    // the id, once fetchStart gives it (events may come first)
    let gotId!: (id: number) => void;
    let noId!: (err: unknown) => void;
    const idPromise = new Promise<number>((res, rej) => {
      gotId = res;
      noId = rej;
    });
    const withId = (fn: (id: number) => Promise<void>): Promise<void> =>
      idPromise.then(fn).catch(() => {
        // the request is gone in the worker: its own events say why
      });

    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
    };
    const finish = (reason?: unknown): void => {
      finished = true;
      pendingCredit = 0;
      uploadReader?.cancel(reason).catch(() => {});
    };
    /** Ends the request with err; tellWorker when the worker does not know yet. */
    const fail = (err: unknown, tellWorker = true): void => {
      const wasFinished = finished;
      finish(err);
      if (!wasFinished && tellWorker) void withId((id) => tunnel.fetchAbort(id));
      if (!settled) settle(() => reject(err));
      else errorBody(err);
      signal?.removeEventListener('abort', onAbort);
    };
    const errorBody = (err: unknown): void => {
      try {
        controller?.error(err);
      } catch {
        // already closed and drained
      }
    };
    const credit = (bytes: number): void => {
      if (finished || bytes <= 0) return;
      void withId((id) => tunnel.fetchConsumed(id, bytes));
    };

    const onEvent = (event: MixFetchEvent): void => {
      if (finished) return;
      switch (event.type) {
        case 'response': {
          if (settled) return;
          const { status } = event;
          if (!Number.isInteger(status) || status < 200 || status > 599) {
            fail(new TypeError(`mixFetch: the server answered with status ${status}`));
            return;
          }
          const headers = headersOf(event.headers);
          let body: ReadableStream<Uint8Array> | null = null;
          if (request.method !== 'HEAD' && !NULL_BODY_STATUSES.has(status)) {
            const raw = new ReadableStream(
              {
                type: 'bytes',
                start(c) {
                  controller = c;
                },
                pull(c) {
                  // room again: the worker may send as much as there is room for
                  const n = Math.min(pendingCredit, Math.max(0, c.desiredSize ?? 0));
                  pendingCredit -= n;
                  credit(n);
                },
                cancel(reason) {
                  if (finished) return;
                  finish(reason);
                  void withId((id) => tunnel.fetchAbort(id));
                  signal?.removeEventListener('abort', onAbort);
                },
              },
              { highWaterMark: BODY_HIGH_WATER_MARK },
            );
            body = decode(raw, headers.get('content-encoding'));
          } else {
            // no body to give: the abort signal no longer matters once the worker is done
          }
          const init = { status, statusText: event.statusText, headers };
          let res: Response;
          try {
            res = new Response(body, init);
          } catch {
            res = new Response(body, { ...init, statusText: '' });
          }
          settle(() => resolve(decorate(res, headers, event.url || request.url, event.redirected)));
          return;
        }
        case 'body': {
          const n = event.chunk.byteLength;
          if (!controller || n === 0) {
            credit(n); // a body nobody reads (HEAD, 204, 304): keep the worker going
            return;
          }
          const chunk = event.chunk as Uint8Array<ArrayBuffer>;
          // enqueue takes the chunk's buffer: copy a view of a larger one
          controller.enqueue(
            chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : chunk.slice(),
          );
          if ((controller.desiredSize ?? 0) > 0) credit(n);
          else pendingCredit += n;
          return;
        }
        case 'end': {
          finish();
          if (!settled) {
            settle(() => reject(new TypeError('mixFetch: the request ended without a response')));
          } else {
            try {
              controller?.close();
            } catch {
              // cancelled by the reader
            }
          }
          if (!controller) signal?.removeEventListener('abort', onAbort);
          return;
        }
        case 'error':
          fail(workerError(event), false);
          return;
      }
    };

    const onAbort = (): void => {
      const reason = signal!.reason;
      if (!finished) fail(reason);
      else if (!settled) settle(() => reject(reason));
      else errorBody(reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    tunnel.fetchStart(request, proxy(onEvent)).then(gotId, noId);
    idPromise.catch((err: unknown) => {
      if (!finished) fail(asTypeError(err));
    });

    if (stream) {
      const reader = stream.getReader();
      uploadReader = reader;
      const pump = async (): Promise<void> => {
        const id = await idPromise;
        for (;;) {
          const { done, value } = await reader.read();
          if (finished) return;
          if (done) {
            await tunnel.fetchBody(id, null);
            return;
          }
          const chunk = toBytes(value);
          // the worker resolves when it can take more: the stream's back-pressure
          if (chunk.byteLength > 0) await tunnel.fetchBody(id, chunk);
        }
      };
      pump().catch((err: unknown) => {
        if (!finished) fail(new TypeError('mixFetch: the request body could not be sent', { cause: err }));
      });
    }
  });
};

/**
 * Sets the tunnel up and gives `mixFetch`. Equivalent to
 * `await setupMixTunnel(opts); return mixFetch;`; the tunnel is one per page.
 */
export const createMixFetch = async (opts?: SetupMixTunnelOpts): Promise<typeof mixFetch> => {
  await setupMixTunnel(opts);
  return mixFetch;
};
