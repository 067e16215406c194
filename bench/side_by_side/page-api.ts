// Page-side: what a side-by-side page offers the bench, the same for our
// packages (ours.page.ts) and the published ones (theirs.page.ts). The page
// starts the tunnel as soon as its script runs, with the options JSON in its
// URL's hash, so that the times from navigation count loading the bundle.
// Every call is bounded (tests/interop/support/outcome.ts).
import { bounded, describe, type Outcome } from '../../tests/interop/support/outcome';

/** The few calls the bench makes, as each side's packages spell them. */
export interface MixClient {
  setup(opts: Record<string, unknown>): Promise<unknown>;
  state(): Promise<{ state: string }>;
  fetch(url: string, init?: { headers: Record<string, string> }): Promise<Response>;
  /** Ours only: the tunnel's counters (getTunnelStats). */
  stats?(): Promise<{ ipGapsSkipped?: number; ipBundlesLate?: number }>;
}

export interface Download {
  bytes: number;
  /** from the call to the body's last byte */
  ms: number;
  /** the tunnel's reorder counters afterwards, where the side reports them */
  gapsSkipped?: number | undefined;
  late?: number | undefined;
}

export interface SideBySidePageApi {
  /** ms from navigation until the tunnel state was first seen `ready`. */
  ready(timeoutMs: number): Promise<Outcome<number>>;
  /** ms from the call until the body's first bytes, on a connection of its own: the server is
   * asked to close it, so that the next call opens one again. */
  firstByte(url: string, timeoutMs: number): Promise<Outcome<number>>;
  /** The whole body of a GET, read as a stream (the published mixFetch has it all by then). */
  download(url: string, timeoutMs: number): Promise<Outcome<Download>>;
}

declare global {
  interface Window {
    sideBySide: SideBySidePageApi;
  }
}

/** How often the state is asked for while waiting for `ready`. */
const STATE_POLL_MS = 10;

async function readBody(res: Response, onFirstBytes: () => void): Promise<number> {
  if (!res.body) return 0;
  const reader = res.body.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return bytes;
    if (bytes === 0) onFirstBytes();
    bytes += value.length;
  }
}

export function installSideBySide(client: MixClient): void {
  const setup = client.setup(JSON.parse(decodeURIComponent(location.hash.slice(1))) as Record<string, unknown>);
  // ready() reports a failed setup; until it is called, nobody else listens
  setup.catch(() => {});

  window.sideBySide = {
    ready: (timeoutMs) =>
      bounded('tunnel setup', timeoutMs, async () => {
        await setup;
        for (;;) {
          const s = await client.state();
          if (s.state === 'ready') return Math.round(performance.now());
          if (s.state === 'failed' || s.state === 'shutdown') throw new Error(`tunnel ${describe(s)}`);
          await new Promise((r) => setTimeout(r, STATE_POLL_MS));
        }
      }),
    firstByte: (url, timeoutMs) =>
      bounded(`first byte of ${url}`, timeoutMs, async () => {
        const start = performance.now();
        let firstAt = NaN;
        const res = await client.fetch(url, { headers: { Connection: 'close' } });
        if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
        await readBody(res, () => (firstAt = performance.now()));
        return Math.round(firstAt - start);
      }),
    download: (url, timeoutMs) =>
      bounded(`download of ${url}`, timeoutMs, async () => {
        const start = performance.now();
        const res = await client.fetch(url);
        if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
        const bytes = await readBody(res, () => {});
        const ms = Math.round(performance.now() - start);
        const stats = await client.stats?.();
        return { bytes, ms, gapsSkipped: stats?.ipGapsSkipped, late: stats?.ipBundlesLate };
      }),
  };
  document.body.dataset['ready'] = '1';
}
