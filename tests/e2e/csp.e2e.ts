// A page with a strict Content-Security-Policy: no blob: workers, no inline
// script, wasm allowed to compile. mix-tunnel's worker then comes from a
// file (dist/worker.js with mixcore-split.wasm beside it), and the tunnel
// works as with the inlined one.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorkerFiles } from '../../packages/mix-tunnel/build';
import { startLocalnetPage, type LocalnetPage } from './support/localnet-page';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/* connect-src: localnet's directory and gateways, on loopback by address and by name */
const STRICT_CSP =
  "default-src 'self'; img-src data:; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
  "connect-src 'self' http://127.0.0.1:* ws://127.0.0.1:* http://localhost:* ws://localhost:*";

describe('mix-tunnel under a strict Content-Security-Policy', () => {
  let harness: LocalnetPage | undefined;

  beforeAll(async () => {
    harness = await startLocalnetPage('csp', path.join(HERE, 'csp.page.ts'), {
      headers: { 'content-security-policy': STRICT_CSP },
      addFiles: buildWorkerFiles,
    });
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('sets up and fetches with the worker loaded from a file', async () => {
    const page = harness!.page;
    const opts = { ...harness!.tunnelOptions, clientId: `e2e-csp-${Date.now()}` };
    await page.evaluate((o) => window.setupMixTunnel(o), opts);
    const text = await page.evaluate(async () => (await window.mixFetch('https://nginx.mixnet.test/small.txt')).text());
    expect(text).toBe('hello from the localnet nginx\n');
  });

  it('page and worker reported no errors (no CSP violation)', () => {
    expect(harness!.browser.problems).toEqual([]);
  });
});
