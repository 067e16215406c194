import { beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import type { MixDnsAddress } from '@nymproject/mix-tunnel';

const h = vi.hoisted(() => ({ worker: undefined as unknown }));
vi.mock('@nymproject/mix-tunnel', () => ({
  getMixTunnel: async () => h.worker,
  setupMixTunnel: async () => {},
  disconnectMixTunnel: async () => {},
  getTunnelState: async () => ({ state: 'ready' }),
  getTunnelStats: async () => ({ state: 'ready', reason: null }),
  onTunnelStateChange: async () => {},
}));

import * as dns from './index';
import { mixDNS } from './index';

const ADDRESSES: MixDnsAddress[] = [
  { address: '192.0.2.10', family: 4, ttl: 300 },
  { address: '2001:db8::1', family: 6, ttl: 60 },
];

let worker: { mixDNS: ReturnType<typeof vi.fn>; mixResolve: ReturnType<typeof vi.fn> };
beforeEach(() => {
  worker = {
    mixDNS: vi.fn(async (name: string) => (name === 'missing.example' ? Promise.reject(new Error('DNS error: NXDOMAIN')) : '192.0.2.10')),
    mixResolve: vi.fn(async () => ADDRESSES),
  };
  h.worker = worker;
});

describe('mixDNS', () => {
  it('gives one address string, as published', async () => {
    const a = await mixDNS('example.com');
    expect(a).toBe('192.0.2.10');
    expect(worker.mixDNS).toHaveBeenCalledWith('example.com');
    expect(worker.mixResolve).not.toHaveBeenCalled();
    expectTypeOf(mixDNS('x')).resolves.toEqualTypeOf<string>();
  });

  it('{ all: false } is the published form', async () => {
    expect(await mixDNS('example.com', { all: false })).toBe('192.0.2.10');
    expect(await mixDNS('example.com', {})).toBe('192.0.2.10');
    expectTypeOf(mixDNS('x', { all: false })).resolves.toEqualTypeOf<string>();
  });

  it('{ all: true } gives every address with family and TTL', async () => {
    const all = await mixDNS('example.com', { all: true });
    expect(all).toEqual(ADDRESSES);
    expect(worker.mixResolve).toHaveBeenCalledWith('example.com');
    expect(worker.mixDNS).not.toHaveBeenCalled();
    expectTypeOf(mixDNS('x', { all: true })).resolves.toEqualTypeOf<MixDnsAddress[]>();
  });

  it("passes the worker's failure on", async () => {
    await expect(mixDNS('missing.example')).rejects.toThrow('NXDOMAIN');
  });

  it('rejects a hostname that is not a string', async () => {
    await expect(mixDNS(42 as unknown as string)).rejects.toThrow(TypeError);
  });

  it('re-exports the tunnel lifecycle as published', () => {
    for (const name of ['setupMixTunnel', 'disconnectMixTunnel', 'getTunnelState'] as const) {
      expect(typeof dns[name]).toBe('function');
    }
  });
});
