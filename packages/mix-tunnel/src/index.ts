// @nymproject/mix-tunnel: the one worker that runs the mixnet tunnel, and
// its lifecycle. mix-fetch, mix-dns and mix-websocket share it.
import * as Comlink from 'comlink';
import WORKER_SOURCE from 'mix-tunnel-worker-source';
import { resolveOptions } from './options';
import type {
  DirectoryAnswer,
  IMixTunnelWorker,
  SetupMixTunnelOpts,
  TunnelState,
  TunnelStateListener,
  TunnelStats,
} from './types';

export * from './types';
export { DEFAULT_OPTIONS } from './options';
/** Shared with the other mix-* packages. */
export { concatBytes } from './bytes';
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

/** The directory requests the core makes first, all at once (wasm/src/tunnel/tunnel.c TOPOLOGY_PATHS). */
const TOPOLOGY_PATHS = [
  '/v1/nym-nodes/rewarded-set',
  '/v2/unstable/nym-nodes/skimmed/mixnodes/active',
  '/v2/unstable/nym-nodes/skimmed/entry-gateways',
];
let prefetchStarted = false;
/** Started, not yet handed to the worker: the first setup to reach the worker takes them. */
let prefetchUnclaimed: Array<[string, Promise<DirectoryAnswer>]> = [];

/** Starting the worker and its wasm takes longer than these requests, so on the page's first setup
 * the page asks for them before it starts the worker, as the core would (public data, no
 * credentials, no referrer), and hands the answers over. Gives the URLs and their answers. */
function prefetchTopology(nymApiUrl: string): Array<[string, Promise<DirectoryAnswer>]> {
  return TOPOLOGY_PATHS.map((p) => {
    const url = nymApiUrl.replace(/\/+$/, '') + p;
    const answer = fetch(url, {
      headers: { accept: 'application/json' },
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      cache: 'no-store',
    }).then(
      async (response): Promise<DirectoryAnswer> => ({
        status: response.status,
        body: new Uint8Array(await response.arrayBuffer()),
        error: '',
      }),
      (e: unknown): DirectoryAnswer => ({ status: 0, body: null, error: e instanceof Error ? e.message : String(e) }),
    );
    return [url, answer];
  });
}

function handOver(w: Comlink.Remote<IMixTunnelWorker>, url: string, answer: Promise<DirectoryAnswer>): void {
  answer
    .then((a) => w.directoryAnswered(url, a.body ? Comlink.transfer(a, [a.body.buffer]) : a))
    .catch(() => {
      /* the worker is gone: nobody waits for the answer */
    });
}

/** Sets the tunnel up and resolves once it is ready; rejects with the reason when setup fails.
 * A second call while it is up resolves at once; after a disconnect a new setup works. */
export const setupMixTunnel = async (opts?: SetupMixTunnelOpts): Promise<void> => {
  const options = resolveOptions(opts); // a TypeError here, in the caller's thread, for bad options
  if (!prefetchStarted) {
    prefetchStarted = true;
    prefetchUnclaimed = prefetchTopology(options.nymApiUrl);
    // the requests leave before the worker's creation holds this thread up
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const w = await getMixTunnel();
  const prefetching = prefetchUnclaimed;
  prefetchUnclaimed = [];
  for (const [url, answer] of prefetching) handOver(w, url, answer);
  await w.setupMixTunnel(opts, prefetching.map(([url]) => url));
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
