// Page script: our @nymproject/mix-tunnel, as an application imports it.
import {
  disconnectMixTunnel,
  getMixTunnel,
  getTunnelState,
  getTunnelStats,
  onTunnelStateChange,
  setupMixTunnel,
  type SetupMixTunnelOpts,
  type TunnelState,
  type TunnelStats,
} from '@nymproject/mix-tunnel';

export type Outcome = { ok: true; ms: number } | { ok: false; ms: number; error: string; name: string };

export interface TunnelPageApi {
  setup(opts: Record<string, unknown>): Promise<Outcome>;
  state(): Promise<TunnelState>;
  stats(): Promise<TunnelStats>;
  disconnect(): Promise<void>;
  /** The worker's DNS directly (the mix-dns package wraps it). */
  resolve(name: string): Promise<{ ok: true; value: unknown } | { ok: false; error: string }>;
  events: string[];
}

declare global {
  interface Window {
    tunnel: TunnelPageApi;
  }
}

const events: string[] = [];
void onTunnelStateChange((s) => events.push(s.state));

window.tunnel = {
  async setup(opts) {
    const start = performance.now();
    try {
      await setupMixTunnel(opts as SetupMixTunnelOpts);
      return { ok: true, ms: performance.now() - start };
    } catch (e) {
      const err = e as Error;
      return { ok: false, ms: performance.now() - start, error: err.message, name: err.name };
    }
  },
  state: () => getTunnelState(),
  stats: () => getTunnelStats(),
  disconnect: () => disconnectMixTunnel(),
  async resolve(name) {
    try {
      return { ok: true, value: await (await getMixTunnel()).mixResolve(name) };
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  },
  events,
};
document.body.dataset['ready'] = '1';
