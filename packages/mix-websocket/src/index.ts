// @nymproject/mix-websocket: a WebSocket over the mixnet, with the WHATWG
// WebSocket interface (plus the published package's extras: `opened()`,
// `protocols`, and promises from send and close). The connection itself
// lives in the mix-tunnel worker.
import {
  disconnectMixTunnel,
  getMixTunnel,
  getTunnelState,
  getTunnelStats,
  onTunnelStateChange,
  proxy,
  setupMixTunnel,
} from '@nymproject/mix-tunnel';
import type { MixWebSocketEvent, SetupMixTunnelOpts } from '@nymproject/mix-tunnel';

export { setupMixTunnel, disconnectMixTunnel, getTunnelState, getTunnelStats, onTunnelStateChange };
export type { SetupMixTunnelOpts };

export type MixWebSocketReadyState = 0 | 1 | 2 | 3;
export type MixWebSocketBinaryType = 'blob' | 'arraybuffer';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_REASON_BYTES = 123;

interface CloseEventInitLike extends EventInit {
  code?: number;
  reason?: string;
  wasClean?: boolean;
}

/** The platform's CloseEvent, or a small one where there is none (Node before 23). */
const CloseEventClass: new (type: string, init?: CloseEventInitLike) => CloseEvent =
  typeof globalThis.CloseEvent === 'function'
    ? globalThis.CloseEvent
    : (class CloseEvent extends Event {
        readonly code: number;
        readonly reason: string;
        readonly wasClean: boolean;
        constructor(type: string, init: CloseEventInitLike = {}) {
          super(type, init);
          this.code = init.code ?? 0;
          this.reason = init.reason ?? '';
          this.wasClean = init.wasClean ?? false;
        }
      } as unknown as new (type: string, init?: CloseEventInitLike) => CloseEvent);

/** An `error` event; `message` (not in the standard) says why, as the published package gave it. */
export interface MixWebSocketErrorEvent extends Event {
  readonly message: string;
}

type Handler<E extends Event> = ((this: MixWebSocket, ev: E) => unknown) | null;

const encoder = new TextEncoder();

function wellFormed(s: string): string {
  const f = (s as { toWellFormed?: () => string }).toWellFormed;
  return f
    ? f.call(s)
    : s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

function baseUrl(): string | undefined {
  const loc = (globalThis as { location?: { href?: unknown } }).location;
  return typeof loc?.href === 'string' ? loc.href : undefined;
}

function parseWsUrl(url: string): string {
  let parsed: URL;
  try {
    const base = baseUrl();
    parsed = base === undefined ? new URL(url) : new URL(url, base);
  } catch {
    throw new DOMException(`MixWebSocket: the URL '${url}' is invalid`, 'SyntaxError');
  }
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new DOMException(
      `MixWebSocket: the URL's scheme must be 'ws', 'wss', 'http' or 'https'; '${parsed.protocol.slice(0, -1)}' is not allowed`,
      'SyntaxError',
    );
  }
  if (parsed.href.includes('#')) {
    throw new DOMException(`MixWebSocket: the URL '${url}' contains a fragment`, 'SyntaxError');
  }
  return parsed.href;
}

function parseProtocols(protocols: string | Iterable<string> | undefined): string[] {
  if (protocols === undefined) return [];
  const list = typeof protocols === 'string' ? [protocols] : [...protocols].map(String);
  const seen = new Set<string>();
  for (const p of list) {
    if (!TOKEN.test(p)) {
      throw new DOMException(`MixWebSocket: the subprotocol '${p}' is invalid`, 'SyntaxError');
    }
    const key = p.toLowerCase();
    if (seen.has(key)) {
      throw new DOMException(`MixWebSocket: the subprotocol '${p}' is given more than once`, 'SyntaxError');
    }
    seen.add(key);
  }
  return list;
}

function copyBytes(data: ArrayBufferLike | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
    : new Uint8Array(data).slice();
}

function isArrayBuffer(x: unknown): x is ArrayBufferLike {
  return (
    x instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && x instanceof SharedArrayBuffer)
  );
}

/**
 * A WebSocket over the Nym mixnet, with the browser's `WebSocket` interface. The tunnel
 * must be set up (`setupMixTunnel()`); the constructor returns at once and connects in the
 * background (`await ws.opened()` waits for the outcome).
 */
export class MixWebSocket extends EventTarget {
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSING: 2;
  declare static readonly CLOSED: 3;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  /** The URL, resolved and serialised (http: and https: become ws: and wss:). */
  readonly url: string;
  /** The subprotocols asked for (the published package's field). */
  readonly protocols: string[];

  #state: MixWebSocketReadyState = CONNECTING;
  #protocol = '';
  #extensions = '';
  #binaryType: MixWebSocketBinaryType = 'blob';
  /** What the worker last said it still has to send. */
  #workerBuffered = 0;
  /** Bytes of sends the worker has not acknowledged yet. */
  #inFlight = 0;
  /** Bytes given to send after closing started: counted, never sent. */
  #afterClose = 0;
  #tunnel: ReturnType<typeof getMixTunnel>;
  #handle: Promise<number>;
  #sendTail: Promise<void> = Promise.resolve();
  /** close() came while connecting: the connection fails, whatever the worker says. */
  #closedWhileConnecting = false;
  #errorFired = false;
  #closeFired = false;
  #opened: Promise<void>;
  #settleOpened!: () => void;
  #handlers = new Map<string, { fn: (ev: Event) => unknown; listener: (ev: Event) => void }>();

  constructor(url: string | URL, protocols?: string | string[]) {
    super();
    this.url = parseWsUrl(String(url));
    this.protocols = parseProtocols(protocols);
    this.#opened = new Promise((resolve) => (this.#settleOpened = resolve));
    // mix-tunnel's `proxy`: the same Comlink instance as the worker handle, so it is not cloned
    const onEvent = proxy((event: MixWebSocketEvent) => this.#onEvent(event));
    this.#tunnel = getMixTunnel();
    this.#handle = this.#tunnel.then((tunnel) => tunnel.wsOpen(this.url, this.protocols, onEvent));
    this.#handle.catch((err: unknown) => this.#fail(err));
  }

  get readyState(): MixWebSocketReadyState {
    return this.#state;
  }
  /** The subprotocol the server chose; '' until open or when none. */
  get protocol(): string {
    return this.#protocol;
  }
  /** The extensions the server chose; '' until open. */
  get extensions(): string {
    return this.#extensions;
  }
  /** Bytes given to send and not sent yet (after closing, every byte given). */
  get bufferedAmount(): number {
    return this.#workerBuffered + this.#inFlight + this.#afterClose;
  }
  /** How binary messages arrive: 'blob' (the default, as in browsers) or 'arraybuffer'. */
  get binaryType(): MixWebSocketBinaryType {
    return this.#binaryType;
  }
  set binaryType(value: MixWebSocketBinaryType) {
    // an enumerated attribute: other values are ignored
    if (value === 'blob' || value === 'arraybuffer') this.#binaryType = value;
  }

  get onopen(): Handler<Event> {
    return this.#getHandler('open');
  }
  set onopen(fn: Handler<Event>) {
    this.#setHandler('open', fn);
  }
  get onmessage(): Handler<MessageEvent> {
    return this.#getHandler('message');
  }
  set onmessage(fn: Handler<MessageEvent>) {
    this.#setHandler('message', fn);
  }
  get onerror(): Handler<Event> {
    return this.#getHandler('error');
  }
  set onerror(fn: Handler<Event>) {
    this.#setHandler('error', fn);
  }
  get onclose(): Handler<CloseEvent> {
    return this.#getHandler('close');
  }
  set onclose(fn: Handler<CloseEvent>) {
    this.#setHandler('close', fn);
  }

  /** Resolves when the socket leaves CONNECTING: on open, or when it fails first. */
  opened(): Promise<void> {
    return this.#opened;
  }

  /**
   * Sends a text (string) or binary message. Throws an InvalidStateError while connecting;
   * after closing has started, only counts the bytes (as browsers do). The promise is the
   * published package's and is always resolved.
   */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): Promise<void> {
    if (this.#state === CONNECTING) {
      throw new DOMException("MixWebSocket.send: still in CONNECTING state", 'InvalidStateError');
    }
    let size: number;
    let payload: string | Uint8Array | Promise<Uint8Array>;
    if (isArrayBuffer(data) || ArrayBuffer.isView(data)) {
      payload = copyBytes(data);
      size = payload.byteLength;
    } else if (typeof Blob !== 'undefined' && data instanceof Blob) {
      size = data.size;
      payload = data.arrayBuffer().then((b) => new Uint8Array(b));
    } else {
      // anything else is a string, as WebIDL converts it
      const text = wellFormed(String(data));
      payload = text;
      size = encoder.encode(text).byteLength;
    }
    if (this.#state !== OPEN) {
      this.#afterClose += size;
      return Promise.resolve();
    }
    this.#inFlight += size;
    const tunnel = this.#tunnel;
    const handle = this.#handle;
    // in order, a Blob's bytes included; each goes to the worker without waiting for the last
    this.#sendTail = this.#sendTail.then(async () => {
      let bytes: string | Uint8Array;
      try {
        bytes = await payload;
      } catch (err) {
        this.#inFlight -= size;
        this.#abort(err);
        return;
      }
      const [t, id] = [await tunnel, await handle];
      t.wsSend(id, bytes)
        .catch(() => {
          // the connection is gone: its close event says so
        })
        .finally(() => {
          this.#inFlight -= size;
        });
    });
    return Promise.resolve();
  }

  /**
   * Starts the closing handshake. `code` must be 1000 or 3000-4999 (else InvalidAccessError),
   * `reason` at most 123 UTF-8 bytes (else SyntaxError). Nothing happens when closing or closed.
   * The promise is the published package's and is always resolved.
   */
  close(code?: number, reason?: string): Promise<void> {
    let wireCode: number | null = null;
    if (code !== undefined) {
      const c = Math.min(Math.max(Math.round(Number(code)) || 0, 0), 0xffff); // [Clamp] unsigned short
      if (c !== 1000 && (c < 3000 || c > 4999)) {
        throw new DOMException(
          `MixWebSocket.close: the code must be either 1000, or between 3000 and 4999. ${code} is neither.`,
          'InvalidAccessError',
        );
      }
      wireCode = c;
    }
    let reasonText = '';
    if (reason !== undefined) {
      reasonText = wellFormed(String(reason));
      if (encoder.encode(reasonText).byteLength > MAX_REASON_BYTES) {
        throw new DOMException('MixWebSocket.close: the reason must be at most 123 bytes of UTF-8', 'SyntaxError');
      }
      if (wireCode === null && reasonText !== '') wireCode = 1000;
    }
    if (this.#state === CLOSING || this.#state === CLOSED) return Promise.resolve();
    if (this.#state === CONNECTING) {
      // fails the connection: error, then close with 1006
      this.#closedWhileConnecting = true;
      this.#state = CLOSING;
      this.#wsClose(null, '');
      return Promise.resolve();
    }
    this.#state = CLOSING;
    this.#wsClose(wireCode, reasonText);
    return Promise.resolve();
  }

  #wsClose(code: number | null, reason: string): void {
    Promise.all([this.#tunnel, this.#handle])
      .then(([tunnel, id]) => tunnel.wsClose(id, code, reason))
      .catch((err: unknown) => this.#fail(err));
  }

  /** Ends the connection from this side after a local failure (a Blob that cannot be read). */
  #abort(err: unknown): void {
    if (this.#state === CLOSED) return;
    this.#fireError(err instanceof Error ? err.message : String(err));
    this.#wsClose(null, '');
  }

  #onEvent(event: MixWebSocketEvent): void {
    if (this.#closeFired) return;
    switch (event.type) {
      case 'open':
        if (this.#state !== CONNECTING) return; // closed meanwhile: it fails, as in browsers
        this.#protocol = event.protocol;
        this.#extensions = event.extensions;
        this.#state = OPEN;
        this.#settleOpened();
        this.dispatchEvent(new Event('open'));
        return;
      case 'text':
      case 'binary': {
        if (this.#state !== OPEN) return; // the standard drops messages once closing started
        const data =
          event.type === 'text'
            ? event.data
            : this.#binaryType === 'blob'
              ? new Blob([event.data as Uint8Array<ArrayBuffer>])
              : copyBytes(event.data).buffer;
        this.dispatchEvent(new MessageEvent('message', { data, origin: new URL(this.url).origin }));
        return;
      }
      case 'buffered':
        this.#workerBuffered = event.bufferedAmount;
        return;
      case 'error':
        this.#fireError(event.message);
        return;
      case 'close': {
        const failed = this.#closedWhileConnecting || (!event.wasClean && event.code === 1006);
        if (failed) this.#fireError(this.#closedWhileConnecting ? 'closed before the connection was established' : event.reason || 'connection lost');
        this.#fireClose(
          this.#closedWhileConnecting ? 1006 : event.code,
          this.#closedWhileConnecting ? '' : event.reason,
          !this.#errorFired && event.wasClean,
        );
        return;
      }
    }
  }

  /** The worker could not open or close the connection: error, then close with 1006. */
  #fail(err: unknown): void {
    if (this.#closeFired) return;
    this.#fireError(err instanceof Error ? err.message : String(err));
    this.#fireClose(1006, '', false);
  }

  #fireError(message: string): void {
    if (this.#errorFired || this.#closeFired) return;
    this.#errorFired = true;
    this.#state = CLOSED;
    this.#settleOpened();
    const event = new Event('error');
    Object.defineProperty(event, 'message', { value: message, enumerable: true });
    this.dispatchEvent(event);
  }

  #fireClose(code: number, reason: string, wasClean: boolean): void {
    if (this.#closeFired) return;
    this.#closeFired = true;
    this.#state = CLOSED;
    this.#settleOpened();
    this.dispatchEvent(new CloseEventClass('close', { code, reason, wasClean }));
  }

  #getHandler<E extends Event>(type: string): Handler<E> {
    return (this.#handlers.get(type)?.fn as Handler<E> | undefined) ?? null;
  }

  #setHandler<E extends Event>(type: string, fn: Handler<E>): void {
    const slot = this.#handlers.get(type);
    if (typeof fn === 'function') {
      if (slot) {
        slot.fn = fn as (ev: Event) => unknown;
        return;
      }
      const entry = {
        fn: fn as (ev: Event) => unknown,
        listener: (ev: Event): void => {
          entry.fn.call(this, ev);
        },
      };
      this.#handlers.set(type, entry);
      this.addEventListener(type, entry.listener);
    } else if (slot) {
      this.#handlers.delete(type);
      this.removeEventListener(type, slot.listener);
    }
  }
}

for (const target of [MixWebSocket, MixWebSocket.prototype]) {
  Object.defineProperties(target, {
    CONNECTING: { value: CONNECTING, enumerable: true },
    OPEN: { value: OPEN, enumerable: true },
    CLOSING: { value: CLOSING, enumerable: true },
    CLOSED: { value: CLOSED, enumerable: true },
  });
}
