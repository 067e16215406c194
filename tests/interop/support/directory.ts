// Keeps a browser context on loopback: the published client's directory
// requests (it has no directory option) are answered from localnet's
// directory by route interception, requests for loopback pass, and
// everything else is aborted and reported. Playwright cannot route a
// dedicated worker's WebSockets (the gateway connections among them): only
// the page's own are closed here; callers watch the worker's.
import type { BrowserContext, Request, Route } from 'playwright-core';

/** The one nym-api base URL the published client knows (topology-and-api.md A1). */
export const NYM_API = 'https://validator.nymtech.net/api/';
/** localnet names its gateways localhost; its status line says 127.0.0.1 */
export const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether a request may go out as it is: to loopback, or never leaving the browser. */
export function staysLocal(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'blob:' || u.protocol === 'data:' || LOOPBACK.has(u.hostname);
}

export interface DirectoryAnswer {
  status: number;
  /** the answer's content-type */
  answerType: string;
  error?: string;
}

export interface ConfineHooks {
  /** A nym-api request as it starts; `answer` settles once it has been answered. */
  onDirectoryRequest?(request: Request, answer: Promise<DirectoryAnswer>): void;
  /** What was stopped for not being for loopback. */
  onBlocked(what: string): void;
}

/** What localnet's directory said to a nym-api request, ready to hand back to the browser. */
export interface FetchedAnswer extends DirectoryAnswer {
  headers: Record<string, string>;
  body: Buffer;
}

/** Asks localnet's directory what nym-api would answer to a request the browser made
 * (method and the headers that matter to the answer and to CORS); a 502 if it cannot. */
export async function fetchDirectoryAnswer(
  url: string,
  method: string,
  headers: Record<string, string>,
  directoryUrl: string,
): Promise<FetchedAnswer> {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
  try {
    const forwarded: Record<string, string> = {};
    for (const name of ['accept', 'content-type', 'origin', 'access-control-request-method', 'access-control-request-headers']) {
      if (lower[name]) forwarded[name] = lower[name];
    }
    const res = await fetch(directoryUrl + url.slice(NYM_API.length), {
      method,
      headers: forwarded,
      signal: AbortSignal.timeout(10_000),
    });
    const body = Buffer.from(await res.arrayBuffer());
    const answer: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      if (name !== 'content-length' && name !== 'connection' && name !== 'keep-alive') answer[name] = value;
    });
    return { status: res.status, answerType: res.headers.get('content-type') ?? '', headers: answer, body };
  } catch (e) {
    const body = Buffer.from(`localnet directory: ${String(e)}`);
    return { status: 502, answerType: '', error: String(e), headers: { 'content-type': 'text/plain' }, body };
  }
}

async function answerFromLocalnet(route: Route, request: Request, directoryUrl: string): Promise<DirectoryAnswer> {
  const { headers, body, ...answer } = await fetchDirectoryAnswer(request.url(), request.method(), request.headers(), directoryUrl);
  await route.fulfill({ status: answer.status, headers, body });
  return answer;
}

export async function confineToLocalnet(context: BrowserContext, directoryUrl: string, hooks: ConfineHooks): Promise<void> {
  await context.route('**/*', async (route, request) => {
    const url = request.url();
    if (url.startsWith(NYM_API)) {
      const answer = answerFromLocalnet(route, request, directoryUrl);
      hooks.onDirectoryRequest?.(request, answer);
      await answer;
      return;
    }
    if (staysLocal(url)) return route.continue();
    hooks.onBlocked(`${request.method()} ${url}`);
    return route.abort('blockedbyclient');
  });
  await context.routeWebSocket(
    (u) => !LOOPBACK.has(u.hostname),
    (ws) => {
      hooks.onBlocked(`WebSocket ${ws.url()}`);
      void ws.close({ code: 1008, reason: 'no internet here' });
    },
  );
}
