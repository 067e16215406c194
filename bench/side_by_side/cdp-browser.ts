// Debian's Chromium driven over its DevTools pipe, without Playwright.
//
// Playwright enables the Network domain on every worker it attaches to, and
// Chromium then reports each WebSocket frame to it: base64 over the pipe,
// parsed in node. During a download with cover traffic off, that cost about
// 300 ms of CPU a second on this 2-core machine (node, Chromium's main
// threads and DevTools pipe, and the worker itself), CPU that localnet and the
// clients are short of, and that no user's browser spends. So the bench talks
// to Chromium itself, with the Fetch and Runtime domains only: it loads the
// page, evaluates calls in it, answers the published client's directory
// requests from localnet (as tests/interop/support/directory.ts does through
// Playwright), and holds each worker at its start for whoever follows it.
//
// Confinement to loopback: Fetch stops every HTTP request that is not for
// loopback, and the host resolver maps every other name to nothing, which
// also covers WebSockets (Fetch does not see them).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CHROMIUM_ARGS } from '../../tests/e2e/support/browser';
import { NYM_API, fetchDirectoryAnswer, staysLocal } from '../../tests/interop/support/directory';

type Params = Record<string, unknown>;

interface Message {
  id?: number;
  method?: string;
  params?: Params;
  result?: Params;
  error?: { message: string };
  sessionId?: string;
}

/** What Playwright adds to CHROMIUM_ARGS that changes how Chromium schedules its work, so
 * that the bench's browser runs as the e2e tests' does: no field trials, no throttled timers or
 * backgrounded renderers, no IPC flooding protection, shared memory in /tmp. */
const PLAYWRIGHT_SCHEDULING_ARGS = [
  '--disable-field-trial-config',
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding',
  '--disable-ipc-flooding-protection',
  '--disable-dev-shm-usage',
  '--disable-hang-monitor',
  '--disable-extensions',
  '--disable-features=OptimizationHints,PaintHolding,MediaRouter',
];

/** How long a DevTools command may take unless its caller says otherwise. */
const COMMAND_TIMEOUT_MS = 10_000;
/** How long Chromium has to close before it is killed. */
const CLOSE_TIMEOUT_MS = 5_000;

/** One attached target (the page, or a worker): commands go to it. */
export interface CdpSession {
  send(method: string, params?: Params, timeoutMs?: number): Promise<Params>;
  /** true once the target is gone */
  readonly detached: boolean;
}

/** The DevTools protocol over Chromium's pipe: JSON messages, each ended by a NUL byte. */
class PipeConnection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(r: Params): void; reject(e: Error): void }>();
  private readonly handlers = new Map<string, Array<(params: Params, sessionId: string | undefined) => void>>();
  private closedBecause: string | undefined;

  constructor(
    private readonly toBrowser: Writable,
    fromBrowser: Readable,
  ) {
    let partial = Buffer.alloc(0);
    fromBrowser.on('data', (chunk: Buffer) => {
      partial = Buffer.concat([partial, chunk]);
      for (let end = partial.indexOf(0); end >= 0; end = partial.indexOf(0)) {
        this.dispatch(JSON.parse(partial.subarray(0, end).toString('utf8')) as Message);
        partial = partial.subarray(end + 1);
      }
    });
    fromBrowser.on('close', () => this.fail('Chromium closed its DevTools pipe'));
    toBrowser.on('error', (e) => this.fail(`DevTools pipe: ${e.message}`));
  }

  send(method: string, params: Params = {}, sessionId?: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<Params> {
    if (this.closedBecause) return Promise.reject(new Error(`${method}: ${this.closedBecause}`));
    const id = this.nextId++;
    return new Promise<Params>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  }

  on(method: string, handler: (params: Params, sessionId: string | undefined) => void): void {
    this.handlers.set(method, [...(this.handlers.get(method) ?? []), handler]);
  }

  private dispatch(m: Message): void {
    if (m.id !== undefined) {
      const waiter = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) waiter?.reject(new Error(m.error.message));
      else waiter?.resolve(m.result ?? {});
      return;
    }
    for (const handler of this.handlers.get(m.method ?? '') ?? []) handler(m.params ?? {}, m.sessionId);
  }

  private fail(why: string): void {
    this.closedBecause ??= why;
    for (const waiter of this.pending.values()) waiter.reject(new Error(why));
    this.pending.clear();
  }
}

export interface BenchBrowserHooks {
  directoryUrl: string;
  /** A nym-api request, as it is stopped to be answered. */
  onDirectoryRequest(): void;
  /** What was stopped for not being for loopback. */
  onBlocked(what: string): void;
  /** A new worker, held before its script runs until the promise settles. */
  onWorker(worker: CdpSession): Promise<void>;
}

export interface BenchBrowser {
  /** Loads a URL in the page and waits for its load event. */
  navigate(url: string, timeoutMs: number): Promise<void>;
  /** The value of an expression in the page, awaited if it is a promise. */
  evaluate<T>(expression: string, timeoutMs: number): Promise<T>;
  close(): Promise<void>;
}

interface PausedRequest {
  requestId: string;
  request: { url: string; method: string; headers: Record<string, string> };
}

export async function launchBenchBrowser(hooks: BenchBrowserHooks): Promise<BenchBrowser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'mixnet-bench-profile-'));
  const chromium = spawn(
    process.env['CHROMIUM'] || '/usr/bin/chromium',
    [
      ...CHROMIUM_ARGS,
      ...PLAYWRIGHT_SCHEDULING_ARGS,
      `--user-data-dir=${profile}`,
      '--remote-debugging-pipe',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] },
  );
  // 'error' instead of 'exit' when it could not be started
  const exited = new Promise<void>((resolve) => chromium.once('exit', () => resolve()).once('error', () => resolve()));
  const connection = new PipeConnection(chromium.stdio[3] as Writable, chromium.stdio[4] as Readable);
  const detachedSessions = new Set<string>();
  const session = (id: string): CdpSession => ({
    send: (method, params, timeoutMs) => connection.send(method, params, id, timeoutMs),
    get detached() {
      return detachedSessions.has(id);
    },
  });

  async function close(): Promise<void> {
    await connection.send('Browser.close', {}, undefined, CLOSE_TIMEOUT_MS).catch(() => {});
    const killer = setTimeout(() => chromium.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    await exited;
    clearTimeout(killer);
    await rm(profile, { recursive: true, force: true });
  }

  connection.on('Target.detachedFromTarget', (p) => detachedSessions.add(String(p['sessionId'])));
  connection.on('Fetch.requestPaused', (p, sessionId) => {
    const { requestId, request } = p as unknown as PausedRequest;
    const target = session(sessionId ?? '');
    void (async () => {
      if (request.url.startsWith(NYM_API)) {
        hooks.onDirectoryRequest();
        const answer = await fetchDirectoryAnswer(request.url, request.method, request.headers, hooks.directoryUrl);
        await target.send('Fetch.fulfillRequest', {
          requestId,
          responseCode: answer.status,
          responseHeaders: Object.entries(answer.headers).map(([name, value]) => ({ name, value })),
          body: answer.body.toString('base64'),
        });
        return;
      }
      if (staysLocal(request.url)) {
        await target.send('Fetch.continueRequest', { requestId });
        return;
      }
      hooks.onBlocked(`${request.method} ${request.url}`);
      await target.send('Fetch.failRequest', { requestId, errorReason: 'BlockedByClient' });
    })().catch(() => {}); // the target went away meanwhile
  });

  // A dedicated worker has no Fetch domain of its own: its requests are stopped by its page's.
  connection.on('Target.attachedToTarget', (p) => {
    const info = p['targetInfo'] as { type: string };
    const child = session(String(p['sessionId']));
    void (async () => {
      try {
        if (info.type === 'worker') await hooks.onWorker(child);
      } finally {
        await child.send('Runtime.runIfWaitingForDebugger');
      }
    })().catch(() => {}); // it ended before it ran
  });

  try {
    const { targetId } = (await connection.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await connection.send('Target.attachToTarget', { targetId, flatten: true })) as {
      sessionId: string;
    };
    const page = session(sessionId);
    await page.send('Page.enable');
    await page.send('Fetch.enable', { patterns: [{ urlPattern: '*' }] });
    await page.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true });
    const loads: Array<() => void> = [];
    connection.on('Page.loadEventFired', (_p, from) => {
      if (from === sessionId) loads.splice(0).forEach((loaded) => loaded());
    });
    return {
      async navigate(url, timeoutMs) {
        const loaded = new Promise<void>((resolve) => loads.push(resolve));
        const nav = (await page.send('Page.navigate', { url }, timeoutMs)) as { errorText?: string };
        if (nav.errorText) throw new Error(`${url}: ${nav.errorText}`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          loaded,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`${url}: not loaded after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]).finally(() => clearTimeout(timer));
      },
      async evaluate<T>(expression: string, timeoutMs: number): Promise<T> {
        const r = (await page.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, timeoutMs)) as {
          result: { value?: unknown };
          exceptionDetails?: { text: string; exception?: { description?: string } };
        };
        if (r.exceptionDetails) {
          throw new Error(`${expression}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
        }
        return r.result.value as T;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
