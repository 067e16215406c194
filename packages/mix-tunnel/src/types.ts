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
  /** A TCP connection idle this long (ms) sends a keep-alive probe, and again after as long while
   * none is answered; after 9 it fails. `0`: none. Default: `10000`. */
  tcpKeepaliveMs?: number | undefined;
  /** Each TCP connection's receive window and send buffer, in bytes (at least 1; more than 256960
   * counts as 256960). Default: `262144`, where the published default is `65536`, which holds a
   * download to 64 KB per mixnet round trip. */
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
  /** The exit's IP Packet Router (a Nym address), chosen or given. */
  ipr?: string;
  /** The address the exit allocated. */
  ipv4?: string;
  /** Round trip of a packet and its ack through the mixnet, smoothed; 0 before the first. */
  rttMs?: number;
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
  /** Bundles of the exit's data given up on after waiting for them (taken as lost). */
  ipGapsSkipped?: number;
  /** Of those, the ones that came after all: each was a wait too short for the mixnet's delays. */
  ipBundlesLate?: number;
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

/** Ours: a request as mix-fetch hands it to the worker (already normalised: absolute
 * http(s) URL without fragment, method upper-cased where fetch does, headers in order). */
export interface MixFetchRequest {
  url: string;
  method: string;
  headers: Array<[string, string]>;
  /** The whole body, or null when there is none or it comes in pieces (`bodyStreamed`). */
  body: Uint8Array | null;
  /** The body follows through `fetchBody` calls (a ReadableStream body); it cannot be replayed on a 307/308. */
  bodyStreamed: boolean;
  redirect: 'follow' | 'manual' | 'error';
  /** 0 for none. */
  timeoutMs: number;
}

/** Ours: what the worker reports about one request, in this order: one `response`
 * (or an `error`), then `body` chunks, then `end` or `error`. */
export type MixFetchEvent =
  | {
      type: 'response';
      status: number;
      statusText: string;
      /** Every field as received, in order, repeats kept (Set-Cookie). */
      headers: Array<[string, string]>;
      /** The final URL, after redirects. */
      url: string;
      redirected: boolean;
    }
  /** Body bytes; the page gives the count back with `fetchConsumed` when its reader has room. */
  | { type: 'body'; chunk: Uint8Array }
  | { type: 'end' }
  /** `TypeError` for network and protocol failures, as fetch rejects; `TimeoutError` for the request timeout. */
  | { type: 'error'; name: 'TypeError' | 'TimeoutError'; message: string };
export type MixFetchEventCallback = (event: MixFetchEvent) => void;

/** Ours: one address of `mixDNS(name, { all: true })`. */
export interface MixDnsAddress {
  address: string;
  family: 4 | 6;
  /** Seconds the answer may still be cached. */
  ttl: number;
}

/** Ours: what the worker reports about a WebSocket. `open` carries the chosen subprotocol;
 * `close` ends it (after an `error` too). `buffered` says how many bytes `wsSend` queued are still unsent. */
export type MixWebSocketEvent =
  | { type: 'open'; protocol: string; extensions: string }
  | { type: 'text'; data: string }
  | { type: 'binary'; data: Uint8Array }
  | { type: 'buffered'; bufferedAmount: number }
  | { type: 'error'; message: string }
  | { type: 'close'; code: number; reason: string; wasClean: boolean };
export type MixWebSocketEventCallback = (event: MixWebSocketEvent) => void;

/** Ours: a directory request's outcome: its status and body, or status 0 and why there is none. */
export interface DirectoryAnswer {
  status: number;
  body: Uint8Array | null;
  error: string;
}

/** Ours: a state change, as `onTunnelStateChange` delivers it. */
export type TunnelStateListener = (state: TunnelState) => void;

/** The worker's interface, behind Comlink. */
export interface IMixTunnelWorker {
  /** `prefetching`, ours: directory URLs the page is already fetching (see `directoryAnswered`). */
  setupMixTunnel(opts?: SetupMixTunnelOpts, prefetching?: string[]): Promise<void>;
  /** Ours: the page's answer to one of the `prefetching` URLs, used instead of the core's own request. */
  directoryAnswered(url: string, answer: DirectoryAnswer): Promise<void>;
  disconnectMixTunnel(): Promise<void>;
  getTunnelState(): Promise<TunnelState>;
  /** Ours. */
  getTunnelStats(): Promise<TunnelStats>;
  /** Ours: state changes go to this (a Comlink proxy). */
  onTunnelStateChange(listener: TunnelStateListener): Promise<void>;

  /** Ours: starts a request; events go to onEvent (a Comlink proxy). Gives its id. */
  fetchStart(request: MixFetchRequest, onEvent: MixFetchEventCallback): Promise<number>;
  /** The next piece of a streamed request body, or null at its end; resolves when the worker can take more. */
  fetchBody(id: number, chunk: Uint8Array | null): Promise<void>;
  /** The page's reader took this many more body bytes: the worker may read on. */
  fetchConsumed(id: number, bytes: number): Promise<void>;
  /** Stops the request: no event follows. */
  fetchAbort(id: number): Promise<void>;

  /** As published: one address (IPv4 first). */
  mixDNS(hostname: string): Promise<string>;
  /** Ours: every address with family and TTL. */
  mixResolve(hostname: string): Promise<MixDnsAddress[]>;

  /** Ours: opens a WebSocket; events go to onEvent (a Comlink proxy). Gives its handle. */
  wsOpen(url: string, protocols: string[], onEvent: MixWebSocketEventCallback): Promise<number>;
  /** Queues a text (string) or binary message. */
  wsSend(handleId: number, data: string | Uint8Array): Promise<void>;
  /** Starts the closing handshake (code 1000 or 3000-4999, or none: 1005). */
  wsClose(handleId: number, code: number | null, reason: string): Promise<void>;
}

export enum EventKinds {
  Loaded = 'Loaded',
}
export interface LoadedEvent {
  kind: EventKinds.Loaded;
  args: { loaded: true };
}
