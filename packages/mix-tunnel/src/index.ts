// @nymproject/mix-tunnel: the one worker that runs the mixnet tunnel, and
// its lifecycle. mix-fetch, mix-dns and mix-websocket share it.
import * as Comlink from 'comlink';
import WORKER_SOURCE from 'mix-tunnel-worker-source';
import { resolveOptions } from './options';
import type {
  IMixTunnelWorker,
  SetupMixTunnelOpts,
  TunnelState,
  TunnelStateListener,
  TunnelStats,
} from './types';

export * from './types';
export { DEFAULT_OPTIONS } from './options';
/** Comlink's `proxy`, from the same Comlink instance as the worker handle (for callbacks). */
export { proxy } from 'comlink';

let worker: Promise<Comlink.Remote<IMixTunnelWorker>> | undefined;
let workerUrl: string | undefined;

/** Ours, for pages whose Content-Security-Policy refuses `blob:` workers: load the worker from
 * this URL instead of the inlined copy (the package's `dist/worker.js`, served with
 * `dist/mixcore-split.wasm` beside it). Call it before anything else of the package. */
export function useMixTunnelWorkerUrl(url: string | URL): void {
  if (worker) throw new Error('useMixTunnelWorkerUrl: the worker is already running');
  workerUrl = String(url);
}

function spawnWorker(): Comlink.Remote<IMixTunnelWorker> {
  if (workerUrl) return Comlink.wrap<IMixTunnelWorker>(new Worker(workerUrl, { type: 'module', name: 'mix-tunnel' }));
  // The worker and the wasm are inlined: nothing else to host.
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new Worker(url, { type: 'module', name: 'mix-tunnel' });
  URL.revokeObjectURL(url);
  return Comlink.wrap<IMixTunnelWorker>(w);
}

/** The worker handle, spawned on first use; setupMixTunnel must still be called. */
export const getMixTunnel = (): Promise<Comlink.Remote<IMixTunnelWorker>> => {
  worker ??= Promise.resolve(spawnWorker());
  return worker;
};

/** Sets the tunnel up and resolves once it is ready; rejects with the reason when setup fails.
 * A second call while it is up resolves at once; after a disconnect a new setup works. */
export const setupMixTunnel = async (opts?: SetupMixTunnelOpts): Promise<void> => {
  resolveOptions(opts); // a TypeError here, in the caller's thread, for bad options
  await (await getMixTunnel()).setupMixTunnel(opts);
};

/** Stops the tunnel; setupMixTunnel may start a new one. */
export const disconnectMixTunnel = async (): Promise<void> => {
  if (worker) await (await worker).disconnectMixTunnel();
};

/** The tunnel's state; `shutdown` before any setup. */
export const getTunnelState = async (): Promise<TunnelState> =>
  worker ? (await worker).getTunnelState() : { state: 'shutdown' };

/** Ours: the tunnel's figures (gateway, address, packets and bytes each way, real and cover traffic). */
export const getTunnelStats = async (): Promise<TunnelStats> =>
  worker ? (await worker).getTunnelStats() : { state: 'shutdown', reason: null };

/** Ours: calls listener on every state change. */
export const onTunnelStateChange = async (listener: TunnelStateListener): Promise<void> => {
  await (await getMixTunnel()).onTunnelStateChange(Comlink.proxy(listener));
};
