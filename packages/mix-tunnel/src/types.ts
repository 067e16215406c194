// The public types of @nymproject/mix-tunnel: the published package's
// names and shapes, with our additions marked.

/** Options of `setupMixTunnel`. Every one is optional. */
export interface SetupMixTunnelOpts {
  /** The exit's IP Packet Router (a Nym address). Default: one chosen from the directory. */
  preferredIpr?: string | undefined;
  /** Base58 identity of the entry gateway, used when none is stored yet. Default: a random one. */
  preferredGateway?: string | undefined;
  /** Names the stored keys and gateway registration. Default: `"smolmix-wasm"`, as published
   * (a fixed id lets sessions be linked: give a random one per session for unlinkability). */
  clientId?: string | undefined;
  /** Only `wss://` gateways. Default: `true`. */
  forceTls?: boolean;
  /** No constant-rate main packet stream. Default: `false`. */
  disablePoissonTraffic?: boolean;
  /** No loop cover traffic. Default: `false`. */
  disableCoverTraffic?: boolean;
  /** Reply SURBs sent with the exit's Open. Default: `10`. */
  openReplySurbs?: number | undefined;
  /** Reply SURBs sent with every data request. Default: `2`. */
  dataReplySurbs?: number | undefined;
  /** DNS resolver `"ip:port"`, reached through the tunnel. Default: `"8.8.8.8:53"`. */
  primaryDns?: string | undefined;
  /** Tried when the primary fails. Default: `"1.1.1.1:53"`. */
  fallbackDns?: string | undefined;
  /** Seals the stored keys (PBKDF2 + AES-GCM). Default: none, stored unsealed. */
  storagePassphrase?: string | undefined;
  /** Bounds the tunnel setup, and each TCP connect. Default: `60000`. */
  connectTimeoutMs?: number | undefined;
  /** Per DNS query. Default: `3000` (two attempts per server). */
  dnsTimeoutMs?: number | undefined;
  /** TCP keep-alive interval. Default: `10000`. */
  tcpKeepaliveMs?: number | undefined;
  /** TCP buffer size in bytes. Default: `65536`. */
  tcpBufferSize?: number | undefined;
  /** Redirects `mixFetch` follows. Default: `5`, at most 255. */
  maxRedirects?: number | undefined;
  /** Logs of the core on the console. Default: `false`. */
  debug?: boolean;
  /** Ours: the directory (nym-api) base URL. Default: `"https://validator.nymtech.net/api/"`. */
  nymApiUrl?: string | undefined;
  /** Ours: extra trust anchors for TLS, as PEM certificates, beside the compiled-in Mozilla roots. */
  extraTrustAnchors?: string | undefined;
}

export type TaskName = 'bridge' | 'reactor';
/** Why the tunnel failed. The published kinds, plus ours: `setup` (with what went wrong). */
export type FailureReason =
  | { kind: 'task_exited'; task: TaskName }
  | { kind: 'task_panicked' }
  | { kind: 'setup'; message: string };

export type TunnelStateName = 'connecting' | 'ready' | 'shutting_down' | 'shutdown' | 'failed';
export interface TunnelConnecting {
  state: 'connecting';
}
export interface TunnelReady {
  state: 'ready';
}
export interface TunnelShuttingDown {
  state: 'shutting_down';
}
export interface TunnelShutdown {
  state: 'shutdown';
}
export interface TunnelFailed {
  state: 'failed';
  reason: FailureReason;
}
export type TunnelState = TunnelConnecting | TunnelReady | TunnelShuttingDown | TunnelShutdown | TunnelFailed;

/** Ours: what `getTunnelStats` gives. */
export interface TunnelStats {
  state: TunnelStateName;
  reason: string | null;
  /** Base58 identity of the entry gateway. */
  gateway?: string;
  /** The address the exit allocated. */
  ipv4?: string;
  mtu?: number;
  ipPacketsOut?: number;
  ipBytesOut?: number;
  ipPacketsIn?: number;
  ipBytesIn?: number;
  gatewayReconnects?: number;
  realPacketsSent?: number;
  coverPacketsSent?: number;
  retransmissions?: number;
  fragmentsReceived?: number;
  messagesDelivered?: number;
}

/** A response as it crosses from the worker, as published. */
export interface MixFetchResponseInit {
  body: Uint8Array;
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
}
export type WsEventType = 'open' | 'text' | 'binary' | 'close' | 'error';
export type WsEventCallback = (handleId: number, type: WsEventType, data: unknown) => void;

/** Ours: a state change, as `onTunnelStateChange` delivers it. */
export type TunnelStateListener = (state: TunnelState) => void;

/** The worker's interface, behind Comlink. */
export interface IMixTunnelWorker {
  setupMixTunnel(opts?: SetupMixTunnelOpts): Promise<void>;
  disconnectMixTunnel(): Promise<void>;
  getTunnelState(): Promise<TunnelState>;
  /** Ours. */
  getTunnelStats(): Promise<TunnelStats>;
  /** Ours: state changes go to this (a Comlink proxy). */
  onTunnelStateChange(listener: TunnelStateListener): Promise<void>;
}

export enum EventKinds {
  Loaded = 'Loaded',
}
export interface LoadedEvent {
  kind: EventKinds.Loaded;
  args: { loaded: true };
}
