// Page script: the PUBLISHED packages, imported the way their READMEs say
// (bundled by esbuild; one shared @nymproject/mix-tunnel). Every call is
// bounded here, so a client that never answers fails the test with a
// reason instead of hanging it.
import { createMixFetch, getTunnelState } from 'published-mix-fetch';
import { mixDNS } from 'published-mix-dns';
import { MixWebSocket } from 'published-mix-websocket';
import { bounded, describe, type Outcome } from './support/outcome';

export interface FetchResult {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  body: string;
}

export interface InteropApi {
  setup(opts: Record<string, unknown>, timeoutMs: number): Promise<Outcome<null>>;
  state(): Promise<Outcome<unknown>>;
  fetch(url: string, timeoutMs: number): Promise<Outcome<FetchResult>>;
  dns(name: string, timeoutMs: number): Promise<Outcome<string>>;
  wsEcho(url: string, message: string, timeoutMs: number): Promise<Outcome<string>>;
}

declare global {
  interface Window {
    interop: InteropApi;
  }
}

let mixFetch: Awaited<ReturnType<typeof createMixFetch>> | undefined;

window.interop = {
  setup: (opts, timeoutMs) =>
    bounded('createMixFetch', timeoutMs, async () => {
      mixFetch = await createMixFetch(opts);
      return null;
    }),
  state: () => bounded('getTunnelState', 10_000, () => getTunnelState()),
  fetch: (url, timeoutMs) =>
    bounded(`mixFetch(${url})`, timeoutMs, async () => {
      if (!mixFetch) throw new Error('createMixFetch did not succeed');
      const res = await mixFetch(url);
      return {
        status: res.status,
        statusText: res.statusText,
        headers: [...res.headers.entries()],
        body: await res.text(),
      };
    }),
  dns: (name, timeoutMs) => bounded(`mixDNS(${name})`, timeoutMs, () => mixDNS(name)),
  wsEcho: (url, message, timeoutMs) =>
    bounded(`MixWebSocket(${url}) echo`, timeoutMs, async () => {
      const ws = new MixWebSocket(url);
      const errors: string[] = [];
      ws.addEventListener('error', (e) => errors.push(describe((e as Event & { message?: unknown }).message)));
      const echoed = new Promise<string>((resolve) => {
        ws.addEventListener('message', (e) => {
          const data = (e as MessageEvent).data;
          resolve(typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer));
        });
      });
      await ws.opened();
      if (errors.length || ws.readyState !== 1) {
        throw new Error(`MixWebSocket did not open (readyState ${ws.readyState}): ${errors.join('; ')}`);
      }
      await ws.send(message);
      const got = await echoed;
      await ws.close(1000, 'done');
      return got;
    }),
};
document.body.dataset['ready'] = '1';
