// @nymproject/mix-dns: names resolved through the mixnet (UDP DNS through the
// exit, by the mix-tunnel worker).
import {
  disconnectMixTunnel,
  getMixTunnel,
  getTunnelState,
  getTunnelStats,
  onTunnelStateChange,
  setupMixTunnel,
} from '@nymproject/mix-tunnel';
import type { MixDnsAddress, SetupMixTunnelOpts } from '@nymproject/mix-tunnel';

export { setupMixTunnel, disconnectMixTunnel, getTunnelState, getTunnelStats, onTunnelStateChange };
export type { SetupMixTunnelOpts, MixDnsAddress };

/** Ours: what `mixDNS` takes beside the name. */
export interface MixDnsOptions {
  /** Every address (IPv4 and IPv6, with family and TTL) instead of one string. Default: `false`. */
  all?: boolean;
}

/**
 * Resolves a hostname through the mixnet. As published, gives one address as a string
 * (IPv4 first, e.g. `"93.184.216.34"`); with `{ all: true }`, every address with its
 * family and TTL. The tunnel must be set up (`setupMixTunnel()`).
 */
export function mixDNS(hostname: string, options?: MixDnsOptions & { all?: false }): Promise<string>;
export function mixDNS(hostname: string, options: MixDnsOptions & { all: true }): Promise<MixDnsAddress[]>;
export function mixDNS(hostname: string, options?: MixDnsOptions): Promise<string | MixDnsAddress[]>;
export async function mixDNS(hostname: string, options?: MixDnsOptions): Promise<string | MixDnsAddress[]> {
  if (typeof hostname !== 'string') throw new TypeError('mixDNS: the hostname must be a string');
  const tunnel = await getMixTunnel();
  return options?.all ? tunnel.mixResolve(hostname) : tunnel.mixDNS(hostname);
}
