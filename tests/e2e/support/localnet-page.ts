// What every e2e file starts with: a localnet, one page script bundled and
// served on loopback, and Chromium on that page; and the tunnel options
// that point our packages at that localnet.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startLocalnet, type Localnet } from '../../interop/support/localnet';
import { launchChromium, type TestBrowser } from './browser';
import { REPO_ROOT, bundle } from './bundle';
import { serveDirectory } from './static-server';

/** The setup options every test against localnet needs: its directory, its entry gateway
 * (plain ws: the test is about the tunnel, not the gateway's TLS) and its test CA. */
export interface LocalnetTunnelOptions {
  nymApiUrl: string;
  preferredGateway: string;
  forceTls: false;
  extraTrustAnchors: string;
}

export interface LocalnetPage {
  localnet: Localnet;
  browser: TestBrowser;
  page: Page;
  tunnelOptions: LocalnetTunnelOptions;
  /** Loads the page afresh (a new worker, a new wasm) and waits until its script ran. */
  load(): Promise<void>;
  /** Stops all of it, the last started first. */
  close(): Promise<void>;
}

export interface PageServing {
  /** Response headers for every file served (a Content-Security-Policy, say). */
  headers?: Record<string, string>;
  /** Puts more files beside the page before it is served. */
  addFiles?: (outdir: string) => Promise<void>;
}

/** The setup options that point our packages at a running localnet. */
export async function localnetTunnelOptions(localnet: Localnet): Promise<LocalnetTunnelOptions> {
  const entry = localnet.status.gateways.find((g) => g.role === 'entry')!;
  return {
    nymApiUrl: localnet.status.directory_url,
    preferredGateway: entry.identity,
    forceTls: false,
    extraTrustAnchors: await readFile(localnet.status.test_ca_pem!, 'utf8'),
  };
}

/** Starts localnet, bundles `script` (a page script that sets `data-ready` on the body
 * when it has run) into a page named `name`, serves it and loads it in Chromium. */
export async function startLocalnetPage(name: string, script: string, serving: PageServing = {}): Promise<LocalnetPage> {
  const stops: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    const localnet = await startLocalnet(path.join(REPO_ROOT, 'build/native/bin/localnet'));
    stops.push(() => localnet.stop());
    const tunnelOptions = await localnetTunnelOptions(localnet);

    const outdir = await mkdtemp(path.join(os.tmpdir(), `mixnet-e2e-${name}-`));
    stops.push(() => rm(outdir, { recursive: true, force: true }));
    await bundle({ [`${name}.page`]: script }, outdir);
    await writeFile(
      path.join(outdir, 'index.html'),
      `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>${name}</title>` +
        `<body><script type="module" src="./${name}.page.js"></script></body>\n`,
    );
    await serving.addFiles?.(outdir);
    const server = await serveDirectory(outdir, serving.headers);
    stops.push(() => server.close());

    const browser = await launchChromium();
    stops.push(() => browser.close());
    const load = async (): Promise<void> => {
      await browser.page.goto(server.url);
      await browser.page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
    };
    await load();
    return { localnet, browser, page: browser.page, tunnelOptions, load, close };
  } catch (e) {
    await close();
    throw e;
  }
}
