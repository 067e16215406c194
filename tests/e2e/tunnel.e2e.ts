// Our mix-tunnel in Chromium against a localnet this test starts: the wasm
// core in the package's worker sets up a real tunnel through the local
// mixnet (entry gateway, 3 mix layers, exit IPR), and reports it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalnetPage, type LocalnetPage } from './support/localnet-page';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Nothing listens there, and browsers refuse the port anyway. */
const DEAD_DIRECTORY = 'http://127.0.0.1:9';

describe('mix-tunnel in Chromium against localnet', () => {
  let harness: LocalnetPage | undefined;
  let baseOpts: Record<string, unknown> = {};

  beforeAll(async () => {
    harness = await startLocalnetPage('tunnel', path.join(HERE, 'tunnel.page.ts'));
    baseOpts = {
      ...harness.tunnelOptions,
      preferredIpr: harness.localnet.status.ipr_address,
      clientId: `e2e-${Date.now()}`,
    };
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('state is shutdown before any setup', async () => {
    expect(await harness!.page.evaluate(() => window.tunnel.state())).toEqual({ state: 'shutdown' });
  });

  it('an unknown or ill-typed option is a TypeError naming it', async () => {
    const unknown = await harness!.page.evaluate(() => window.tunnel.setup({ forceTSL: false }));
    expect(unknown).toMatchObject({ ok: false, name: 'TypeError' });
    expect(unknown.ok || unknown.error).toContain('forceTSL');
    const illTyped = await harness!.page.evaluate(() => window.tunnel.setup({ maxRedirects: 300 }));
    expect(illTyped).toMatchObject({ ok: false, name: 'TypeError' });
  });

  it('a dead directory ends in failed with a reason', async () => {
    const opts = { ...baseOpts, nymApiUrl: `${DEAD_DIRECTORY}/api/`, connectTimeoutMs: 5000 };
    const r = await harness!.page.evaluate((o) => window.tunnel.setup(o), opts);
    expect(r.ok).toBe(false);
    const state = await harness!.page.evaluate(() => window.tunnel.state());
    expect(state.state).toBe('failed');
  });

  it('sets up a tunnel through the local mixnet and reports it', async () => {
    const r = await harness!.page.evaluate((o) => window.tunnel.setup(o), baseOpts);
    expect(r).toMatchObject({ ok: true });
    console.log(`setupMixTunnel to ready in Chromium: ${Math.round(r.ms)} ms`);
    expect(await harness!.page.evaluate(() => window.tunnel.state())).toEqual({ state: 'ready' });
    const stats = await harness!.page.evaluate(() => window.tunnel.stats());
    expect(stats.state).toBe('ready');
    expect(stats.ipv4).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(stats.gateway).toBe(baseOpts['preferredGateway']);
    expect(stats.realPacketsSent).toBeGreaterThan(0);
    expect(stats.ipr).toBe(harness!.localnet.status.ipr_address);
    expect(stats.rttMs).toBeGreaterThan(0);
    expect(stats.ipGapsSkipped).toBeGreaterThanOrEqual(0);
    expect(stats.ipBundlesLate).toBeGreaterThanOrEqual(0);
    expect(await harness!.page.evaluate(() => window.tunnel.events)).toContain('ready');
  });

  it('resolves names through the tunnel: every address, NXDOMAIN as an error', async () => {
    const page = harness!.page;
    const nginx = await page.evaluate(() => window.tunnel.resolve('nginx.mixnet.test'));
    expect(nginx).toMatchObject({
      ok: true,
      value: [
        { address: '192.0.2.10', family: 4 },
        { address: '2001:db8::10', family: 6 },
      ],
    });
    const missing = await page.evaluate(() => window.tunnel.resolve('missing.mixnet.test'));
    expect(missing).toMatchObject({ ok: false });
    expect(missing.ok || missing.error).toContain('does not exist');
    const literal = await page.evaluate(() => window.tunnel.resolve('203.0.113.7'));
    expect(literal).toMatchObject({ ok: true, value: [{ address: '203.0.113.7', family: 4 }] });
  });

  it('echoes WebSocket text and binary through the tunnel, ws and wss', async () => {
    const page = harness!.page;
    for (const url of ['ws://ws.mixnet.test/', 'wss://ws.mixnet.test/']) {
      const events = (await page.evaluate(
        ({ u }) => window.tunnel.wsExchange(u, ['echo'], ['hello ✓', [0, 1, 2, 255]]),
        { u: url },
      )) as Array<Record<string, unknown>>;
      expect(events[0]).toMatchObject({ type: 'open', protocol: 'echo' });
      expect(events).toContainEqual({ type: 'text', data: 'hello ✓' });
      expect(events).toContainEqual({ type: 'binary', data: [0, 1, 2, 255] });
      expect(events.at(-1)).toMatchObject({ type: 'close', code: 1000, reason: 'done', wasClean: true });
    }
    const refused = (await page.evaluate(() => window.tunnel.wsExchange('ftp://ws.mixnet.test/', [], ['x']))) as Array<
      Record<string, unknown>
    >;
    expect(refused).toEqual([expect.objectContaining({ type: 'thrown', name: 'SyntaxError' })]);
  });

  it('mixDNS gives one address as published, or all of them', async () => {
    const page = harness!.page;
    expect(await page.evaluate(() => window.tunnel.mixDNS('nginx.mixnet.test', false))).toBe('192.0.2.10');
    const all = await page.evaluate(() => window.tunnel.mixDNS('httpbin.mixnet.test', true));
    expect(all).toEqual([{ address: '192.0.2.11', family: 4, ttl: expect.any(Number) }]);
  });

  it('MixWebSocket echoes through the tunnel with the browser interface', async () => {
    const log = await harness!.page.evaluate(() =>
      window.tunnel.mixWebSocketEcho('wss://ws.mixnet.test/', 'héllo', [1, 2, 3]),
    );
    expect(log).toEqual([
      'state 0',
      'open echo state 1',
      'text héllo',
      'binary 1,2,3',
      'close 4000 bye true state 3',
    ]);
  });

  it('a second setup while up: the same options resolve, other options are a clear error', async () => {
    const page = harness!.page;
    expect(await page.evaluate((o) => window.tunnel.setup(o), baseOpts)).toMatchObject({ ok: true });
    const other = await page.evaluate((o) => window.tunnel.setup({ ...o, disableCoverTraffic: true }), baseOpts);
    expect(other).toMatchObject({ ok: false });
    expect(other.ok || other.error).toContain('disconnectMixTunnel');
    expect((await page.evaluate(() => window.tunnel.state())).state).toBe('ready');
  });

  it('disconnects, and a new setup works without reloading', async () => {
    await harness!.page.evaluate(() => window.tunnel.disconnect());
    expect((await harness!.page.evaluate(() => window.tunnel.state())).state).toBe('shutdown');
    const r = await harness!.page.evaluate((o) => window.tunnel.setup(o), baseOpts);
    expect(r).toMatchObject({ ok: true });
  });

  it('page and worker reported no errors but the dead directory\'s failed requests', () => {
    const failedLoad = `Failed to load resource: net::ERR_UNSAFE_PORT (${DEAD_DIRECTORY}/`;
    expect(harness!.browser.problems.filter((p) => !p.includes(failedLoad))).toEqual([]);
  });
});
