// The stored keys and gateway registration (IndexedDB, records per
// clientId), sealed with storagePassphrase: a returning client, in the same
// page or after a reload, authenticates with what it stored instead of
// registering again; a store opened with the wrong passphrase, or the other
// way than it was made, fails the setup with a reason.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeStats } from '../interop/support/localnet';
import { startLocalnetPage, type LocalnetPage } from './support/localnet-page';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PASSPHRASE = 'correct horse battery staple';

describe('stored keys, sealed with storagePassphrase, in Chromium against localnet', () => {
  let harness: LocalnetPage | undefined;
  let sealedClient: Record<string, unknown> = {};
  let entryIdentity = '';
  let exitIdentity = '';

  beforeAll(async () => {
    harness = await startLocalnetPage('storage', path.join(HERE, 'tunnel.page.ts'));
    const { gateways, ipr_address } = harness.localnet.status;
    entryIdentity = harness.tunnelOptions.preferredGateway;
    exitIdentity = gateways.find((g) => g.role === 'exit')!.identity;
    sealedClient = {
      ...harness.tunnelOptions,
      preferredIpr: ipr_address,
      disablePoissonTraffic: true,
      clientId: `e2e-sealed-${Date.now()}`,
      storagePassphrase: PASSPHRASE,
    };
  });

  afterAll(async () => {
    await harness?.close();
  });

  async function entryGatewayStats(): Promise<NodeStats> {
    return (await harness!.localnet.stats()).find((n) => n.node === 'entry')!;
  }

  const setup = (opts: Record<string, unknown>) => harness!.page.evaluate((o) => window.tunnel.setup(o), opts);
  const disconnect = () => harness!.page.evaluate(() => window.tunnel.disconnect());

  /** A setup of the sealed client that must come back to its stored registration: the
   * preferred gateway given is another one, which only a fresh registration would use. */
  async function expectStoredRegistrationReused(): Promise<void> {
    const before = await entryGatewayStats();
    expect(await setup({ ...sealedClient, preferredGateway: exitIdentity })).toMatchObject({ ok: true });
    const stats = await harness!.page.evaluate(() => window.tunnel.stats());
    expect(stats).toMatchObject({ state: 'ready', gateway: entryIdentity });
    const after = await entryGatewayStats();
    expect(after.registrations).toBe(before.registrations);
    expect(after.authentications).toBe(before.authentications! + 1);
  }

  it('a first setup with a passphrase registers with the entry gateway', async () => {
    const before = await entryGatewayStats();
    expect(await setup(sealedClient)).toMatchObject({ ok: true });
    expect(await harness!.page.evaluate(() => window.tunnel.stats())).toMatchObject({
      state: 'ready',
      gateway: entryIdentity,
    });
    expect((await entryGatewayStats()).registrations).toBe(before.registrations! + 1);
  });

  it('after a disconnect, the same passphrase opens the store: same gateway, no new registration', async () => {
    await disconnect();
    await expectStoredRegistrationReused();
  });

  it('a wrong passphrase fails the setup, saying so', async () => {
    await disconnect();
    const r = await setup({ ...sealedClient, storagePassphrase: 'not the passphrase' });
    expect(r).toMatchObject({ ok: false, error: 'storage: wrong storagePassphrase' });
    expect((await harness!.page.evaluate(() => window.tunnel.state())).state).not.toBe('ready');
  });

  it('no passphrase for a sealed store fails the setup, asking for it', async () => {
    const r = await setup({ ...sealedClient, storagePassphrase: undefined });
    expect(r).toMatchObject({ ok: false });
    expect(r.ok || r.error).toMatch(/sealed: give its storagePassphrase/);
  });

  it('a passphrase for a store made without one fails the setup, rather than mixing the two', async () => {
    const unsealed = { ...sealedClient, clientId: `e2e-unsealed-${Date.now()}`, storagePassphrase: undefined };
    expect(await setup(unsealed)).toMatchObject({ ok: true });
    await disconnect();
    const r = await setup({ ...unsealed, storagePassphrase: PASSPHRASE });
    expect(r).toMatchObject({ ok: false });
    expect(r.ok || r.error).toMatch(/not sealed, but a passphrase was given/);
  });

  it('after a reload, the same clientId and passphrase reach ready from the stored keys', async () => {
    await harness!.load();
    const directory = harness!.tunnelOptions.nymApiUrl.replace(/\/+$/, '');
    const requested: string[] = [];
    const record = (r: Request) => {
      if (r.url().startsWith(directory)) requested.push(r.url().slice(directory.length));
    };
    harness!.page.on('request', record);
    try {
      await expectStoredRegistrationReused();
    } finally {
      harness!.page.off('request', record);
    }
    // the page's first setup asked for the topology while the worker started; the core took
    // those answers instead of asking again, then asked for the exit's release itself
    expect(requested.sort()).toEqual([
      '/v1/nym-nodes/rewarded-set',
      '/v2/nym-nodes/described',
      '/v2/unstable/nym-nodes/skimmed/entry-gateways',
      '/v2/unstable/nym-nodes/skimmed/mixnodes/active',
    ]);
  });

  it('page and worker reported no errors', () => {
    expect(harness!.browser.problems).toEqual([]);
  });
});
