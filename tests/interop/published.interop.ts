// Interop: the PUBLISHED @nymproject/mix-fetch 2.1.1 (with mix-dns and
// mix-websocket 0.2.1 on the same published mix-tunnel 0.2.1) in Debian's
// Chromium, against a localnet this test starts. The published client has
// no directory option, so its requests to https://validator.nymtech.net/api/
// are answered from localnet's directory by route interception; every
// other request that is not for loopback is aborted and counted. (Playwright
// cannot route a dedicated worker's WebSockets, the published client's
// gateway connections among them: those are only watched, and one that is
// not for loopback fails the test.)
//
// What is checked follows shared/vectors/README.md (the published client's
// observed behaviour): the directory requests in order; WebSocket
// connection 1 = registration, connection 2 = authenticateV2 and the free
// bandwidth claim, against localnet's entry gateway; Sphinx packets through
// localnet's three layers; then, once localnet's status line has an
// ipr_address, tunnel state "ready", mixFetch of nginx's small.txt, mixDNS
// of nginx.mixnet.test and a MixWebSocket echo.
//
// A log of the run (requests, WebSocket frames, console) is written to
// build/interop/published.log, localnet's stderr to build/interop/localnet.log.
// LOCALNET=<binary> runs another localnet build than build/native/bin/localnet.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WebSocket as PwWebSocket } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from '../e2e/support/browser';
import { REPO_ROOT } from '../e2e/support/bundle';
import { serveDirectory, type StaticServer } from '../e2e/support/static-server';
import type { FetchResult } from './published.page';
import { bundlePublished } from './support/bundle';
import { LOOPBACK, NYM_API, confineToLocalnet } from './support/directory';
import type { Outcome } from './support/outcome';
import { startLocalnet, type Localnet, type NodeStats } from './support/localnet';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LOCALNET_BIN = path.resolve(process.env['LOCALNET'] || path.join(REPO_ROOT, 'build/native/bin/localnet'));
const LOG_PATH = path.join(REPO_ROOT, 'build/interop/published.log');
const LOCALNET_LOG_PATH = path.join(REPO_ROOT, 'build/interop/localnet.log');

/** localnet/services.h SERVICES_SMALL_TXT */
const SMALL_TXT = 'hello from the localnet nginx\n';
const NGINX_IP = '192.0.2.10';

// Bounds on every wait (the mixnet has real delays, so they are generous).
const SETUP_TIMEOUT_MS = 120_000;
const READY_TIMEOUT_MS = 30_000;
const FETCH_TIMEOUT_MS = 60_000;
const DNS_TIMEOUT_MS = 60_000;
const WS_TIMEOUT_MS = 60_000;

// ---- what the run records, on one clock (ms since the page was opened) ----

interface DirectoryRequest {
  t: number;
  method: string;
  /** path and query after /api/ */
  path: string;
  accept: string;
  contentType: string;
  status: number;
  answerType: string;
  error?: string;
}

interface WsEvent {
  t: number;
  conn: number;
  kind: 'open' | 'sent' | 'received' | 'close' | 'error';
  /** the JSON of a text frame, or `binary` with its length */
  text?: string;
  type?: string;
  bytes?: number;
}

interface ConsoleLine {
  t: number;
  type: string;
  fromWorker: boolean;
  text: string;
}

let t0 = Date.now();
const now = () => Date.now() - t0;
const directoryRequests: DirectoryRequest[] = [];
const blocked: string[] = [];
const wsEvents: WsEvent[] = [];
const consoleLines: ConsoleLine[] = [];
const wsUrls: string[] = [];
/** How createMixFetch ended. */
let setup: Outcome<null> | undefined;

function textType(text: string): string | undefined {
  try {
    const v = JSON.parse(text) as { type?: unknown };
    return typeof v.type === 'string' ? v.type : undefined;
  } catch {
    return undefined;
  }
}

function watchWebSocket(ws: PwWebSocket): void {
  const conn = wsUrls.push(ws.url());
  if (!LOOPBACK.has(new URL(ws.url()).hostname)) blocked.push(`${now()} WebSocket (not stoppable) ${ws.url()}`);
  wsEvents.push({ t: now(), conn, kind: 'open', text: ws.url() });
  const frame = (kind: 'sent' | 'received') => (f: { payload: string | Buffer }) => {
    if (typeof f.payload === 'string') {
      const type = textType(f.payload);
      wsEvents.push({ t: now(), conn, kind, text: f.payload, ...(type ? { type } : {}) });
    } else {
      wsEvents.push({ t: now(), conn, kind, type: 'binary', bytes: f.payload.length });
    }
  };
  ws.on('framesent', frame('sent'));
  ws.on('framereceived', frame('received'));
  ws.on('socketerror', (e) => wsEvents.push({ t: now(), conn, kind: 'error', text: String(e) }));
  ws.on('close', () => wsEvents.push({ t: now(), conn, kind: 'close' }));
}

/** A well-formed Nym address whose client part nobody holds, at `gateway`. */
function unheldAddressAt(gateway: string): string {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return `${base58(Buffer.from(jwk.x!, 'base64url'))}.${base58(randomBytes(32))}@${gateway}`;
}

function base58(bytes: Uint8Array): string {
  const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  let n = BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0'));
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)]! + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = '1' + out;
  }
  return out;
}

function writeLog(extra: Record<string, unknown>): void {
  try {
    mkdirSync(path.dirname(LOG_PATH), { recursive: true });
    const lines = [
      `# published client against localnet, ${new Date().toISOString()}`,
      ...Object.entries(extra).map(([k, v]) => `${k}: ${JSON.stringify(v)}`),
      '## directory requests',
      ...directoryRequests.map((r) => JSON.stringify(r)),
      '## requests aborted (not loopback, not nym-api)',
      ...blocked,
      '## websocket events (binary frames summarised)',
      ...summariseWs().map((e) => JSON.stringify(e)),
      '## console',
      ...consoleLines.map((c) => `${c.t} ${c.fromWorker ? 'worker' : 'page'} ${c.type}: ${c.text}`),
    ];
    writeFileSync(LOG_PATH, lines.join('\n') + '\n');
  } catch {
    /* the log is a convenience */
  }
}

/** wsEvents with runs of binary frames collapsed into one line each. */
function summariseWs(): Array<WsEvent & { frames?: number; until?: number }> {
  const out: Array<WsEvent & { frames?: number; until?: number }> = [];
  for (const e of wsEvents) {
    const last = out[out.length - 1];
    if (e.type === 'binary' && last && last.type === 'binary' && last.conn === e.conn && last.kind === e.kind) {
      last.frames = (last.frames ?? 1) + 1;
      last.bytes = (last.bytes ?? 0) + (e.bytes ?? 0);
      last.until = e.t;
    } else {
      out.push({ ...e });
    }
  }
  return out;
}

function controlMessages(conn: number): string[] {
  return wsEvents
    .filter((e) => e.conn === conn && (e.kind === 'sent' || e.kind === 'received') && e.type && e.type !== 'binary')
    .map((e) => `${e.kind === 'sent' ? '>' : '<'} ${e.type}`);
}

/** Everything on one connection but binary frames, for failure messages. */
function transcript(conn: number): string {
  const lines = wsEvents
    .filter((e) => e.conn === conn && e.type !== 'binary')
    .map((e) => `  ${e.t} ${e.kind === 'sent' ? '>' : e.kind === 'received' ? '<' : e.kind} ${(e.text ?? '').slice(0, 300)}`);
  return `connection ${conn} (${wsUrls[conn - 1] ?? 'never opened'}):\n${lines.join('\n')}\nsetup: ${JSON.stringify(setup)}\nconsole tail:\n${consoleTail()}`;
}

function firstEvent(conn: number, pred: (e: WsEvent) => boolean): WsEvent | undefined {
  return wsEvents.find((e) => e.conn === conn && pred(e));
}

/** ws://<loopback name>:<the entry's ws port>/ (forceTls: false; A7). */
function expectEntryGateway(seen: string | undefined, wsUrl: string, why: string): void {
  expect(seen, `no such WebSocket: ${why}`).toBeDefined();
  const got = new URL(seen!);
  const want = new URL(wsUrl);
  expect({ protocol: got.protocol, port: got.port, path: got.pathname }, seen).toEqual({
    protocol: 'ws:',
    port: want.port,
    path: '/',
  });
  expect(LOOPBACK.has(got.hostname), seen).toBe(true);
}

function consoleTail(n = 40): string {
  return consoleLines
    .slice(-n)
    .map((c) => `  ${c.t} ${c.type}: ${c.text.slice(0, 400)}`)
    .join('\n');
}

describe('the published @nymproject/mix-fetch 2.1.1 against localnet', () => {
  let localnet: Localnet | undefined;
  let outdir: string | undefined;
  let server: StaticServer | undefined;
  let browser: TestBrowser | undefined;
  let iprAddress = '';
  let realIpr = false;
  let statsBefore: NodeStats[] = [];
  let statsAfterSetup: NodeStats[] = [];
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    localnet = await startLocalnet(LOCALNET_BIN, { logPath: LOCALNET_LOG_PATH });
    const status = localnet.status;
    const exit = status.gateways.find((g) => g.role === 'exit');
    const entry = status.gateways.find((g) => g.role === 'entry');
    if (!exit || !entry) throw new Error(`localnet status has no entry/exit gateway: ${JSON.stringify(status)}`);
    realIpr = typeof status.ipr_address === 'string' && status.ipr_address.length > 0;
    // Until localnet has an IPR, a well-formed address at the exit gateway
    // lets the client go through every stage before the IPR handshake.
    iprAddress = realIpr ? status.ipr_address! : unheldAddressAt(exit.identity);

    outdir = await mkdtemp(path.join(os.tmpdir(), 'mixnet-interop-page-'));
    await bundlePublished({ 'published.page': path.join(HERE, 'published.page.ts') }, outdir);
    await writeFile(
      path.join(outdir, 'index.html'),
      '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">' +
        '<title>published client interop</title>' +
        '<body><script type="module" src="./published.page.js"></script></body>\n',
    );
    server = await serveDirectory(outdir);
    browser = await launchChromium();
    const { context, page } = browser;

    await confineToLocalnet(context, status.directory_url, {
      onDirectoryRequest(request, answer) {
        const headers = request.headers();
        const entry: DirectoryRequest = {
          t: now(),
          method: request.method(),
          path: request.url().slice(NYM_API.length),
          accept: headers['accept'] ?? '',
          contentType: headers['content-type'] ?? '',
          status: 0,
          answerType: '',
        };
        directoryRequests.push(entry);
        void answer.then((a) => Object.assign(entry, a));
      },
      onBlocked: (what) => blocked.push(`${now()} ${what}`),
    });
    page.on('websocket', watchWebSocket);
    page.on('console', (msg) =>
      consoleLines.push({ t: now(), type: msg.type(), fromWorker: msg.worker() !== null, text: msg.text() }),
    );

    statsBefore = await localnet.stats();
    t0 = Date.now();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="1"]', { state: 'attached', timeout: 60_000 });
    timings['page_ready_ms'] = now();

    const opts: Record<string, unknown> = {
      clientId: `interop-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`,
      forceTls: false,
      preferredIpr: iprAddress,
      // Both of localnet's gateways take clients, and the client would pick
      // one at random (A6): pin the entry, so that the path is always
      // entry -> 3 layers -> exit.
      preferredGateway: entry.identity,
      debug: true,
    };
    // Nobody answers an unheld IPR address: give up sooner than the
    // default (about 75 s) would. A real IPR gets the client's defaults.
    if (!realIpr) opts['connectTimeoutMs'] = 20_000;
    const setupStart = now();
    setup = await page.evaluate(([o, ms]) => window.interop.setup(o, ms), [opts, SETUP_TIMEOUT_MS] as const);
    timings['setup_ms'] = setup.ms;
    timings['setup_started_at'] = setupStart;
    statsAfterSetup = await localnet.stats();
  });

  afterAll(async () => {
    const first = directoryRequests[0];
    if (first) timings['setup_to_first_directory_request_ms'] = first.t - timings['setup_started_at']!;
    console.log(`interop timings (ms): ${JSON.stringify(timings)}; log: ${path.relative(REPO_ROOT, LOG_PATH)}`);
    writeLog({
      localnet_status: localnet?.status,
      preferred_ipr: iprAddress,
      localnet_has_ipr: realIpr,
      setup,
      timings,
      stats_before: statsBefore,
      stats_after_setup: statsAfterSetup,
      problems: browser?.problems,
    });
    await browser?.close().catch(() => {});
    await server?.close().catch(() => {});
    await localnet?.stop();
    if (outdir) await rm(outdir, { recursive: true, force: true });
  });

  it('asks the directory in the published order, and every answer is 200 JSON from localnet', () => {
    const gets = directoryRequests.filter((r) => r.method === 'GET');
    const why = `requests: ${JSON.stringify(gets, null, 1)}\nsetup: ${JSON.stringify(setup)}\nconsole tail:\n${consoleTail()}`;
    const failed = gets.filter((r) => r.status !== 200 || !r.answerType.startsWith('application/json'));
    expect(failed, `directory requests not answered 200 JSON: ${why}`).toEqual([]);
    const paths = gets.map((r) => r.path);
    expect(
      [
        // 1: gateway selection (first run for this clientId)
        paths[0],
        // 3: start_base: key rotation, then the initial topology (concurrent)
        paths[1],
        [...paths.slice(2, 5)].sort(),
        // 5: the IPR version lookup, after gateway authentication
        paths[5],
      ],
      why,
    ).toEqual([
      'v2/unstable/nym-nodes/skimmed/entry-gateways?page=0&output=bincode',
      'v1/epoch/key-rotation-info',
      [
        'v1/nym-nodes/rewarded-set',
        'v2/unstable/nym-nodes/skimmed/entry-gateways?page=0',
        'v2/unstable/nym-nodes/skimmed/mixnodes/active?page=0',
      ],
      'v2/nym-nodes/described?page=0',
    ]);
    expect(gets.map((r) => r.accept).slice(0, 6), why).toEqual([
      ...Array<string>(5).fill('application/bincode'),
      'application/json',
    ]);
  });

  it('registers with localnet\'s entry gateway on WebSocket connection 1', () => {
    const entry = localnet!.status.gateways.find((g) => g.role === 'entry')!;
    expect(wsUrls.length, `websockets seen: ${JSON.stringify(wsUrls)}; ${transcript(1)}`).toBeGreaterThanOrEqual(2);
    expectEntryGateway(wsUrls[0], entry.ws_url, transcript(1));
    const c1 = controlMessages(1);
    const why = transcript(1);
    expect(c1.slice(0, 6), why).toEqual([
      '> supportedProtocol',
      '< supportedProtocol',
      '> handshakePayload',
      '< handshakePayload',
      '> handshakePayload',
      '< handshakePayload',
    ]);
    const register = firstEvent(1, (e) => e.kind === 'received' && e.type === 'register');
    expect(register?.text, why).toBeDefined();
    expect(JSON.parse(register!.text!), why).toMatchObject({ type: 'register', status: true });
    expect(firstEvent(1, (e) => e.kind === 'sent' && e.type === 'handshakeError'), why).toBeUndefined();
    expect(firstEvent(1, (e) => e.kind === 'close'), `connection 1 was not closed: ${why}`).toBeDefined();
    // the two directory stages sit on either side of the registration
    const opened1 = firstEvent(1, (e) => e.kind === 'open')!.t;
    const closed1 = firstEvent(1, (e) => e.kind === 'close')!.t;
    const gets = directoryRequests.filter((r) => r.method === 'GET');
    expect(gets[0]!.t).toBeLessThanOrEqual(opened1);
    expect(gets[1]!.t).toBeGreaterThanOrEqual(register!.t);
    timings['ws1_open_to_register_ms'] = register!.t - opened1;
    timings['ws1_closed_at'] = closed1;
  });

  it('authenticates and claims bandwidth on WebSocket connection 2', () => {
    const entry = localnet!.status.gateways.find((g) => g.role === 'entry')!;
    expectEntryGateway(wsUrls[1], entry.ws_url, transcript(2));
    const c2 = controlMessages(2);
    const why = transcript(2);
    expect(c2.slice(0, 6), why).toEqual([
      '> supportedProtocol',
      '< supportedProtocol',
      '> authenticateV2',
      '< authenticate',
      '> claimFreeTestnetBandwidth',
      '< bandwidth',
    ]);
    const auth = firstEvent(2, (e) => e.kind === 'received' && e.type === 'authenticate')!;
    expect(JSON.parse(auth.text!), why).toMatchObject({ status: true });
    const bandwidth = firstEvent(2, (e) => e.kind === 'received' && e.type === 'bandwidth')!;
    expect((JSON.parse(bandwidth.text!) as { available_total: number }).available_total).toBeGreaterThan(0);
    // then the data plane: Sphinx packets out, and something back
    const out = wsEvents.filter((e) => e.conn === 2 && e.kind === 'sent' && e.type === 'binary');
    const back = wsEvents.filter((e) => e.conn === 2 && e.kind === 'received' && e.type === 'binary');
    expect(out.length, `no binary frames sent on connection 2: ${why}`).toBeGreaterThan(0);
    expect(back.length, `no binary frames received on connection 2: ${why}`).toBeGreaterThan(0);
    // the IPR version lookup comes after the claim
    const described = directoryRequests.find((r) => r.path.startsWith('v2/nym-nodes/described'));
    expect(described?.t).toBeGreaterThanOrEqual(bandwidth.t);
    timings['ws2_open_to_bandwidth_ms'] = bandwidth.t - firstEvent(2, (e) => e.kind === 'open')!.t;
  });

  it('sends Sphinx packets through all three of localnet\'s mix layers', () => {
    const delta = (name: string, key: keyof NodeStats) => {
      const a = statsBefore.find((s) => s.node === name)?.[key];
      const b = statsAfterSetup.find((s) => s.node === name)?.[key];
      return typeof a === 'number' && typeof b === 'number' ? b - a : NaN;
    };
    const seen = `${JSON.stringify(statsAfterSetup)}\nsetup: ${JSON.stringify(setup)}`;
    for (const mix of ['mix1', 'mix2', 'mix3']) {
      expect(delta(mix, 'received'), `${mix}: ${seen}`).toBeGreaterThan(0);
      expect(delta(mix, 'rejected'), `${mix}: ${seen}`).toBe(0);
    }
    // loop cover comes back to the client through its own (entry) gateway
    expect(delta('entry', 'delivered'), seen).toBeGreaterThan(0);
    // the IPR handshake (LP Open in 3 fragments, then a Connect) reached the
    // exit gateway as final hop
    expect(delta('exit', 'delivered'), seen).toBeGreaterThanOrEqual(4);
    const ipr = consoleLines.find((c) => c.text.includes('[ipr] sending connect handshake'));
    expect(ipr, `the client never started the IPR handshake; console tail:\n${consoleTail()}`).toBeDefined();
    timings['ipr_handshake_sent_at'] = ipr!.t;
  });

  it('setupMixTunnel reaches getTunnelState() = ready', async (ctx) => {
    if (!realIpr) {
      ctx.skip(
        `localnet has no ipr_address yet; setup against an unheld IPR address ended: ` +
          JSON.stringify(setup),
      );
      return;
    }
    expect(setup!.ok, `setup failed: ${JSON.stringify(setup)}\nconsole tail:\n${consoleTail()}`).toBe(true);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let state: Outcome<unknown>;
    for (;;) {
      state = await browser!.page.evaluate(() => window.interop.state());
      if (state.ok && (state.value as { state?: string }).state === 'ready') break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(state.ok && state.value, `state: ${JSON.stringify(state)}`).toEqual({ state: 'ready' });
    timings['ready_seen_at'] = now();
    // localnet's exit advertises build 1.38.0, so the client sends a v10
    // Connect; an IPR that answered only v9 would cost a 15 s fallback
    const at = (text: string) => consoleLines.find((c) => c.text.includes(text))?.t;
    expect(at('v10 connect timed out'), 'the IPR did not answer the v10 Connect').toBeUndefined();
    const sent = at('[ipr] sending connect handshake');
    const ready = at('[smolmix] tunnel ready');
    if (sent !== undefined && ready !== undefined) timings['ipr_handshake_to_ready_ms'] = ready - sent;
  });

  it('mixFetch("http://192.0.2.10/small.txt") returns nginx\'s small.txt through localnet\'s exit', async (ctx) => {
    if (!realIpr) return ctx.skip('localnet has no ipr_address yet');
    expect(setup!.ok, `setup failed: ${JSON.stringify(setup)}`).toBe(true);
    const got: Outcome<FetchResult> = await browser!.page.evaluate(
      ([url, ms]) => window.interop.fetch(url, ms),
      [`http://${NGINX_IP}/small.txt`, FETCH_TIMEOUT_MS] as const,
    );
    expect(got.ok, `mixFetch failed: ${JSON.stringify(got)}\nconsole tail:\n${consoleTail()}`).toBe(true);
    if (!got.ok) return;
    timings['fetch_small_ms'] = got.ms;
    expect(got.value.status).toBe(200);
    expect(got.value.body).toBe(SMALL_TXT);
  });

  it('mixDNS("nginx.mixnet.test") answers 192.0.2.10 from localnet\'s dnsmasq', async (ctx) => {
    if (!realIpr) return ctx.skip('localnet has no ipr_address yet');
    expect(setup!.ok, `setup failed: ${JSON.stringify(setup)}`).toBe(true);
    const got: Outcome<string> = await browser!.page.evaluate(
      ([name, ms]) => window.interop.dns(name, ms),
      ['nginx.mixnet.test', DNS_TIMEOUT_MS] as const,
    );
    expect(got.ok, `mixDNS failed: ${JSON.stringify(got)}\nconsole tail:\n${consoleTail()}`).toBe(true);
    if (!got.ok) return;
    timings['dns_ms'] = got.ms;
    expect(got.value).toBe(NGINX_IP);
  });

  it('a MixWebSocket echo round-trips through localnet\'s ws echo server', async (ctx) => {
    if (!realIpr) return ctx.skip('localnet has no ipr_address yet');
    expect(setup!.ok, `setup failed: ${JSON.stringify(setup)}`).toBe(true);
    const message = `interop ${randomBytes(8).toString('hex')}`;
    const got: Outcome<string> = await browser!.page.evaluate(
      ([url, m, ms]) => window.interop.wsEcho(url, m, ms),
      ['ws://ws.mixnet.test/', message, WS_TIMEOUT_MS] as const,
    );
    expect(got.ok, `MixWebSocket failed: ${JSON.stringify(got)}\nconsole tail:\n${consoleTail()}`).toBe(true);
    if (!got.ok) return;
    timings['ws_echo_ms'] = got.ms;
    expect(got.value).toBe(message);
  });

  it('nothing left for the internet', () => {
    expect(blocked).toEqual([]);
  });
});
