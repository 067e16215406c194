// The one Web Worker: loads the wasm core, keeps its records in IndexedDB,
// and serves the page's packages over Comlink. Keys never leave it.
import * as Comlink from 'comlink';
import createMixCore, { type MixCore } from 'mixcore';
import { ChunkBatcher } from './chunk-batcher';
import { coreOptionsJson, resolveOptions } from './options';
import { openDatabase, openRecordStore } from './storage';
import type {
  DirectoryAnswer,
  IMixTunnelWorker,
  MixDnsAddress,
  MixFetchEventCallback,
  MixFetchRequest,
  MixWebSocketEventCallback,
  SetupMixTunnelOpts,
  TunnelState,
  TunnelStateListener,
  TunnelStats,
} from './types';

interface CoreHooks {
  /** directory answers the page fetched, by URL; the core's fetch takes them (platform/web/fetch.c) */
  mixPrefetched?: Map<string, Promise<DirectoryAnswer>>;
  onMixData?: (kind: string, id: number, bytes: Uint8Array) => void;
  mixStorage?: Map<string, Uint8Array>;
  mixStorageSave?: (clientId: string, name: string, bytes: Uint8Array<ArrayBuffer>) => void;
  onMixEvent?: (json: string) => void;
  mixLog?: ((text: string) => void) | undefined;
}

let core: (MixCore & CoreHooks) | undefined;
/** The latest setup: its options (as text, to compare) and its outcome. Several packages may
 * call setup with the same options; other options while it is up are an error. */
let currentSetup: { key: string; outcome: Promise<void>; settled: boolean } | undefined;
const listeners: TunnelStateListener[] = [];
/** Answers the page is fetching for the latest setup, until they come. */
const prefetchWaiting = new Map<string, (answer: DirectoryAnswer) => void>();

interface DnsEvent {
  event: 'dns';
  id: number;
  error: string | null;
  errorKind?: string;
  addresses: MixDnsAddress[];
}
let lastRequestId = 0;
const dnsWaiting = new Map<number, (answer: DnsEvent) => void>();
const sockets = new Map<number, MixWebSocketEventCallback>();

/** A fetch in flight: its page callback, and a streamed body waiting for room. */
interface FetchInFlight {
  onEvent: MixFetchEventCallback;
  writable?: (() => void) | undefined;
}
const fetches = new Map<number, FetchInFlight>();
/** How often at most a request's body bytes go to the page (chunk-batcher.ts). */
const BODY_BATCH_MS = 8;
const bodies = new ChunkBatcher((id, chunk) => {
  void fetches.get(id)?.onEvent(Comlink.transfer({ type: 'body', chunk }, [chunk.buffer]));
}, BODY_BATCH_MS);
const textDecoder = new TextDecoder();

/* wasm/src/ws/ws.h's ws_call_result */
const WS_CALL_RESULTS: Record<number, string> = {
  [-1]: 'the WebSocket is still connecting',
  [-2]: 'the WebSocket is closing or closed',
  [-3]: 'the text is not valid UTF-8',
  [-4]: 'the close code must be 1000 or 3000-4999',
  [-5]: 'the close reason is longer than 123 bytes',
  [-6]: 'invalid WebSocket URL or protocols',
  [-7]: 'out of memory',
};

/** Lets go of a page callback that Comlink proxied to us (its message port stays open until then). */
function releaseCallback(callback: unknown): void {
  const remote = callback as Partial<Record<typeof Comlink.releaseProxy, () => void>>;
  remote[Comlink.releaseProxy]?.();
}

function nextRequestId(): number {
  lastRequestId = lastRequestId >= 0x7fffffff ? 1 : lastRequestId + 1;
  return lastRequestId;
}

async function instantiateCore(): Promise<MixCore & CoreHooks> {
  const hooks: CoreHooks = {
    onMixEvent: (json) => {
      const event = JSON.parse(json) as { event: string } & Record<string, unknown>;
      if (event.event === 'state') {
        const state = toTunnelState(event as unknown as { state: string; reason: string | null });
        for (const listener of listeners) void listener(state);
      } else if (event.event === 'ws') {
        const onEvent = sockets.get(event['id'] as number);
        if (!onEvent) return;
        const type = event['type'] as string;
        if (type === 'close') {
          sockets.delete(event['id'] as number);
          // the last event: the page's callback proxy can go
          setTimeout(() => releaseCallback(onEvent), 0);
        }
        if (type === 'open') void onEvent({ type, protocol: event['protocol'] as string, extensions: '' });
        else if (type === 'buffered') void onEvent({ type, bufferedAmount: event['amount'] as number });
        else if (type === 'error') void onEvent({ type, message: event['message'] as string });
        else if (type === 'close')
          void onEvent({
            type,
            code: event['code'] as number,
            reason: event['reason'] as string,
            wasClean: event['wasClean'] as boolean,
          });
      } else if (event.event === 'fetch') {
        const id = event['id'] as number;
        const f = fetches.get(id);
        if (!f) return;
        const type = event['type'] as string;
        if (type === 'writable') {
          const wake = f.writable;
          f.writable = undefined;
          wake?.();
        } else if (type === 'response') {
          void f.onEvent({
            type,
            status: event['status'] as number,
            statusText: event['statusText'] as string,
            headers: event['headers'] as Array<[string, string]>,
            url: event['url'] as string,
            redirected: event['redirected'] as boolean,
          });
        } else if (type === 'end' || type === 'error') {
          bodies.flush();
          fetches.delete(id);
          f.writable?.();
          if (type === 'end') void f.onEvent({ type });
          else
            void f.onEvent({
              type,
              name: event['name'] as 'TypeError' | 'TimeoutError',
              message: event['message'] as string,
            });
          setTimeout(() => releaseCallback(f.onEvent), 0);
        }
      } else if (event.event === 'dns') {
        const answer = event as unknown as DnsEvent;
        const waiting = dnsWaiting.get(answer.id);
        dnsWaiting.delete(answer.id);
        waiting?.(answer);
      }
    },
    onMixData: (kind, id, bytes) => {
      const onEvent = sockets.get(id);
      if (kind === 'fetch-body') {
        if (fetches.has(id)) bodies.push(id, bytes);
      } else if (kind === 'ws-text') void onEvent?.({ type: 'text', data: textDecoder.decode(bytes) });
      else if (kind === 'ws-binary') void onEvent?.(Comlink.transfer({ type: 'binary', data: bytes }, [bytes.buffer]));
    },
  };
  core = (await createMixCore(hooks as Record<string, unknown>)) as MixCore & CoreHooks;
  return core;
}

let coreLoading: Promise<MixCore & CoreHooks> | undefined;
/** The wasm core, compiled once; the worker starts it as soon as it runs. */
function loadCore(): Promise<MixCore & CoreHooks> {
  coreLoading ??= instantiateCore();
  return coreLoading;
}

function callWithString(m: MixCore, fn: (ptr: number) => number, text: string): number {
  const size = m.lengthBytesUTF8(text) + 1;
  const ptr = m._malloc(size);
  if (!ptr) throw new Error('out of memory');
  try {
    m.stringToUTF8(text, ptr, size);
    return fn(ptr);
  } finally {
    m._free(ptr);
  }
}

function toTunnelState(raw: { state: string; reason: string | null }): TunnelState {
  if (raw.state === 'failed') return { state: 'failed', reason: { kind: 'setup', message: raw.reason ?? '' } };
  return { state: raw.state } as TunnelState;
}

function readState(m: MixCore): TunnelState {
  return toTunnelState(JSON.parse(m.UTF8ToString(m._mix_tunnel_state_json())));
}

/** Resolves once ready; rejects with the reason when setup fails. */
function waitForSetup(m: MixCore): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle: TunnelStateListener = (state) => {
      if (state.state === 'connecting') return;
      listeners.splice(listeners.indexOf(settle), 1);
      if (state.state === 'ready') resolve();
      else if (state.state === 'failed' && state.reason.kind === 'setup') reject(new Error(state.reason.message));
      else reject(new Error(`tunnel setup ended in state ${state.state}`));
    };
    listeners.push(settle);
    const now = readState(m);
    if (now.state !== 'connecting') settle(now);
  });
}

/** Every address of hostname (IPv4 first), or an Error saying why there is none. */
function resolve(hostname: string, want: number): Promise<MixDnsAddress[]> {
  const m = core;
  if (!m || readState(m).state !== 'ready') return Promise.reject(new Error('tunnel not connected'));
  if (typeof hostname !== 'string') return Promise.reject(new TypeError('mixDNS: the host name must be a string'));
  return new Promise((resolveAnswer, reject) => {
    const id = nextRequestId();
    dnsWaiting.set(id, (answer) => {
      if (answer.error !== null) reject(new Error(`DNS error: ${answer.error} (${hostname})`));
      else resolveAnswer(answer.addresses);
    });
    if (callWithString(m, (ptr) => m._mix_dns_resolve(id, ptr, 3), hostname) !== 0) {
      dnsWaiting.delete(id);
      reject(new Error(m.UTF8ToString(m._mix_last_error())));
    }
  });
}

type LifecycleApi = Pick<
  IMixTunnelWorker,
  | 'setupMixTunnel'
  | 'directoryAnswered'
  | 'disconnectMixTunnel'
  | 'getTunnelState'
  | 'getTunnelStats'
  | 'onTunnelStateChange'
  | 'mixDNS'
  | 'mixResolve'
  | 'wsOpen'
  | 'wsSend'
  | 'wsClose'
  | 'fetchStart'
  | 'fetchBody'
  | 'fetchConsumed'
  | 'fetchAbort'
>;

function readyCore(): MixCore & CoreHooks {
  if (!core || readState(core).state !== 'ready') throw new Error('tunnel not connected');
  return core;
}

function loadedCore(): MixCore & CoreHooks {
  if (!core) throw new Error('tunnel not connected');
  return core;
}

function callWithBytes(m: MixCore, fn: (ptr: number) => number, bytes: Uint8Array): number {
  const ptr = m._malloc(Math.max(bytes.length, 1));
  if (!ptr) throw new Error('out of memory');
  try {
    m.HEAPU8.set(bytes, ptr);
    return fn(ptr);
  } finally {
    m._free(ptr);
  }
}

const api: LifecycleApi = {
  async setupMixTunnel(opts?: SetupMixTunnelOpts, prefetching: string[] = []): Promise<void> {
    const options = resolveOptions(opts);
    const key = JSON.stringify(options);
    if (currentSetup) {
      // a setup before this one got the core loaded
      const state = core ? readState(core).state : 'connecting';
      if (!currentSetup.settled || state === 'connecting' || state === 'ready') {
        if (currentSetup.key === key) return currentSetup.outcome;
        throw new Error('setupMixTunnel: the tunnel is already set up with other options; call disconnectMixTunnel first');
      }
    }
    prefetchWaiting.clear();
    const prefetched = new Map(
      prefetching.map((url) => [url, new Promise<DirectoryAnswer>((resolve) => prefetchWaiting.set(url, resolve))]),
    );
    const outcome = (async () => {
      // the keys' store opens while the wasm compiles
      const [m, store] = await Promise.all([loadCore(), openRecordStore(options.clientId, options.storagePassphrase)]);
      m.mixStorage = new Map([...store.records].map(([name, bytes]) => [`${options.clientId}/${name}`, bytes]));
      m.mixStorageSave = (_clientId, name, bytes) => store.save(name, bytes);
      m.mixPrefetched = prefetched;
      m.mixLog = options.debug ? (text) => console.debug(`[mix-tunnel] ${text}`) : undefined;
      // a failed or stopped tunnel makes way for this one
      m._mix_tunnel_disconnect();
      if (callWithString(m, (ptr) => m._mix_tunnel_setup(ptr), coreOptionsJson(options)) !== 0) {
        throw new TypeError(`setupMixTunnel: ${m.UTF8ToString(m._mix_last_error())}`);
      }
      await waitForSetup(m);
    })();
    const setup = { key, outcome, settled: false };
    currentSetup = setup;
    try {
      await outcome;
    } catch (e) {
      if (currentSetup === setup) currentSetup = undefined;
      throw e;
    } finally {
      setup.settled = true;
    }
  },
  async directoryAnswered(url: string, answer: DirectoryAnswer): Promise<void> {
    prefetchWaiting.get(url)?.(answer);
    prefetchWaiting.delete(url);
  },
  async disconnectMixTunnel(): Promise<void> {
    currentSetup = undefined;
    if (!core) return;
    core._mix_tunnel_disconnect();
    for (const onEvent of sockets.values()) {
      void onEvent({ type: 'error', message: 'the tunnel was disconnected' });
      void onEvent({ type: 'close', code: 1006, reason: '', wasClean: false });
    }
    sockets.clear();
    bodies.flush();
    for (const f of fetches.values()) {
      void f.onEvent({ type: 'error', name: 'TypeError', message: 'the tunnel was disconnected' });
      f.writable?.();
    }
    fetches.clear();
    const waiting = [...dnsWaiting.values()];
    dnsWaiting.clear();
    for (const answer of waiting) answer({ event: 'dns', id: 0, error: 'the tunnel was disconnected', addresses: [] });
    for (const listener of listeners) void listener({ state: 'shutdown' });
  },
  async getTunnelState(): Promise<TunnelState> {
    return core ? readState(core) : { state: 'shutdown' };
  },
  async getTunnelStats(): Promise<TunnelStats> {
    if (!core) return { state: 'shutdown', reason: null };
    return JSON.parse(core.UTF8ToString(core._mix_tunnel_stats_json())) as TunnelStats;
  },
  async onTunnelStateChange(listener: TunnelStateListener): Promise<void> {
    listeners.push(listener);
  },
  async mixDNS(hostname: string): Promise<string> {
    return (await resolve(hostname, 3))[0]!.address;
  },
  async mixResolve(hostname: string): Promise<MixDnsAddress[]> {
    return resolve(hostname, 3);
  },
  async fetchStart(request: MixFetchRequest, onEvent: MixFetchEventCallback): Promise<number> {
    const m = readyCore();
    const id = nextRequestId();
    const json = JSON.stringify({
      url: request.url,
      method: request.method,
      headers: request.headers,
      redirect: request.redirect,
      timeoutMs: request.timeoutMs,
      bodyStreamed: request.bodyStreamed,
    });
    fetches.set(id, { onEvent });
    const body = request.body;
    const started = callWithString(
      m,
      (jsonPtr) =>
        body
          ? callWithBytes(m, (bodyPtr) => m._mix_fetch_start(id, jsonPtr, bodyPtr, body.length), body)
          : m._mix_fetch_start(id, jsonPtr, 0, 0),
      json,
    );
    if (started !== 0) {
      fetches.delete(id);
      throw new TypeError(m.UTF8ToString(m._mix_last_error()));
    }
    return id;
  },
  async fetchBody(id: number, chunk: Uint8Array | null): Promise<void> {
    const m = loadedCore();
    if (chunk === null) {
      if (fetches.has(id) && m._mix_fetch_body_end(id) < 0) throw new TypeError('the request body could not be ended');
      return;
    }
    let offset = 0;
    while (offset < chunk.length) {
      const f = fetches.get(id);
      if (!f) throw new TypeError('the request is over');
      const rest = chunk.subarray(offset);
      const taken = callWithBytes(m, (ptr) => m._mix_fetch_body_write(id, ptr, rest.length), rest);
      if (taken < 0) throw new TypeError('the request body was refused');
      offset += taken;
      if (offset < chunk.length) await new Promise<void>((wake) => (f.writable = wake));
    }
  },
  async fetchConsumed(id: number, bytes: number): Promise<void> {
    core?._mix_fetch_consumed(id, bytes);
  },
  async fetchAbort(id: number): Promise<void> {
    const f = fetches.get(id);
    fetches.delete(id);
    core?._mix_fetch_abort(id);
    if (f) {
      f.writable?.();
      setTimeout(() => releaseCallback(f.onEvent), 0);
    }
  },
  async wsOpen(url: string, protocols: string[], onEvent: MixWebSocketEventCallback): Promise<number> {
    const m = readyCore();
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new SyntaxError(`invalid WebSocket URL: ${url}`);
    }
    const scheme = { 'ws:': false, 'http:': false, 'wss:': true, 'https:': true }[parsed.protocol];
    if (scheme === undefined || parsed.hash) throw new SyntaxError(`invalid WebSocket URL: ${url}`);
    if (parsed.hostname.startsWith('[')) throw new SyntaxError('IPv6 hosts cannot be reached through the tunnel');
    const options = JSON.stringify({
      tls: scheme,
      host: parsed.hostname,
      port: parsed.port ? Number(parsed.port) : scheme ? 443 : 80,
      path: parsed.pathname + parsed.search,
      protocols,
      origin: null,
    });
    const id = nextRequestId();
    sockets.set(id, onEvent);
    const result = callWithString(m, (ptr) => m._mix_ws_open(id, ptr), options);
    if (result !== 0) {
      sockets.delete(id);
      throw result === -1 ? new Error(m.UTF8ToString(m._mix_last_error())) : new SyntaxError(WS_CALL_RESULTS[result]);
    }
    return id;
  },
  async wsSend(handleId: number, data: string | Uint8Array): Promise<void> {
    const m = loadedCore();
    const binary = typeof data !== 'string';
    const bytes = binary ? data : new TextEncoder().encode(data);
    const result = callWithBytes(m, (ptr) => m._mix_ws_send(handleId, binary, ptr, bytes.length), bytes);
    // closing or closed: dropped, as browsers do
    if (result !== 0 && result !== -2) throw new Error(WS_CALL_RESULTS[result] ?? `WebSocket send failed (${result})`);
    const onEvent = sockets.get(handleId);
    if (onEvent) void onEvent({ type: 'buffered', bufferedAmount: m._mix_ws_buffered_amount(handleId) });
  },
  async wsClose(handleId: number, code: number | null, reason: string): Promise<void> {
    const m = loadedCore();
    const result = callWithString(m, (ptr) => m._mix_ws_close(handleId, code ?? -1, ptr), reason);
    if (result !== 0) throw new Error(WS_CALL_RESULTS[result] ?? `WebSocket close failed (${result})`);
  },
};

Comlink.expose(api);
// opening the database and compiling the wasm do not wait for the first call
openDatabase().catch(() => {
  /* setupMixTunnel reports it */
});
loadCore().catch(() => {
  /* setupMixTunnel reports it */
});
