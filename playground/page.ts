// The playground page: fetch, DNS and WebSocket through the tunnel, with the
// tunnel's live figures. Each panel marks its section with data-outcome
// (busy, ok, error) so that a person and the scripted tour (tour.ts) see the
// same thing.
import { mixFetch } from '@nymproject/mix-fetch';
import { mixDNS } from '@nymproject/mix-dns';
import {
  disconnectMixTunnel,
  getTunnelStats,
  onTunnelStateChange,
  setupMixTunnel,
  type TunnelState,
} from '@nymproject/mix-tunnel';
import { MixWebSocket } from '@nymproject/mix-websocket';
import { MAINNET, type PlaygroundConfig, type PlaygroundNetwork } from './config';

const FIGURES_INTERVAL_MS = 1000;
/** Larger or non-text bodies are shown by their size only. */
const BODY_TEXT_LIMIT = 64 * 1024;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`playground: no #${id} in index.html`);
  return found as T;
}

const sections = {
  tunnel: element('tunnel'),
  fetch: element('fetch'),
  dns: element('dns'),
  webSocket: element('websocket'),
};
const networkSelect = element<HTMLSelectElement>('network');
const setupButton = element<HTMLButtonElement>('setup');
const setupError = element('setup-error');
const figures = {
  state: element('figure-state'),
  timeToReady: element('figure-time-to-ready'),
  realPackets: element('figure-real-packets'),
  coverPackets: element('figure-cover-packets'),
  bytesIn: element('figure-bytes-in'),
  bytesOut: element('figure-bytes-out'),
  retransmissions: element('figure-retransmissions'),
  address: element('figure-address'),
};

function errorMessage(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

const elapsedMs = (since: number): number => Math.round(performance.now() - since);

/** Runs one panel action, marking its section busy, then ok or error. */
async function runPanel(section: HTMLElement, action: () => Promise<void>): Promise<void> {
  section.dataset['outcome'] = 'busy';
  try {
    await action();
    section.dataset['outcome'] = 'ok';
  } catch (e) {
    section.dataset['outcome'] = 'error';
    throw e;
  }
}

// --- networks ---

let networks: PlaygroundNetwork[] = [MAINNET];

function selectedNetwork(): PlaygroundNetwork {
  return networks.find((n) => n.name === networkSelect.value) ?? MAINNET;
}

function fillPanelDefaults(network: PlaygroundNetwork): void {
  element<HTMLInputElement>('fetch-url').value = network.fetchUrl;
  element<HTMLInputElement>('dns-name').value = network.dnsName;
  element<HTMLInputElement>('ws-url').value = network.webSocketUrl;
}

async function loadNetworks(): Promise<void> {
  // config.json is absent when the page is served without localnet: mainnet only
  const response = await fetch('config.json').catch(() => null);
  if (response?.ok) networks = [...((await response.json()) as PlaygroundConfig).networks, MAINNET];
  networkSelect.replaceChildren(...networks.map((n) => new Option(n.name, n.name)));
  fillPanelDefaults(selectedNetwork());
  networkSelect.addEventListener('change', () => fillPanelDefaults(selectedNetwork()));
}

// --- the tunnel and its figures ---

function showState(state: TunnelState): void {
  sections.tunnel.dataset['state'] = state.state;
  const reason = state.state === 'failed' ? state.reason : null;
  figures.state.textContent = reason
    ? `failed (${reason.kind === 'setup' ? reason.message : reason.kind})`
    : state.state;
  // setupMixTunnel refuses other options while a tunnel is up: disconnect first
  const idle = state.state === 'shutdown' || state.state === 'failed';
  setupButton.disabled = !idle;
  networkSelect.disabled = !idle;
}

setupButton.addEventListener('click', () => {
  setupError.textContent = '';
  figures.timeToReady.textContent = '…';
  const started = performance.now();
  void runPanel(sections.tunnel, async () => {
    // a fresh clientId each time: stored keys and registrations are not reused across sessions
    await setupMixTunnel({ ...selectedNetwork().tunnelOptions, clientId: `playground-${crypto.randomUUID()}` });
    figures.timeToReady.textContent = `${elapsedMs(started)} ms`;
  }).catch((e: unknown) => {
    figures.timeToReady.textContent = '–';
    setupError.textContent = errorMessage(e);
  });
});

element('disconnect').addEventListener('click', () => {
  void disconnectMixTunnel();
});

/** The counters at the last refresh, for rates; reset when a new tunnel starts from zero. */
let previousCounts: { at: number; real: number; cover: number } | undefined;

function packetsFigure(total: number, previous: number | undefined, seconds: number): string {
  const rate = previous === undefined ? '–' : ((total - previous) / seconds).toFixed(1);
  return `${rate}/s (${total} sent)`;
}

async function refreshFigures(): Promise<void> {
  const stats = await getTunnelStats();
  const now = performance.now();
  const real = stats.realPacketsSent ?? 0;
  const cover = stats.coverPacketsSent ?? 0;
  if (stats.state !== 'ready' || (previousCounts && (real < previousCounts.real || cover < previousCounts.cover))) {
    previousCounts = undefined;
  }
  const seconds = previousCounts ? (now - previousCounts.at) / 1000 : 1;
  figures.realPackets.textContent = packetsFigure(real, previousCounts?.real, seconds);
  figures.coverPackets.textContent = packetsFigure(cover, previousCounts?.cover, seconds);
  figures.bytesIn.textContent = formatBytes(stats.ipBytesIn ?? 0);
  figures.bytesOut.textContent = formatBytes(stats.ipBytesOut ?? 0);
  figures.retransmissions.textContent = String(stats.retransmissions ?? 0);
  figures.address.textContent = stats.ipv4 ? `${stats.ipv4}, ${stats.gateway ?? '?'}` : '–';
  previousCounts = stats.state === 'ready' ? { at: now, real, cover } : undefined;
}

function refreshFiguresForever(): void {
  refreshFigures()
    .catch(() => {}) // the next refresh tries again
    .finally(() => setTimeout(refreshFiguresForever, FIGURES_INTERVAL_MS));
}

// --- fetch ---

const fetchStatus = element('fetch-status');
const fetchSize = element('fetch-size');
const fetchTiming = element('fetch-timing');
const fetchHeaders = element<HTMLPreElement>('fetch-headers');
const fetchResponse = element<HTMLPreElement>('fetch-response');

function isText(contentType: string): boolean {
  return /^text\/|^application\/(json|xml|javascript)|\+(json|xml)\b/.test(contentType);
}

element('fetch-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const method = element<HTMLSelectElement>('fetch-method').value;
  const url = element<HTMLInputElement>('fetch-url').value.trim();
  const body = method === 'GET' || method === 'HEAD' ? null : element<HTMLTextAreaElement>('fetch-body').value;
  const started = performance.now();
  for (const e of [fetchStatus, fetchSize, fetchTiming, fetchHeaders, fetchResponse]) e.textContent = '';
  fetchStatus.classList.remove('error');
  fetchHeaders.hidden = fetchResponse.hidden = true;
  void runPanel(sections.fetch, async () => {
    const response = await mixFetch(url, { method, body });
    const headersMs = elapsedMs(started);
    fetchStatus.textContent = `${response.status} ${response.statusText}`.trim();
    fetchHeaders.textContent = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
    fetchHeaders.hidden = false;
    const bytes = new Uint8Array(await response.arrayBuffer());
    fetchTiming.textContent = `headers in ${headersMs} ms, body in ${elapsedMs(started)} ms`;
    fetchSize.textContent = `${bytes.length} bytes`;
    const contentType = response.headers.get('content-type') ?? '';
    if (bytes.length > 0 && bytes.length <= BODY_TEXT_LIMIT && isText(contentType)) {
      fetchResponse.textContent = new TextDecoder().decode(bytes);
      fetchResponse.hidden = false;
    }
  }).catch((e: unknown) => {
    fetchStatus.textContent = errorMessage(e);
    fetchStatus.classList.add('error');
    fetchTiming.textContent = `after ${elapsedMs(started)} ms`;
  });
});

// --- DNS ---

const dnsSummary = element('dns-summary');
const dnsAddresses = element('dns-addresses');

element('dns-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = element<HTMLInputElement>('dns-name').value.trim();
  const started = performance.now();
  dnsSummary.textContent = '';
  dnsSummary.classList.remove('error');
  dnsAddresses.replaceChildren();
  void runPanel(sections.dns, async () => {
    const addresses = await mixDNS(name, { all: true });
    dnsSummary.textContent = `${addresses.length} address${addresses.length === 1 ? '' : 'es'} in ${elapsedMs(started)} ms`;
    dnsAddresses.replaceChildren(
      ...addresses.map((a) => {
        const row = document.createElement('tr');
        for (const text of [a.address, `IPv${a.family}`, `TTL ${a.ttl} s`]) row.insertCell().textContent = text;
        return row;
      }),
    );
  }).catch((e: unknown) => {
    dnsSummary.textContent = `${errorMessage(e)} (after ${elapsedMs(started)} ms)`;
    dnsSummary.classList.add('error');
  });
});

// --- WebSocket ---

const webSocketLog = element('ws-log');
const webSocketConnect = element<HTMLButtonElement>('ws-connect');
const webSocketClose = element<HTMLButtonElement>('ws-close');
const webSocketSend = element<HTMLButtonElement>('ws-send');
let webSocket: MixWebSocket | undefined;
let webSocketStarted = 0;

function logWebSocket(kind: 'open' | 'sent' | 'received' | 'error' | 'close', text: string): void {
  const item = document.createElement('li');
  item.dataset['kind'] = kind;
  item.textContent = `+${elapsedMs(webSocketStarted)} ms ${kind}${text ? `: ${text}` : ''}`;
  webSocketLog.append(item);
}

function showWebSocketState(state: 'connecting' | 'open' | 'closed'): void {
  sections.webSocket.dataset['state'] = state;
  webSocketConnect.disabled = state !== 'closed';
  webSocketClose.disabled = state === 'closed';
  webSocketSend.disabled = state !== 'open';
}

element('ws-connect-form').addEventListener('submit', (event) => {
  event.preventDefault();
  webSocketLog.replaceChildren();
  webSocketStarted = performance.now();
  showWebSocketState('connecting');
  const ws = new MixWebSocket(element<HTMLInputElement>('ws-url').value.trim());
  webSocket = ws;
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => {
    logWebSocket('open', ws.protocol ? `subprotocol ${ws.protocol}` : '');
    showWebSocketState('open');
  };
  ws.onmessage = (e: MessageEvent) => {
    logWebSocket('received', typeof e.data === 'string' ? e.data : `${(e.data as ArrayBuffer).byteLength} bytes`);
  };
  ws.onerror = () => logWebSocket('error', '');
  ws.onclose = (e: CloseEvent) => {
    logWebSocket('close', `code ${e.code}${e.reason ? ` ${e.reason}` : ''}, ${e.wasClean ? 'clean' : 'not clean'}`);
    showWebSocketState('closed');
  };
});

element('ws-send-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = element<HTMLInputElement>('ws-message').value;
  webSocket?.send(text).then(
    () => logWebSocket('sent', text),
    (e: unknown) => logWebSocket('error', errorMessage(e)),
  );
});

webSocketClose.addEventListener('click', () => {
  void webSocket?.close(1000, 'closed from the playground');
});

// --- start ---

showWebSocketState('closed');
void onTunnelStateChange(showState);
refreshFiguresForever();
await loadNetworks();
document.body.dataset['ready'] = '1';
