// The one Web Worker: loads the wasm core, keeps its records in IndexedDB,
// and serves the page's packages over Comlink. Keys never leave it.
import * as Comlink from 'comlink';
import createMixCore, { type MixCore } from 'mixcore';
import { coreOptionsJson, resolveOptions } from './options';
import { openRecordStore } from './storage';
import type {
  IMixTunnelWorker,
  MixDnsAddress,
  SetupMixTunnelOpts,
  TunnelState,
  TunnelStateListener,
  TunnelStats,
} from './types';

interface CoreHooks {
  mixStorage?: Map<string, Uint8Array>;
  mixStorageSave?: (clientId: string, name: string, bytes: Uint8Array<ArrayBuffer>) => void;
  onMixEvent?: (json: string) => void;
  mixLog?: ((text: string) => void) | undefined;
}

let core: (MixCore & CoreHooks) | undefined;
let setupRunning = false;
const listeners: TunnelStateListener[] = [];

interface DnsEvent {
  event: 'dns';
  id: number;
  error: string | null;
  errorKind?: string;
  addresses: MixDnsAddress[];
}
let lastRequestId = 0;
const dnsWaiting = new Map<number, (answer: DnsEvent) => void>();

function nextRequestId(): number {
  lastRequestId = lastRequestId >= 0x7fffffff ? 1 : lastRequestId + 1;
  return lastRequestId;
}

async function loadCore(): Promise<MixCore & CoreHooks> {
  if (!core) {
    const hooks: CoreHooks = {
      onMixEvent: (json) => {
        const event = JSON.parse(json) as { event: string } & Record<string, unknown>;
        if (event.event === 'state') {
          const state = toTunnelState(event as unknown as { state: string; reason: string | null });
          for (const listener of listeners) void listener(state);
        } else if (event.event === 'dns') {
          const answer = event as unknown as DnsEvent;
          const waiting = dnsWaiting.get(answer.id);
          dnsWaiting.delete(answer.id);
          waiting?.(answer);
        }
      },
    };
    core = (await createMixCore(hooks as Record<string, unknown>)) as MixCore & CoreHooks;
  }
  return core;
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
  | 'disconnectMixTunnel'
  | 'getTunnelState'
  | 'getTunnelStats'
  | 'onTunnelStateChange'
  | 'mixDNS'
  | 'mixResolve'
>;

const api: LifecycleApi = {
  async setupMixTunnel(opts?: SetupMixTunnelOpts): Promise<void> {
    const options = resolveOptions(opts);
    if (setupRunning) throw new Error('setupMixTunnel: a setup is already running');
    const m = await loadCore();
    const state = readState(m);
    if (state.state === 'ready') return;
    setupRunning = true;
    try {
      const store = await openRecordStore(options.clientId, options.storagePassphrase);
      m.mixStorage = new Map([...store.records].map(([name, bytes]) => [`${options.clientId}/${name}`, bytes]));
      m.mixStorageSave = (_clientId, name, bytes) => store.save(name, bytes);
      m.mixLog = options.debug ? (text) => console.debug(`[mix-tunnel] ${text}`) : undefined;
      // a failed or stopped tunnel makes way for this one
      m._mix_tunnel_disconnect();
      if (callWithString(m, (ptr) => m._mix_tunnel_setup(ptr), coreOptionsJson(options)) !== 0) {
        throw new TypeError(`setupMixTunnel: ${m.UTF8ToString(m._mix_last_error())}`);
      }
      await waitForSetup(m);
    } finally {
      setupRunning = false;
    }
  },
  async disconnectMixTunnel(): Promise<void> {
    if (!core) return;
    core._mix_tunnel_disconnect();
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
};

Comlink.expose(api);
