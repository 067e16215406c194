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
import { mixDNS } from '@nymproject/mix-dns';
import { MixWebSocket } from '@nymproject/mix-websocket';

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
  /** mix-dns as an application calls it. */
  mixDNS(name: string, all: boolean): Promise<unknown>;
  /** MixWebSocket as an application uses it (handler properties): the event log of one echo. */
  mixWebSocketEcho(url: string, text: string, bytes: number[]): Promise<string[]>;
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
  async mixDNS(name, all) {
    try {
      return all ? await mixDNS(name, { all: true }) : await mixDNS(name);
    } catch (e) {
      return { error: (e as Error).message };
    }
  },
  mixWebSocketEcho(url, text, bytes) {
    const log: string[] = [];
    return new Promise((resolve) => {
      const ws = new MixWebSocket(url, ['echo']);
      ws.binaryType = 'arraybuffer';
      log.push(`state ${ws.readyState}`);
      ws.onopen = () => {
        log.push(`open ${ws.protocol} state ${ws.readyState}`);
        void ws.send(text);
        void ws.send(Uint8Array.from(bytes));
      };
      let answers = 0;
      ws.onmessage = (e: MessageEvent) => {
        log.push(typeof e.data === 'string' ? `text ${e.data}` : `binary ${Array.from(new Uint8Array(e.data as ArrayBuffer)).join(',')}`);
        if (++answers === 2) void ws.close(4000, 'bye');
      };
      ws.onerror = () => log.push('error');
      ws.onclose = (e: CloseEvent) => {
        log.push(`close ${e.code} ${e.reason} ${e.wasClean} state ${ws.readyState}`);
        resolve(log);
      };
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
