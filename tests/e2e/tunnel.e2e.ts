// Our mix-tunnel in Chromium against a localnet this test starts: the wasm
// core in the package's worker sets up a real tunnel through the local
// mixnet (entry gateway, 3 mix layers, exit IPR), and reports it.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalnet, type Localnet } from '../interop/support/localnet';
import { launchChromium, type TestBrowser } from './support/browser';
import { REPO_ROOT, bundle } from './support/bundle';
import { serveDirectory, type StaticServer } from './support/static-server';

const HERE = path.dirname(fileURLToPath(import.meta.url));

describe('mix-tunnel in Chromium against localnet', () => {
  let outdir: string | undefined;
  let server: StaticServer | undefined;
  let browser: TestBrowser | undefined;
  let localnet: Localnet | undefined;
  let baseOpts: Record<string, unknown> = {};

  beforeAll(async () => {
    localnet = await startLocalnet(path.join(REPO_ROOT, 'build/native/bin/localnet'));
    const entry = localnet.status.gateways.find((g) => g.role === 'entry')!;
    baseOpts = {
      nymApiUrl: localnet.status.directory_url,
      preferredIpr: localnet.status.ipr_address,
      preferredGateway: entry.identity,
      forceTls: false,
      clientId: `e2e-${Date.now()}`,
      extraTrustAnchors: await readFile(localnet.status.test_ca_pem!, 'utf8'),
    };
    outdir = await mkdtemp(path.join(os.tmpdir(), 'mixnet-e2e-tunnel-'));
    await bundle({ 'tunnel.page': path.join(HERE, 'tunnel.page.ts') }, outdir);
    await writeFile(
      path.join(outdir, 'index.html'),
      '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>tunnel</title>' +
        '<body><script type="module" src="./tunnel.page.js"></script></body>\n',
    );
    server = await serveDirectory(outdir);
    browser = await launchChromium();
    await browser.page.goto(server.url);
    await browser.page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await localnet?.stop();
    if (outdir) await rm(outdir, { recursive: true, force: true });
  });

  it('state is shutdown before any setup', async () => {
    expect(await browser!.page.evaluate(() => window.tunnel.state())).toEqual({ state: 'shutdown' });
  });

  it('an unknown or ill-typed option is a TypeError naming it', async () => {
    const unknown = await browser!.page.evaluate(() => window.tunnel.setup({ forceTSL: false }));
    expect(unknown).toMatchObject({ ok: false, name: 'TypeError' });
    expect(unknown.ok || unknown.error).toContain('forceTSL');
    const illTyped = await browser!.page.evaluate(() => window.tunnel.setup({ maxRedirects: 300 }));
    expect(illTyped).toMatchObject({ ok: false, name: 'TypeError' });
  });

  it('a dead directory ends in failed with a reason', async () => {
    const opts = { ...baseOpts, nymApiUrl: 'http://127.0.0.1:9/api/', connectTimeoutMs: 5000 };
    const r = await browser!.page.evaluate((o) => window.tunnel.setup(o), opts);
    expect(r.ok).toBe(false);
    const state = await browser!.page.evaluate(() => window.tunnel.state());
    expect(state.state).toBe('failed');
  });

  it('sets up a tunnel through the local mixnet and reports it', async () => {
    const r = await browser!.page.evaluate((o) => window.tunnel.setup(o), baseOpts);
    expect(r).toMatchObject({ ok: true });
    console.log(`setupMixTunnel to ready in Chromium: ${Math.round(r.ms)} ms`);
    expect(await browser!.page.evaluate(() => window.tunnel.state())).toEqual({ state: 'ready' });
    const stats = await browser!.page.evaluate(() => window.tunnel.stats());
    expect(stats.state).toBe('ready');
    expect(stats.ipv4).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(stats.gateway).toBe(baseOpts['preferredGateway']);
    expect(stats.realPacketsSent).toBeGreaterThan(0);
    expect(await browser!.page.evaluate(() => window.tunnel.events)).toContain('ready');
  });

  it('resolves names through the tunnel: every address, NXDOMAIN as an error', async () => {
    const page = browser!.page;
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
    const page = browser!.page;
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
    const page = browser!.page;
    expect(await page.evaluate(() => window.tunnel.mixDNS('nginx.mixnet.test', false))).toBe('192.0.2.10');
    const all = await page.evaluate(() => window.tunnel.mixDNS('httpbin.mixnet.test', true));
    expect(all).toEqual([{ address: '192.0.2.11', family: 4, ttl: expect.any(Number) }]);
  });

  it('MixWebSocket echoes through the tunnel with the browser interface', async () => {
    const log = await browser!.page.evaluate(() =>
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

  it('disconnects, and a new setup works without reloading', async () => {
    await browser!.page.evaluate(() => window.tunnel.disconnect());
    expect((await browser!.page.evaluate(() => window.tunnel.state())).state).toBe('shutdown');
    const r = await browser!.page.evaluate((o) => window.tunnel.setup(o), baseOpts);
    expect(r).toMatchObject({ ok: true });
  });

  it('page and worker reported no errors', () => {
    expect(browser!.problems).toEqual([]);
  });
});
