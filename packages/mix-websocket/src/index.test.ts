import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MixWebSocketEvent, MixWebSocketEventCallback } from '@nymproject/mix-tunnel';

const h = vi.hoisted(() => ({ worker: undefined as unknown }));
vi.mock('@nymproject/mix-tunnel', async () => {
  const { proxy } = await vi.importActual<typeof import('comlink')>('comlink');
  return {
    getMixTunnel: async () => h.worker,
    proxy,
    setupMixTunnel: async () => {},
    disconnectMixTunnel: async () => {},
    getTunnelState: async () => ({ state: 'ready' }),
    getTunnelStats: async () => ({ state: 'ready', reason: null }),
    onTunnelStateChange: async () => {},
  };
});

import * as Comlink from 'comlink';
import * as pkg from './index';
import { MixWebSocket } from './index';

interface FakeSocket {
  id: number;
  url: string;
  protocols: string[];
  emit: MixWebSocketEventCallback;
  sent: Array<string | Uint8Array>;
  closes: Array<[number | null, string]>;
}

class FakeWorker {
  sockets: FakeSocket[] = [];
  openError: unknown = null;
  closeError: unknown = null;
  /** When set, wsSend waits on it. */
  sendGate: Promise<void> | null = null;
  /** When set, wsOpen waits on it before giving the handle. */
  openGate: Promise<void> | null = null;
  onOpen: ((s: FakeSocket) => void) | null = null;
  private nextId = 1;

  byId(id: number): FakeSocket {
    const s = this.sockets.find((x) => x.id === id);
    if (!s) throw new Error('no active WebSocket connections');
    return s;
  }
  wsOpen = vi.fn(async (url: string, protocols: string[], onEvent: MixWebSocketEventCallback): Promise<number> => {
    if (this.openError) throw this.openError;
    const s: FakeSocket = { id: this.nextId++, url, protocols, emit: onEvent, sent: [], closes: [] };
    this.sockets.push(s);
    this.onOpen?.(s);
    if (this.openGate) await this.openGate;
    return s.id;
  });
  wsSend = vi.fn(async (id: number, data: string | Uint8Array): Promise<void> => {
    this.byId(id).sent.push(data);
    if (this.sendGate) await this.sendGate;
  });
  wsClose = vi.fn(async (id: number, code: number | null, reason: string): Promise<void> => {
    if (this.closeError) throw this.closeError;
    this.byId(id).closes.push([code, reason]);
  });
}

let worker: FakeWorker;
beforeEach(() => {
  worker = new FakeWorker();
  h.worker = worker;
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
}
async function socketOf(n = 1): Promise<FakeSocket> {
  for (let i = 0; i < 50 && worker.sockets.length < n; i++) await tick();
  const s = worker.sockets[n - 1];
  if (!s) throw new Error('wsOpen was not called');
  return s;
}
const OPEN_EVENT: MixWebSocketEvent = { type: 'open', protocol: '', extensions: '' };

/** A socket that is open, with every event it fires recorded. */
async function openSocket(url = 'wss://echo.example/', protocols?: string | string[]) {
  const ws = new MixWebSocket(url, protocols);
  const events: Event[] = [];
  for (const t of ['open', 'message', 'error', 'close']) ws.addEventListener(t, (e) => events.push(e));
  const s = await socketOf();
  s.emit(OPEN_EVENT);
  await ws.opened();
  return { ws, s, events };
}

function syntaxError(fn: () => unknown): DOMException {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DOMException);
    expect((e as DOMException).name).toBe('SyntaxError');
    return e as DOMException;
  }
  throw new Error('no exception');
}

describe('MixWebSocket: the interface', () => {
  it('has the ready-state constants, static and on instances, read-only', async () => {
    expect([MixWebSocket.CONNECTING, MixWebSocket.OPEN, MixWebSocket.CLOSING, MixWebSocket.CLOSED]).toEqual([0, 1, 2, 3]);
    const ws = new MixWebSocket('wss://a.example/');
    expect([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED]).toEqual([0, 1, 2, 3]);
    expect(Object.getOwnPropertyNames(ws)).not.toContain('OPEN');
    expect(() => {
      (MixWebSocket as unknown as { OPEN: number }).OPEN = 7;
    }).toThrow(TypeError);
    expect(MixWebSocket.OPEN).toBe(1);
    await socketOf();
  });

  it('starts CONNECTING, with the standard defaults', async () => {
    const ws = new MixWebSocket('wss://a.example/path?q=1');
    expect(ws.readyState).toBe(0);
    expect(ws.url).toBe('wss://a.example/path?q=1');
    expect(ws.protocol).toBe('');
    expect(ws.extensions).toBe('');
    expect(ws.binaryType).toBe('blob');
    expect(ws.bufferedAmount).toBe(0);
    expect(ws.protocols).toEqual([]);
    expect([ws.onopen, ws.onmessage, ws.onerror, ws.onclose]).toEqual([null, null, null, null]);
    expect(ws).toBeInstanceOf(EventTarget);
    const s = await socketOf();
    expect(s.url).toBe('wss://a.example/path?q=1');
    expect(s.protocols).toEqual([]);
  });

  it('passes the event callback as a Comlink proxy', async () => {
    new MixWebSocket('wss://a.example/');
    await socketOf();
    const cb = worker.wsOpen.mock.calls[0]![2];
    expect((cb as unknown as Record<symbol, unknown>)[Comlink.proxyMarker]).toBe(true);
  });
});

describe('MixWebSocket: the constructor checks', () => {
  it('serialises the URL, http: as ws: and https: as wss:', async () => {
    expect(new MixWebSocket('ws://A.example:80/x').url).toBe('ws://a.example/x');
    expect(new MixWebSocket('http://a.example:8080/x').url).toBe('ws://a.example:8080/x');
    expect(new MixWebSocket('https://a.example/x').url).toBe('wss://a.example/x');
    expect(new MixWebSocket(new URL('wss://a.example')).url).toBe('wss://a.example/');
    await socketOf(4);
    expect(worker.sockets.map((s) => s.url)).toEqual([
      'ws://a.example/x',
      'ws://a.example:8080/x',
      'wss://a.example/x',
      'wss://a.example/',
    ]);
  });

  it('resolves a relative URL against location.href', () => {
    vi.stubGlobal('location', { href: 'https://site.example/app/index.html' });
    expect(new MixWebSocket('/socket').url).toBe('wss://site.example/socket');
  });

  it('throws a SyntaxError for an unparsable URL, another scheme or a fragment, and opens nothing', async () => {
    syntaxError(() => new MixWebSocket('not a url'));
    syntaxError(() => new MixWebSocket('/relative'));
    syntaxError(() => new MixWebSocket('ftp://a.example/'));
    syntaxError(() => new MixWebSocket('file:///x'));
    syntaxError(() => new MixWebSocket('wss://a.example/#frag'));
    syntaxError(() => new MixWebSocket('wss://a.example/#'));
    await settle();
    expect(worker.wsOpen).not.toHaveBeenCalled();
  });

  it('takes subprotocols as a string or a list, and passes them on', async () => {
    const one = new MixWebSocket('wss://a.example/', 'chat');
    expect(one.protocols).toEqual(['chat']);
    const two = new MixWebSocket('wss://a.example/', ['v1.proto', 'v2.proto']);
    expect(two.protocols).toEqual(['v1.proto', 'v2.proto']);
    await socketOf(2);
    expect(worker.sockets.map((s) => s.protocols)).toEqual([['chat'], ['v1.proto', 'v2.proto']]);
  });

  it('throws a SyntaxError for repeated or invalid subprotocols', async () => {
    syntaxError(() => new MixWebSocket('wss://a.example/', ['a', 'b', 'a']));
    syntaxError(() => new MixWebSocket('wss://a.example/', ['chat', 'CHAT']));
    syntaxError(() => new MixWebSocket('wss://a.example/', ''));
    syntaxError(() => new MixWebSocket('wss://a.example/', 'a b'));
    syntaxError(() => new MixWebSocket('wss://a.example/', ['a,b']));
    syntaxError(() => new MixWebSocket('wss://a.example/', ['é']));
    await settle();
    expect(worker.wsOpen).not.toHaveBeenCalled();
  });
});

describe('MixWebSocket: opening and messages', () => {
  it('opens: readyState, protocol, extensions, onopen and listeners, opened()', async () => {
    const ws = new MixWebSocket('wss://a.example/', ['x', 'y']);
    const calls: string[] = [];
    ws.addEventListener('open', () => calls.push(`listener ${ws.readyState}`));
    ws.onopen = function (this: MixWebSocket, ev: Event) {
      calls.push(`handler ${ev.type} ${this === ws}`);
    };
    let opened = false;
    void ws.opened().then(() => (opened = true));
    const s = await socketOf();
    await settle();
    expect(opened).toBe(false);
    s.emit({ type: 'open', protocol: 'y', extensions: 'permessage-deflate' });
    expect(ws.readyState).toBe(1);
    expect(ws.protocol).toBe('y');
    expect(ws.extensions).toBe('permessage-deflate');
    expect(calls).toEqual(['listener 1', 'handler open true']);
    await settle();
    expect(opened).toBe(true);
  });

  it('delivers text as a MessageEvent with the origin', async () => {
    const { ws, s, events } = await openSocket('wss://echo.example:8443/chat');
    const seen: unknown[] = [];
    ws.onmessage = (ev) => seen.push(ev.data);
    s.emit({ type: 'text', data: 'héllo' });
    const ev = events.at(-1) as MessageEvent;
    expect(ev).toBeInstanceOf(MessageEvent);
    expect(ev.type).toBe('message');
    expect(ev.data).toBe('héllo');
    expect(ev.origin).toBe('wss://echo.example:8443');
    expect(seen).toEqual(['héllo']);
  });

  it('delivers binary as a Blob by default', async () => {
    const { s, events } = await openSocket();
    s.emit({ type: 'binary', data: new Uint8Array([1, 2, 3]) });
    const data = (events.at(-1) as MessageEvent).data as Blob;
    expect(data).toBeInstanceOf(Blob);
    expect(new Uint8Array(await data.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("delivers binary as an ArrayBuffer (only the message's bytes) with binaryType 'arraybuffer'", async () => {
    const { ws, s, events } = await openSocket();
    ws.binaryType = 'arraybuffer';
    expect(ws.binaryType).toBe('arraybuffer');
    const big = new Uint8Array([9, 1, 2, 9]);
    s.emit({ type: 'binary', data: big.subarray(1, 3) });
    const data = (events.at(-1) as MessageEvent).data as ArrayBuffer;
    expect(data).toBeInstanceOf(ArrayBuffer);
    expect(new Uint8Array(data)).toEqual(new Uint8Array([1, 2]));
  });

  it('ignores a binaryType it does not know', () => {
    const ws = new MixWebSocket('wss://a.example/');
    ws.binaryType = 'arraybuffer';
    ws.binaryType = 'nodebuffer' as 'blob';
    expect(ws.binaryType).toBe('arraybuffer');
  });

  it('drops messages before open', async () => {
    const ws = new MixWebSocket('wss://a.example/');
    const seen: unknown[] = [];
    ws.onmessage = (e) => seen.push(e.data);
    const s = await socketOf();
    s.emit({ type: 'text', data: 'early' });
    expect(seen).toEqual([]);
  });

  it('works when events come before wsOpen gives the handle', async () => {
    let release!: () => void;
    worker.openGate = new Promise((r) => (release = r));
    worker.onOpen = (s) => s.emit({ type: 'open', protocol: 'p', extensions: '' });
    const ws = new MixWebSocket('wss://a.example/', 'p');
    await ws.opened();
    expect(ws.readyState).toBe(1);
    void ws.send('queued');
    await settle();
    expect(worker.wsSend).not.toHaveBeenCalled();
    release();
    await settle();
    expect(worker.wsSend).toHaveBeenCalledWith(1, 'queued');
  });
});

describe('MixWebSocket: send and bufferedAmount', () => {
  it('throws an InvalidStateError while connecting', () => {
    const ws = new MixWebSocket('wss://a.example/');
    let err: unknown;
    try {
      void ws.send('x');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe('InvalidStateError');
  });

  it('sends every data type, in order, as text or bytes', async () => {
    const { ws, s } = await openSocket();
    const buf = new Uint8Array([1, 2, 3, 4, 5]);
    const results = [
      ws.send('text ✓'),
      ws.send(buf.buffer.slice(0, 2)),
      ws.send(buf.subarray(2, 4)),
      ws.send(new Blob([new Uint8Array([7, 8])])),
      ws.send(new DataView(buf.buffer, 4, 1)),
      ws.send('after the blob'),
      ws.send(new Uint16Array([0x0201])),
    ];
    buf[2] = 99; // copied when send was called
    for (const r of results) await expect(r).resolves.toBeUndefined();
    await settle();
    expect(s.sent).toEqual([
      'text ✓',
      new Uint8Array([1, 2]),
      new Uint8Array([3, 4]),
      new Uint8Array([7, 8]),
      new Uint8Array([5]),
      'after the blob',
      new Uint8Array([1, 2]),
    ]);
  });

  it('sends other values as strings, and lone surrogates as U+FFFD', async () => {
    const { ws, s } = await openSocket();
    void ws.send(42 as unknown as string);
    void ws.send('a\uD800b');
    await settle();
    expect(s.sent).toEqual(['42', 'a\uFFFDb']);
  });

  it('bufferedAmount grows at once on send, counts UTF-8 bytes, and follows the worker', async () => {
    const { ws, s } = await openSocket();
    let release!: () => void;
    worker.sendGate = new Promise((r) => (release = r));
    void ws.send('é'); // 2 bytes
    expect(ws.bufferedAmount).toBe(2);
    void ws.send(new Uint8Array(10));
    void ws.send(new Blob(['abc']));
    expect(ws.bufferedAmount).toBe(15);
    await settle();
    expect(ws.bufferedAmount).toBe(15); // the worker has not taken them yet
    worker.sendGate = null;
    release();
    s.emit({ type: 'buffered', bufferedAmount: 15 });
    await settle();
    expect(ws.bufferedAmount).toBe(15); // taken, not yet sent
    s.emit({ type: 'buffered', bufferedAmount: 3 });
    expect(ws.bufferedAmount).toBe(3);
    s.emit({ type: 'buffered', bufferedAmount: 0 });
    expect(ws.bufferedAmount).toBe(0);
  });

  it('after closing starts, only counts the bytes', async () => {
    const { ws, s } = await openSocket();
    void ws.close();
    await expect(ws.send('12345')).resolves.toBeUndefined();
    expect(ws.bufferedAmount).toBe(5);
    s.emit({ type: 'close', code: 1000, reason: '', wasClean: true });
    void ws.send(new Uint8Array(4));
    expect(ws.bufferedAmount).toBe(9);
    await settle();
    expect(s.sent).toEqual([]);
  });

  it('a Blob that cannot be read fails the connection', async () => {
    const { ws, s, events } = await openSocket();
    const bad = new Blob(['x']);
    bad.arrayBuffer = () => Promise.reject(new Error('file changed'));
    void ws.send(bad);
    await settle();
    expect(events.map((e) => e.type)).toEqual(['open', 'error']);
    expect((events[1] as Event & { message: string }).message).toBe('file changed');
    expect(ws.readyState).toBe(3);
    expect(s.closes).toEqual([[null, '']]);
    expect(ws.bufferedAmount).toBe(0);
    s.emit({ type: 'close', code: 1005, reason: '', wasClean: true });
    const close = events.at(-1) as CloseEvent;
    expect(close.type).toBe('close');
    expect(close.wasClean).toBe(false);
  });
});

describe('MixWebSocket: closing', () => {
  it('close(): CLOSING, the handshake, then a clean CloseEvent and CLOSED', async () => {
    const { ws, s, events } = await openSocket();
    const closes: CloseEvent[] = [];
    ws.onclose = (e) => closes.push(e);
    await expect(ws.close(1000, 'bye')).resolves.toBeUndefined();
    expect(ws.readyState).toBe(2);
    await settle();
    expect(s.closes).toEqual([[1000, 'bye']]);
    s.emit({ type: 'close', code: 1000, reason: 'bye', wasClean: true });
    expect(ws.readyState).toBe(3);
    expect(closes).toHaveLength(1);
    const ev = closes[0]!;
    expect(ev).toBeInstanceOf(Event);
    expect([ev.type, ev.code, ev.reason, ev.wasClean]).toEqual(['close', 1000, 'bye', true]);
    expect(events.map((e) => e.type)).toEqual(['open', 'close']);
  });

  it('close() without arguments sends no status; a reason alone goes with 1000', async () => {
    const a = await openSocket();
    void a.ws.close();
    await settle();
    expect(a.s.closes).toEqual([[null, '']]);
    worker.sockets = [];
    const b = await openSocket();
    void b.ws.close(undefined, 'done');
    await settle();
    expect(b.s.closes).toEqual([[1000, 'done']]);
    worker.sockets = [];
    const c = await openSocket();
    void c.ws.close(4999);
    await settle();
    expect(c.s.closes).toEqual([[4999, '']]);
  });

  it('throws an InvalidAccessError for codes other than 1000 and 3000-4999', async () => {
    const { ws } = await openSocket();
    for (const code of [0, 999, 1001, 1005, 1006, 2999, 5000, 65535]) {
      let err: unknown;
      try {
        void ws.close(code);
      } catch (e) {
        err = e;
      }
      expect((err as DOMException).name, String(code)).toBe('InvalidAccessError');
    }
    expect(ws.readyState).toBe(1);
    void ws.close(3000);
    expect(ws.readyState).toBe(2);
  });

  it('throws a SyntaxError for a reason over 123 UTF-8 bytes', async () => {
    const { ws } = await openSocket();
    syntaxError(() => ws.close(1000, 'é'.repeat(62))); // 124 bytes
    expect(ws.readyState).toBe(1);
    void ws.close(1000, 'é'.repeat(61) + 'a'); // 123 bytes
    expect(ws.readyState).toBe(2);
  });

  it('checks its arguments even when closing, then does nothing', async () => {
    const { ws } = await openSocket();
    void ws.close();
    expect(() => ws.close(1)).toThrow(DOMException);
    void ws.close(1000);
    await settle();
    expect(worker.wsClose).toHaveBeenCalledTimes(1);
  });

  it('drops messages once closing has started', async () => {
    const { ws, s, events } = await openSocket();
    void ws.close();
    s.emit({ type: 'text', data: 'late' });
    expect(events.map((e) => e.type)).toEqual(['open']);
  });

  it('a close the server starts: CloseEvent with its code and reason', async () => {
    const { ws, s, events } = await openSocket();
    s.emit({ type: 'close', code: 4001, reason: 'kicked', wasClean: true });
    expect(ws.readyState).toBe(3);
    const ev = events.at(-1) as CloseEvent;
    expect([ev.code, ev.reason, ev.wasClean]).toEqual([4001, 'kicked', true]);
    expect(events.map((e) => e.type)).toEqual(['open', 'close']);
    void ws.close(); // nothing
    await settle();
    expect(worker.wsClose).not.toHaveBeenCalled();
  });

  it('close() while connecting fails the connection: error, then close 1006', async () => {
    const ws = new MixWebSocket('wss://a.example/');
    const events: string[] = [];
    for (const t of ['open', 'error', 'close']) {
      ws.addEventListener(t, (e) => events.push(`${t} ${ws.readyState} ${t === 'close' ? (e as CloseEvent).code : ''}`));
    }
    void ws.close(1000, 'never mind');
    expect(ws.readyState).toBe(2);
    const s = await socketOf();
    await settle();
    expect(s.closes).toEqual([[null, '']]);
    s.emit(OPEN_EVENT); // too late: ignored
    expect(ws.readyState).toBe(2);
    s.emit({ type: 'close', code: 1000, reason: '', wasClean: true });
    expect(events).toEqual(['error 3 ', 'close 3 1006']);
    await expect(ws.opened()).resolves.toBeUndefined();
  });

  it('close() before wsOpen gives the handle: wsClose once it has it', async () => {
    let release!: () => void;
    worker.openGate = new Promise((r) => (release = r));
    const ws = new MixWebSocket('wss://a.example/');
    void ws.close();
    const s = await socketOf();
    await settle();
    expect(worker.wsClose).not.toHaveBeenCalled();
    release();
    await settle();
    expect(s.closes).toEqual([[null, '']]);
    expect(ws.readyState).toBe(2);
  });

  it('a wsClose the worker refuses ends the socket: error, then close 1006', async () => {
    const { ws, events } = await openSocket();
    worker.closeError = 'no active WebSocket connections';
    void ws.close();
    await settle();
    expect(events.map((e) => e.type)).toEqual(['open', 'error', 'close']);
    expect((events[2] as CloseEvent).code).toBe(1006);
    expect(ws.readyState).toBe(3);
  });
});

describe('MixWebSocket: failures', () => {
  it('a connection that cannot open: error (with a message), then close 1006, opened() resolves', async () => {
    worker.openError = new Error('DNS error: no such host');
    const ws = new MixWebSocket('wss://nowhere.example/');
    const seen: string[] = [];
    ws.onerror = (e) => seen.push(`error ${ws.readyState} ${(e as Event & { message: string }).message}`);
    ws.onclose = (e) => seen.push(`close ${ws.readyState} ${e.code} ${e.wasClean} '${e.reason}'`);
    await ws.opened();
    expect(seen).toEqual(['error 3 DNS error: no such host', "close 3 1006 false ''"]);
    expect(ws.readyState).toBe(3);
  });

  it('an error from the worker, then its close: one error, one unclean close', async () => {
    const { ws, s, events } = await openSocket();
    s.emit({ type: 'error', message: 'TLS alert' });
    expect(ws.readyState).toBe(3);
    s.emit({ type: 'close', code: 1006, reason: '', wasClean: false });
    expect(events.map((e) => e.type)).toEqual(['open', 'error', 'close']);
    expect((events[1] as Event & { message: string }).message).toBe('TLS alert');
    const close = events[2] as CloseEvent;
    expect([close.code, close.wasClean]).toEqual([1006, false]);
    s.emit({ type: 'text', data: 'after' }); // ignored
    expect(events).toHaveLength(3);
  });

  it('an error is never followed by a clean close', async () => {
    const { s, events } = await openSocket();
    s.emit({ type: 'error', message: 'protocol error' });
    s.emit({ type: 'close', code: 1002, reason: '', wasClean: true });
    const close = events.at(-1) as CloseEvent;
    expect([close.code, close.wasClean]).toEqual([1002, false]);
  });

  it('an abnormal close (1006) without an error gets its error first', async () => {
    const { ws, s, events } = await openSocket();
    s.emit({ type: 'close', code: 1006, reason: '', wasClean: false });
    expect(events.map((e) => e.type)).toEqual(['open', 'error', 'close']);
    expect(ws.readyState).toBe(3);
  });

  it('an error while connecting: error then close, opened() resolves', async () => {
    const ws = new MixWebSocket('wss://a.example/');
    const seen: string[] = [];
    ws.onerror = () => seen.push('error');
    ws.onclose = (e) => seen.push(`close ${e.code}`);
    const s = await socketOf();
    s.emit({ type: 'error', message: 'handshake refused: 403' });
    await ws.opened();
    s.emit({ type: 'close', code: 1006, reason: '', wasClean: false });
    expect(seen).toEqual(['error', 'close 1006']);
  });
});

describe('MixWebSocket: handler properties', () => {
  it('fire in the order they were first set among listeners; replacing keeps the place', async () => {
    const ws = new MixWebSocket('wss://a.example/');
    const calls: string[] = [];
    ws.onmessage = () => calls.push('handler A');
    ws.addEventListener('message', () => calls.push('listener'));
    ws.onmessage = () => calls.push('handler B');
    const s = await socketOf();
    s.emit(OPEN_EVENT);
    s.emit({ type: 'text', data: 'x' });
    expect(calls).toEqual(['handler B', 'listener']);
  });

  it('null or a non-function removes the handler; setting again puts it last', async () => {
    const ws = new MixWebSocket('wss://a.example/');
    const calls: string[] = [];
    const handler = (): void => {
      calls.push('handler');
    };
    ws.onmessage = handler;
    expect(ws.onmessage).toBe(handler);
    ws.onmessage = null;
    expect(ws.onmessage).toBeNull();
    ws.addEventListener('message', () => calls.push('listener'));
    ws.onmessage = handler;
    ws.onerror = 'not a function' as unknown as null;
    expect(ws.onerror).toBeNull();
    const s = await socketOf();
    s.emit(OPEN_EVENT);
    s.emit({ type: 'text', data: 'x' });
    expect(calls).toEqual(['listener', 'handler']);
  });

  it('each of onopen, onmessage, onerror, onclose is called with the socket as this', async () => {
    const ws = new MixWebSocket('wss://a.example/');
    const got: string[] = [];
    ws.onopen = function () {
      got.push(`open ${this === ws}`);
    };
    ws.onmessage = function () {
      got.push(`message ${this === ws}`);
    };
    ws.onerror = function () {
      got.push(`error ${this === ws}`);
    };
    ws.onclose = function () {
      got.push(`close ${this === ws}`);
    };
    const s = await socketOf();
    s.emit(OPEN_EVENT);
    s.emit({ type: 'text', data: 'x' });
    s.emit({ type: 'error', message: 'x' });
    s.emit({ type: 'close', code: 1006, reason: '', wasClean: false });
    expect(got).toEqual(['open true', 'message true', 'error true', 'close true']);
  });
});

describe('the package', () => {
  it('re-exports the tunnel lifecycle as published', () => {
    for (const name of ['setupMixTunnel', 'disconnectMixTunnel', 'getTunnelState'] as const) {
      expect(typeof pkg[name]).toBe('function');
    }
  });

  it('gives a CloseEvent even where the platform has none', async () => {
    const { s, events } = await openSocket();
    s.emit({ type: 'close', code: 3001, reason: 'r', wasClean: true });
    const ev = events.at(-1) as CloseEvent;
    expect(ev).toBeInstanceOf(Event);
    if (typeof globalThis.CloseEvent === 'function') expect(ev).toBeInstanceOf(globalThis.CloseEvent);
    expect([ev.code, ev.reason, ev.wasClean]).toEqual([3001, 'r', true]);
  });
});
