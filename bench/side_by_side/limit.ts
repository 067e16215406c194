// What localnet allows at best: the time to first byte and the MB/s of a
// download that no client can beat, from the delays and rates every Nym
// client draws (both sides use the same defaults) and the sizes of what a
// packet carries. localnet adds no delay of its own (its fault knobs are off
// in the bench), so these are the mixnet's own costs.
import os from 'node:os';

/** Mix hops each way (the gateways forward at once). */
const MIX_HOPS = 3;
/** Mean delay a client draws per mix hop, for its packets and for the SURBs it gives out
 * (average_packet_delay; shared/spec/sphinx.md §12). */
const PER_HOP_DELAY_MS = 15;
/** Mean gap of the Poisson stream, which real packets wait for with the defaults
 * (message_sending_average_delay; exponential gaps, so also the mean wait). */
const POISSON_GAP_MS = 20;
/** The exit's bundling period (the IPR's buffer_timeout default; shared/spec/ipr.md §6): a packet
 * waits half of it on average. */
const EXIT_BUNDLE_PERIOD_MS = 20;
/** Plaintext a Regular packet carries, and one reply SURB's size (shared/spec/sphinx.md §13.4). */
const PACKET_PAYLOAD_BYTES = 1604;
const REPLY_SURB_BYTES = 460;
/** TCP payload per downstream packet: localnet's exit answers Connect with MTU 1500. */
const TCP_PAYLOAD_BYTES = 1500 - 40;
/** Our TCP receive window (wasm/src/net/lwip-port/lwipopts.h TCP_WND). */
const OUR_TCP_WINDOW_BYTES = 176 * 1460;
const MB = 1024 * 1024;

/** One round trip through the mixnet: the mix hops both ways and the exit's bundling wait,
 * plus the wait for a Poisson slot when the stream is on. */
function roundTripMs(poisson: boolean): number {
  return (poisson ? POISSON_GAP_MS : 0) + 2 * MIX_HOPS * PER_HOP_DELAY_MS + EXIT_BUNDLE_PERIOD_MS / 2;
}

export interface Limit {
  value: number;
  unit: string;
  /** how it follows from the figures above */
  how: string;
}

/** A small GET on a new connection: SYN and SYN-ACK, then the request (riding on the handshake's
 * last ACK) and the response's first segment: two round trips, on average. Single rounds vary
 * (each delay is drawn from an exponential) and may come in under it. */
export const FIRST_BYTE_LIMIT: Limit = {
  value: 2 * roundTripMs(true),
  unit: 'ms',
  how:
    `2 round trips of ${roundTripMs(true)} ms: Poisson wait ${POISSON_GAP_MS} + ${2 * MIX_HOPS} mix hops × ` +
    `${PER_HOP_DELAY_MS} + half the exit's ${EXIT_BUNDLE_PERIOD_MS} ms bundling`,
};

/** With the defaults every downstream packet spends one reply SURB, and SURBs only come up in the
 * Poisson stream's slots: at best each slot is full of SURBs (TCP's ACKs ride along). */
const SURBS_PER_SLOT = PACKET_PAYLOAD_BYTES / REPLY_SURB_BYTES;
export const DOWNLOAD_LIMIT_COVER_ON: Limit = {
  value: ((1000 / POISSON_GAP_MS) * SURBS_PER_SLOT * TCP_PAYLOAD_BYTES) / MB,
  unit: 'MB/s',
  how:
    `${1000 / POISSON_GAP_MS} slots/s up × ${SURBS_PER_SLOT.toFixed(2)} SURBs a slot (${PACKET_PAYLOAD_BYTES} B ÷ ` +
    `${REPLY_SURB_BYTES} B) × ${TCP_PAYLOAD_BYTES} B of TCP payload per downstream packet`,
};

/** Without the Poisson stream nothing in the mixnet sets a rate. Three bounds remain: the TCP
 * window over the round trip; localnet's one thread, which processes every hop of every packet
 * (its CPU per MB measured in the run); and the machine's cores, which must run localnet and the
 * least Sphinx work a client can do per MB: build one SURB per downstream packet, and the
 * upstream packets they ride in, at the wasm build rate (`make bench BENCH=sphinx_bench`).
 * Opening the replies, the gateway's frames and the browser's own work are left out, so the
 * bound is above what any client reaches. */
const WASM_SPHINX_BUILDS_PER_S = 3304;
const DOWNSTREAM_PACKETS_PER_MB = MB / TCP_PAYLOAD_BYTES;
const CLIENT_BUILDS_PER_MB = DOWNSTREAM_PACKETS_PER_MB * (1 + 1 / SURBS_PER_SLOT);
const CLIENT_FLOOR_MS_PER_MB = (CLIENT_BUILDS_PER_MB / WASM_SPHINX_BUILDS_PER_S) * 1000;
const CORES = os.cpus().length;

export function downloadLimitCoverOff(localnetCpuMsPerMb: number | undefined): Limit {
  const window: Limit = {
    value: OUR_TCP_WINDOW_BYTES / MB / (roundTripMs(false) / 1000),
    unit: 'MB/s',
    how: `our ${Math.round(OUR_TCP_WINDOW_BYTES / 1024)} KiB TCP window per round trip of ${roundTripMs(false)} ms`,
  };
  if (localnetCpuMsPerMb === undefined) return { ...window, how: `${window.how}; CPU not measured` };
  const bounds: Limit[] = [
    window,
    {
      value: 1000 / localnetCpuMsPerMb,
      unit: 'MB/s',
      how: `localnet's one thread at ${Math.round(localnetCpuMsPerMb)} ms of CPU per MB`,
    },
    {
      value: (CORES * 1000) / (localnetCpuMsPerMb + CLIENT_FLOOR_MS_PER_MB),
      unit: 'MB/s',
      how:
        `${CORES} cores ÷ (localnet ${Math.round(localnetCpuMsPerMb)} + client at least ` +
        `${Math.round(CLIENT_FLOOR_MS_PER_MB)} ms of CPU per MB: ${Math.round(CLIENT_BUILDS_PER_MB)} Sphinx builds ` +
        `at ${WASM_SPHINX_BUILDS_PER_S}/s)`,
    },
  ];
  bounds.sort((a, b) => a.value - b.value);
  const lowest = bounds[0] ?? window;
  const rest = bounds.slice(1).map((b) => `${b.how} would allow ${b.value.toFixed(2)}`);
  return { value: lowest.value, unit: 'MB/s', how: [lowest.how, ...rest].join('; ') };
}
