// Page script: our @nymproject/mix-tunnel, as an application imports it.
import {
  proxy,
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
  /** A WebSocket through the worker (the mix-websocket package wraps it): sends each message
   * once open, then closes after as many answers; gives every event. */
  wsExchange(url: string, protocols: string[], messages: Array<string | number[]>): Promise<unknown[]>;
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
  async wsExchange(url, protocols, messages) {
    const tunnel = await getMixTunnel();
    const events: unknown[] = [];
    let answers = 0;
    return new Promise((resolve) => {
      let id = 0;
      const onEvent = proxy((e: { type: string; data?: unknown }) => {
        events.push(e.type === 'binary' ? { type: 'binary', data: Array.from(e.data as Uint8Array) } : e);
        if (e.type === 'open') {
          for (const m of messages) void tunnel.wsSend(id, typeof m === 'string' ? m : Uint8Array.from(m));
        } else if ((e.type === 'text' || e.type === 'binary') && ++answers === messages.length) {
          void tunnel.wsClose(id, 1000, 'done');
        } else if (e.type === 'close') {
          resolve(events);
        }
      });
      tunnel.wsOpen(url, protocols, onEvent).then(
        (handle) => (id = handle),
        (e: Error) => resolve([{ type: 'thrown', name: e.name, message: e.message }]),
      );
    });
  },
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
