// The playground's scripted tour, as a person would take it: set up the
// tunnel on localnet, fetch a file, resolve a name, echo a WebSocket message,
// then read the live figures. It works the page's own controls and reads the
// page's own elements; `make demo` and tests/e2e/playground.e2e.ts run it.
import type { Page } from 'playwright-core';
import { launchChromium } from '../tests/e2e/support/browser';

const TOUR_FETCH_URL = 'https://nginx.mixnet.test/small.txt';
const TOUR_DNS_NAME = 'nginx.mixnet.test';
const TOUR_WEBSOCKET_URL = 'wss://ws.mixnet.test/';
const TOUR_WEBSOCKET_MESSAGE = 'hello through the mixnet';

const SETUP_TIMEOUT_MS = 90_000;
const STEP_TIMEOUT_MS = 60_000;
/** Long enough for two refreshes of the figures, so that they show rates. */
const FIGURES_SETTLE_MS = 2_500;

export interface TourStep {
  name: 'setup' | 'fetch' | 'dns' | 'websocket' | 'figures';
  ok: boolean;
  /** What the page showed, on one line. */
  summary: string;
}

export interface TourResult {
  /** Chromium's user agent, which names its version. */
  userAgent: string;
  steps: TourStep[];
  /** Console errors, page errors and crashes in Chromium. */
  problems: string[];
}

const text = async (page: Page, selector: string): Promise<string> =>
  ((await page.textContent(selector)) ?? '').trim();

/** Waits for a panel's section to leave busy; gives whether it ended ok. */
async function panelSucceeded(page: Page, sectionId: string, timeoutMs: number): Promise<boolean> {
  const done = await page.waitForSelector(`#${sectionId}[data-outcome="ok"], #${sectionId}[data-outcome="error"]`, {
    state: 'attached',
    timeout: timeoutMs,
  });
  return (await done.getAttribute('data-outcome')) === 'ok';
}

async function setupStep(page: Page): Promise<TourStep> {
  await page.selectOption('#network', 'localnet');
  await page.click('#setup');
  const ok = await panelSucceeded(page, 'tunnel', SETUP_TIMEOUT_MS);
  const summary = ok
    ? `${await text(page, '#figure-state')} in ${await text(page, '#figure-time-to-ready')}`
    : `failed: ${await text(page, '#setup-error')}`;
  return { name: 'setup', ok, summary };
}

async function fetchStep(page: Page): Promise<TourStep> {
  await page.selectOption('#fetch-method', 'GET');
  await page.fill('#fetch-url', TOUR_FETCH_URL);
  await page.click('#fetch-send');
  const ok = (await panelSucceeded(page, 'fetch', STEP_TIMEOUT_MS)) && (await text(page, '#fetch-status')).startsWith('200');
  const parts = ['#fetch-status', '#fetch-size', '#fetch-timing'];
  const shown = (await Promise.all(parts.map((s) => text(page, s)))).filter(Boolean).join(', ');
  const body = await text(page, '#fetch-response');
  return { name: 'fetch', ok, summary: `GET ${TOUR_FETCH_URL}: ${shown}${body ? `: ${JSON.stringify(body)}` : ''}` };
}

async function dnsStep(page: Page): Promise<TourStep> {
  await page.fill('#dns-name', TOUR_DNS_NAME);
  await page.click('#dns-resolve');
  const ok = await panelSucceeded(page, 'dns', STEP_TIMEOUT_MS);
  const rows = await page.$$eval('#dns-addresses tr', (trs) =>
    trs.map((tr) => Array.from(tr.children, (cell) => cell.textContent ?? '').join(' ')),
  );
  return {
    name: 'dns',
    ok: ok && rows.length > 0,
    summary: `${TOUR_DNS_NAME}: ${[...rows, await text(page, '#dns-summary')].join('; ')}`,
  };
}

async function webSocketStep(page: Page): Promise<TourStep> {
  const log = (): Promise<string[]> => page.$$eval('#ws-log li', (items) => items.map((li) => li.textContent ?? ''));
  const wait = (selector: string): Promise<unknown> =>
    page.waitForSelector(selector, { state: 'attached', timeout: STEP_TIMEOUT_MS });
  await page.fill('#ws-url', TOUR_WEBSOCKET_URL);
  await page.click('#ws-connect');
  await wait('#websocket[data-state="open"], #websocket[data-state="closed"]');
  await page.fill('#ws-message', TOUR_WEBSOCKET_MESSAGE);
  await page.click('#ws-send');
  await wait('#ws-log li[data-kind="received"]');
  await page.click('#ws-close');
  await wait('#websocket[data-state="closed"]');
  const lines = await log();
  const echoed = lines.some((l) => l.endsWith(`received: ${TOUR_WEBSOCKET_MESSAGE}`));
  return { name: 'websocket', ok: echoed, summary: `${TOUR_WEBSOCKET_URL}: ${lines.join('; ')}` };
}

async function figuresStep(page: Page): Promise<TourStep> {
  await page.waitForTimeout(FIGURES_SETTLE_MS);
  const figure = (id: string): Promise<string> => text(page, `#figure-${id}`);
  const state = await figure('state');
  return {
    name: 'figures',
    ok: state === 'ready',
    summary:
      `state ${state}, real packets ${await figure('real-packets')}, cover packets ${await figure('cover-packets')}, ` +
      `in ${await figure('bytes-in')}, out ${await figure('bytes-out')}, ` +
      `retransmissions ${await figure('retransmissions')}, address and gateway ${await figure('address')}`,
  };
}

/** A step that threw (a timeout waiting for the page) failed; the tour goes on. */
async function attempt(name: TourStep['name'], step: (page: Page) => Promise<TourStep>, page: Page): Promise<TourStep> {
  try {
    return await step(page);
  } catch (e) {
    return { name, ok: false, summary: (e as Error).message.split('\n')[0]! };
  }
}

/** Takes the tour on the playground at url; stops after a failed setup, since every other step needs the tunnel. */
async function takeTour(page: Page, url: string, screenshotPath?: string): Promise<TourStep[]> {
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
  const steps = [await attempt('setup', setupStep, page)];
  if (steps[0]!.ok) {
    steps.push(await attempt('fetch', fetchStep, page));
    steps.push(await attempt('dns', dnsStep, page));
    steps.push(await attempt('websocket', webSocketStep, page));
    steps.push(await attempt('figures', figuresStep, page));
  }
  if (screenshotPath) await page.screenshot({ path: screenshotPath, fullPage: true });
  return steps;
}

/** The tour in a fresh headless Chromium, closed afterwards. */
export async function takeTourInChromium(url: string, screenshotPath?: string): Promise<TourResult> {
  const browser = await launchChromium();
  try {
    const steps = await takeTour(browser.page, url, screenshotPath);
    const userAgent = await browser.page.evaluate(() => navigator.userAgent);
    return { userAgent, steps, problems: browser.problems };
  } finally {
    await browser.close();
  }
}
