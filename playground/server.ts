// The playground's server: starts a localnet, bundles the page (the worker
// and the wasm inlined) into a temp directory with index.html and a
// config.json carrying localnet's settings, and serves it on 127.0.0.1.
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalnet, type Localnet } from '../tests/interop/support/localnet';
import { REPO_ROOT, bundle } from '../tests/e2e/support/bundle';
import { localnetTunnelOptions } from '../tests/e2e/support/localnet-page';
import { serveDirectory, type StaticServer } from '../tests/e2e/support/static-server';
import type { PlaygroundConfig, PlaygroundNetwork } from './config';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LOCALNET_BINARY = path.join(REPO_ROOT, 'build/native/bin/localnet');

export interface Playground {
  /** The page: http://127.0.0.1:<port>/ */
  url: string;
  localnet: Localnet;
  /** Stops the server and localnet (by its PID), removes the bundle. */
  close(): Promise<void>;
}

async function localnetNetwork(localnet: Localnet): Promise<PlaygroundNetwork> {
  return {
    name: 'localnet',
    tunnelOptions: await localnetTunnelOptions(localnet),
    fetchUrl: 'https://nginx.mixnet.test/small.txt',
    dnsName: 'nginx.mixnet.test',
    webSocketUrl: 'wss://ws.mixnet.test/',
  };
}

export async function startPlayground(): Promise<Playground> {
  const site = await mkdtemp(path.join(os.tmpdir(), 'mixnet-playground-'));
  let localnet: Localnet | undefined;
  let server: StaticServer | undefined;
  const close = async (): Promise<void> => {
    await server?.close();
    await localnet?.stop();
    await rm(site, { recursive: true, force: true });
  };
  try {
    localnet = await startLocalnet(LOCALNET_BINARY);
    const config: PlaygroundConfig = { networks: [await localnetNetwork(localnet)] };
    await bundle({ page: path.join(HERE, 'page.ts') }, site);
    await copyFile(path.join(HERE, 'index.html'), path.join(site, 'index.html'));
    await writeFile(path.join(site, 'config.json'), JSON.stringify(config));
    server = await serveDirectory(site);
    return { url: server.url, localnet, close };
  } catch (e) {
    await close();
    throw e;
  }
}
