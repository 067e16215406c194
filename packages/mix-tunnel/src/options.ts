// setupMixTunnel's options: checked by name and type (a typo is a
// TypeError naming it, where the published package ignored it), with
// the published defaults filled in.
import type { SetupMixTunnelOpts } from './types';

type Kind = 'string' | 'boolean' | 'u32' | 'u8' | 'socket';
const OPTION_KINDS: Record<keyof SetupMixTunnelOpts, Kind> = {
  preferredIpr: 'string',
  preferredGateway: 'string',
  clientId: 'string',
  forceTls: 'boolean',
  disablePoissonTraffic: 'boolean',
  disableCoverTraffic: 'boolean',
  openReplySurbs: 'u32',
  dataReplySurbs: 'u32',
  primaryDns: 'socket',
  fallbackDns: 'socket',
  storagePassphrase: 'string',
  connectTimeoutMs: 'u32',
  dnsTimeoutMs: 'u32',
  tcpKeepaliveMs: 'u32',
  tcpBufferSize: 'u32',
  maxRedirects: 'u8',
  debug: 'boolean',
  nymApiUrl: 'string',
  extraTrustAnchors: 'string',
};

/** The options that have a default, with it. */
export interface DefaultedOptions {
  clientId: string;
  forceTls: boolean;
  disablePoissonTraffic: boolean;
  disableCoverTraffic: boolean;
  openReplySurbs: number;
  dataReplySurbs: number;
  primaryDns: string;
  fallbackDns: string;
  connectTimeoutMs: number;
  dnsTimeoutMs: number;
  tcpKeepaliveMs: number;
  tcpBufferSize: number;
  maxRedirects: number;
  debug: boolean;
  nymApiUrl: string;
}

export const DEFAULT_OPTIONS: Readonly<DefaultedOptions> = {
  clientId: 'smolmix-wasm',
  forceTls: true,
  disablePoissonTraffic: false,
  disableCoverTraffic: false,
  openReplySurbs: 10,
  dataReplySurbs: 2,
  primaryDns: '8.8.8.8:53',
  fallbackDns: '1.1.1.1:53',
  connectTimeoutMs: 60000,
  dnsTimeoutMs: 3000,
  tcpKeepaliveMs: 10000,
  // ours: the published 65536 holds a download to 64 KB per mixnet round trip
  tcpBufferSize: 262144,
  maxRedirects: 5,
  debug: false,
  nymApiUrl: 'https://validator.nymtech.net/api/',
};

export type ResolvedOptions = SetupMixTunnelOpts & DefaultedOptions;

const SOCKET_ADDRESS = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}:\d{1,5}$/;

function valid(kind: Kind, value: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'u32':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff;
    case 'u8':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 255;
    case 'socket':
      return typeof value === 'string' && SOCKET_ADDRESS.test(value) && Number(value.split(':')[1]) <= 65535;
  }
}

/** The options with defaults; a TypeError for an unknown or ill-typed one. `undefined` means the default. */
export function resolveOptions(opts: unknown): ResolvedOptions {
  if (opts === undefined || opts === null) return { ...DEFAULT_OPTIONS };
  if (typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError('setupMixTunnel: options must be an object');
  }
  const resolved: Record<string, unknown> = { ...DEFAULT_OPTIONS };
  for (const [name, value] of Object.entries(opts)) {
    const kind = (OPTION_KINDS as Record<string, Kind | undefined>)[name];
    if (!kind) throw new TypeError(`setupMixTunnel: unknown option "${name}"`);
    if (value === undefined) continue;
    if (!valid(kind, value)) {
      const want = { string: 'a string', boolean: 'a boolean', u32: 'an integer from 0 to 4294967295',
        u8: 'an integer from 0 to 255', socket: 'an "ip:port" string' }[kind];
      throw new TypeError(`setupMixTunnel: option "${name}" must be ${want}`);
    }
    resolved[name] = value;
  }
  return resolved as unknown as ResolvedOptions;
}

/** The options the core reads, as its JSON (the rest stay in the worker). */
export function coreOptionsJson(o: ResolvedOptions): string {
  const core: Record<string, unknown> = {
    nymApiUrl: o.nymApiUrl,
    clientId: o.clientId,
    forceTls: o.forceTls,
    disablePoissonTraffic: o.disablePoissonTraffic,
    disableCoverTraffic: o.disableCoverTraffic,
    openReplySurbs: o.openReplySurbs,
    dataReplySurbs: o.dataReplySurbs,
    connectTimeoutMs: o.connectTimeoutMs,
    tcpKeepaliveMs: o.tcpKeepaliveMs,
    tcpBufferSize: o.tcpBufferSize,
    primaryDns: o.primaryDns,
    fallbackDns: o.fallbackDns,
    dnsTimeoutMs: o.dnsTimeoutMs,
    maxRedirects: o.maxRedirects,
  };
  if (o.preferredIpr) core['preferredIpr'] = o.preferredIpr;
  if (o.preferredGateway) core['preferredGateway'] = o.preferredGateway;
  if (o.extraTrustAnchors) core['extraTrustAnchors'] = o.extraTrustAnchors;
  return JSON.stringify(core);
}
