// `make bench BENCH=side_by_side`: our packages and the published ones, in
// headless Chromium (driven over its DevTools pipe, side_by_side/cdp-browser.ts),
// against one localnet this bench starts, in the same run. Both sides get
// the same options (forceTls false, localnet's entry gateway and IPR
// pinned, a fresh clientId and browser profile per session) and the same
// directory: their requests to the published nym-api URL are
// answered from localnet's, as in the interop test (ours is left at that
// default URL too, so both pay the same interception).
//
// A session is one browser: navigate, the page starts the tunnel at once,
// wait for `ready`, GET a small file, and in some sessions download the
// 10 MB file. Sessions alternate between ours and theirs. Prints a table,
// then one JSON line per figure (bench/README.md).
//
//   BENCH_ROUNDS             sessions per side with the defaults (3)
//   BENCH_DOWNLOAD_ROUNDS    10 MB downloads per side and traffic setting (1)
//   BENCH_DOWNLOAD_TIMEOUT_S bound on one 10 MB download (150)
//   BENCH_SIDES              which sides run: ours, theirs, or both (the default)
//   BENCH_INTERNET           the servers' TCP/IP behind the exit: lwip (the default) or
//                            kernel (Linux's, localnet --kernel-internet; needs root)
//   LOCALNET                 another localnet binary than build/native/bin/localnet
import { randomBytes } from 'node:crypto';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { buildDist } from '../packages/mix-tunnel/build';
import { REPO_ROOT, bundle } from '../tests/e2e/support/bundle';
import { serveDirectory, type StaticServer } from '../tests/e2e/support/static-server';
import { PUBLISHED_TUNNEL_ENTRY, bundlePublished } from '../tests/interop/support/bundle';
import { startLocalnet, type Localnet } from '../tests/interop/support/localnet';
import type { Outcome } from '../tests/interop/support/outcome';
import type { Download, SideBySidePageApi } from './side_by_side/page-api';
import { downloadLimitCoverOff, DOWNLOAD_LIMIT_COVER_ON, FIRST_BYTE_LIMIT, type Limit } from './side_by_side/limit';
import { launchBenchBrowser, type BenchBrowser } from './side_by_side/cdp-browser';
import { createWorkerProbe, processCpuMs } from './side_by_side/worker-probe';

const HERE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'side_by_side');
const LOCALNET_BIN = path.resolve(process.env['LOCALNET'] || path.join(REPO_ROOT, 'build/native/bin/localnet'));
const LOCALNET_LOG = path.join(REPO_ROOT, 'build/bench/localnet.log');

function envCount(name: string, fallback: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a whole number, not ${process.env[name]}`);
  return v;
}
const ROUNDS = envCount('BENCH_ROUNDS', 3);
const DOWNLOAD_ROUNDS = envCount('BENCH_DOWNLOAD_ROUNDS', 1);
const DOWNLOAD_TIMEOUT_MS = envCount('BENCH_DOWNLOAD_TIMEOUT_S', 150) * 1000;
const PAGE_LOAD_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 120_000;
const SMALL_GET_TIMEOUT_MS = 60_000;
/** Small GETs per session, one after another, each on a new connection. A first byte is a sum of a
 * dozen exponential delays (about ±60 ms for one GET), so one per session left the medians of 8
 * sessions 40 ms apart from run to run. */
const SMALL_GETS_PER_SESSION = 5;
/** Between two small GETs: the closed connection's last segments are gone by then, so the next
 * SYN does not queue behind them for a Poisson slot. */
const SMALL_GET_PAUSE_MS = 500;
/** Past this, a session's browser is closed, whatever it is doing (the steps are bounded in the page, this bounds the rest). */
const SESSION_TIMEOUT_MS =
  PAGE_LOAD_TIMEOUT_MS +
  READY_TIMEOUT_MS +
  SMALL_GETS_PER_SESSION * (SMALL_GET_TIMEOUT_MS + SMALL_GET_PAUSE_MS) +
  DOWNLOAD_TIMEOUT_MS +
  60_000;

/** localnet/services.h */
const SMALL_PATH = '/small.txt';
const DOWNLOAD_PATH = '/random-10MiB.bin';
const DOWNLOAD_BYTES = 10 * 1024 * 1024;
/** MB here is 2^20 bytes, as in the e2e test and the native tunnel bench. */
const MB = 1024 * 1024;

type Side = 'ours' | 'theirs';
const BOTH_SIDES: Side[] = ['ours', 'theirs'];
function sidesToRun(): Side[] {
  const wanted = process.env['BENCH_SIDES'];
  if (wanted === undefined || wanted === '' || wanted === 'both') return BOTH_SIDES;
  const side = BOTH_SIDES.find((s) => s === wanted);
  if (!side) throw new Error(`BENCH_SIDES must be ours, theirs or both, not ${wanted}`);
  return [side];
}
/** a single side is for working on one client: no ratios then */
const SIDES = sidesToRun();

type Internet = 'lwip' | 'kernel';
function internetToUse(): Internet {
  const wanted = process.env['BENCH_INTERNET'] || 'lwip';
  if (wanted !== 'lwip' && wanted !== 'kernel') throw new Error(`BENCH_INTERNET must be lwip or kernel, not ${wanted}`);
  return wanted;
}
const INTERNET = internetToUse();

/** cover on: the clients' defaults (Poisson stream and loop cover); off: both disabled. */
type Traffic = 'cover_on' | 'cover_off';

interface Figure {
  name: string;
  unit: string;
  what: string;
  /** per side, one entry per round: a value, or why there is none */
  rounds: Record<Side, Array<number | string>>;
}

const figures: Figure[] = [];
function figure(name: string, unit: string, what: string): Figure {
  const f: Figure = { name, unit, what, rounds: { ours: [], theirs: [] } };
  figures.push(f);
  return f;
}
const bundleBytes = figure('bundle_bytes', 'bytes', 'mix-tunnel bundle, raw');
const bundleGzipBytes = figure('bundle_gzip_bytes', 'bytes', 'mix-tunnel bundle, gzip -9');
const firstDirectoryMs = figure('first_directory_request_ms', 'ms', 'navigation to first directory request');
const readyMs = figure('ready_ms', 'ms', 'navigation to tunnel ready');
const smallFirstByteMs = figure('small_get_first_byte_ms', 'ms', 'small HTTP GET, to first byte');
const downloadMbPerS: Record<Traffic, Figure> = {
  cover_off: figure('download_mb_per_s_cover_off', 'MB/s', '10 MB HTTP GET, Poisson+cover off'),
  cover_on: figure('download_mb_per_s_cover_on', 'MB/s', '10 MB HTTP GET, defaults'),
};
const cpuMsPerMb: Record<Traffic, Figure> = {
  cover_off: figure('worker_cpu_ms_per_mb_cover_off', 'ms/MB', 'worker CPU per MB, Poisson+cover off'),
  cover_on: figure('worker_cpu_ms_per_mb_cover_on', 'ms/MB', 'worker CPU per MB, defaults'),
};
/** what the download cost localnet: it runs the whole network in one thread beside the browser */
const localnetCpuMsPerMb: Record<Traffic, Figure> = {
  cover_off: figure('localnet_cpu_ms_per_mb_cover_off', 'ms/MB', 'localnet CPU per MB, Poisson+cover off'),
  cover_on: figure('localnet_cpu_ms_per_mb_cover_on', 'ms/MB', 'localnet CPU per MB, defaults'),
};
const peakMb: Record<Traffic, Figure> = {
  cover_off: figure('worker_peak_mb_cover_off', 'MB', 'worker peak memory, Poisson+cover off'),
  cover_on: figure('worker_peak_mb_cover_on', 'MB', 'worker peak memory, defaults'),
};

function log(line: string): void {
  process.stderr.write(`side_by_side: ${line}\n`);
}

async function measureBundles(): Promise<void> {
  const files: Record<Side, string> = { ours: await buildDist(), theirs: PUBLISHED_TUNNEL_ENTRY };
  for (const side of SIDES) {
    const bytes = await readFile(files[side]);
    bundleBytes.rounds[side].push(bytes.length);
    bundleGzipBytes.rounds[side].push(gzipSync(bytes, { level: 9 }).length);
  }
}

async function buildPages(outdir: string): Promise<void> {
  await bundle({ 'ours.page': path.join(HERE, 'ours.page.ts') }, outdir);
  await bundlePublished({ 'theirs.page': path.join(HERE, 'theirs.page.ts') }, outdir);
  for (const side of SIDES) {
    await writeFile(
      path.join(outdir, `${side}.html`),
      `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>${side}</title>` +
        `<body><script type="module" src="./${side}.page.js"></script></body>\n`,
    );
  }
}

interface SessionPlan {
  side: Side;
  traffic: Traffic;
  /** the navigation, ready and small GET figures are kept (sessions with the defaults) */
  quickFigures: boolean;
  download: boolean;
}

/** The page bounds each call itself; the DevTools call waits a little longer, to hear the outcome. */
const IN_PAGE_MARGIN_MS = 10_000;

/** Calls the page's side-by-side API (page-api.ts) with the URL, if any, and the call's bound. */
function inPage<T>(browser: BenchBrowser, call: keyof SideBySidePageApi, timeoutMs: number, url?: string): Promise<T> {
  const args = [...(url === undefined ? [] : [url]), timeoutMs].map((a) => JSON.stringify(a)).join(', ');
  return browser.evaluate<T>(`window.sideBySide.${call}(${args})`, timeoutMs + IN_PAGE_MARGIN_MS);
}

/** One browser, one tunnel: records its figures, or why they are missing. */
async function runSession(plan: SessionPlan, localnet: Localnet, server: StaticServer): Promise<void> {
  const { side, traffic } = plan;
  const status = localnet.status;
  const nginx = status.services!.find((s) => s.name === 'nginx.mixnet.test')!;
  const entry = status.gateways.find((g) => g.role === 'entry')!;
  const opts = {
    clientId: `bench-${side}-${randomBytes(6).toString('hex')}`,
    forceTls: false,
    preferredGateway: entry.identity,
    preferredIpr: status.ipr_address,
    disablePoissonTraffic: traffic === 'cover_off',
    disableCoverTraffic: traffic === 'cover_off',
  };
  /** this session's figures: a value, or why there is none */
  const got = new Map<Figure, number | string>();
  const smallGets: number[] = [];
  let stoppedBy = 'not reached';
  let firstDirectoryAt: number | undefined;
  const blocked: string[] = [];
  const probe = createWorkerProbe();
  let browser: BenchBrowser;
  try {
    browser = await launchBenchBrowser({
      directoryUrl: status.directory_url,
      onDirectoryRequest: () => (firstDirectoryAt ??= Date.now()),
      onBlocked: (what) => blocked.push(what),
      onWorker: (worker) => probe.follow(worker),
    });
  } catch (e) {
    probe.close();
    throw e;
  }
  let overdue = false;
  const watchdog = setTimeout(() => {
    overdue = true;
    void browser.close();
  }, SESSION_TIMEOUT_MS);
  const ok = <T>(o: Outcome<T>, what: string): T => {
    if (!o.ok) throw new Error(`${what}: ${o.error}`);
    return o.value;
  };
  try {
    await browser.navigate(`${server.url}${side}.html#${encodeURIComponent(JSON.stringify(opts))}`, PAGE_LOAD_TIMEOUT_MS);
    const timeOrigin = await browser.evaluate<number>('performance.timeOrigin', PAGE_LOAD_TIMEOUT_MS);
    const setup = await inPage<Outcome<number>>(browser, 'ready', READY_TIMEOUT_MS);
    got.set(firstDirectoryMs, firstDirectoryAt === undefined ? 'no directory request seen' : firstDirectoryAt - timeOrigin);
    const ready = ok(setup, 'setup');
    got.set(readyMs, ready);
    while (plan.quickFigures && smallGets.length < SMALL_GETS_PER_SESSION) {
      if (smallGets.length) await new Promise((r) => setTimeout(r, SMALL_GET_PAUSE_MS));
      const small = await inPage<Outcome<number>>(browser, 'firstByte', SMALL_GET_TIMEOUT_MS, `http://${nginx.ip}${SMALL_PATH}`);
      smallGets.push(ok(small, `small GET ${smallGets.length + 1}`));
    }
    let summary = `ready ${ready} ms` + (smallGets.length ? `, small GETs ${smallGets.join(', ')} ms` : '');
    if (plan.download) {
      const cpuBefore = probe.cpuMs();
      const localnetCpuBefore = processCpuMs(localnet.status.pid);
      const d = await inPage<Outcome<Download>>(browser, 'download', DOWNLOAD_TIMEOUT_MS, `http://${nginx.ip}${DOWNLOAD_PATH}`);
      if (!d.ok && d.ms >= DOWNLOAD_TIMEOUT_MS) {
        const bound = DOWNLOAD_BYTES / MB / (DOWNLOAD_TIMEOUT_MS / 1000);
        throw new Error(`10 MB download not done within ${DOWNLOAD_TIMEOUT_MS / 1000} s (under ${bound.toFixed(3)} MB/s)`);
      }
      const { bytes, ms, gapsSkipped, late } = ok(d, '10 MB download');
      if (bytes !== DOWNLOAD_BYTES) throw new Error(`10 MB download: ${bytes} bytes, not ${DOWNLOAD_BYTES}`);
      const cpuAfter = probe.cpuMs();
      const localnetCpuAfter = processCpuMs(localnet.status.pid);
      got.set(downloadMbPerS[traffic], bytes / MB / (ms / 1000));
      got.set(
        cpuMsPerMb[traffic],
        cpuBefore === undefined || cpuAfter === undefined
          ? "no worker thread found among this process's descendants in /proc"
          : (cpuAfter - cpuBefore) / (bytes / MB),
      );
      got.set(
        localnetCpuMsPerMb[traffic],
        localnetCpuBefore === undefined || localnetCpuAfter === undefined
          ? 'localnet is gone from /proc'
          : (localnetCpuAfter - localnetCpuBefore) / (bytes / MB),
      );
      const peak = probe.peakBytes();
      got.set(peakMb[traffic], peak === undefined ? `no memory sample: ${probe.memoryError()}` : peak / MB);
      summary += `, 10 MB at ${(bytes / MB / (ms / 1000)).toFixed(3)} MB/s`;
      if (gapsSkipped !== undefined) summary += ` (gaps skipped: ${gapsSkipped}, of them late: ${late ?? 0})`;
    }
    if (blocked.length) log(`${side}: requests stopped for not being for loopback: ${blocked.join(', ')}`);
    log(`${side} (${traffic}): ${summary}`);
  } catch (e) {
    stoppedBy = overdue
      ? `session stopped after ${SESSION_TIMEOUT_MS / 1000} s`
      : e instanceof Error
        ? e.message
        : String(e);
    log(`${side} (${traffic}): ${stoppedBy}`);
  } finally {
    clearTimeout(watchdog);
    probe.close();
    await browser.close();
  }
  const planned = [
    ...(plan.quickFigures ? [firstDirectoryMs, readyMs] : []),
    ...(plan.download
      ? [downloadMbPerS[traffic], cpuMsPerMb[traffic], localnetCpuMsPerMb[traffic], peakMb[traffic]]
      : []),
  ];
  for (const f of planned) f.rounds[side].push(got.get(f) ?? stoppedBy);
  if (plan.quickFigures)
    for (let i = 0; i < SMALL_GETS_PER_SESSION; i++) smallFirstByteMs.rounds[side].push(smallGets[i] ?? stoppedBy);
}

// ---- figures

interface Spread {
  min: number;
  median: number;
  max: number;
  n: number;
}

function spread(values: number[]): Spread | undefined {
  if (!values.length) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { min: s[0]!, median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, max: s[s.length - 1]!, n: s.length };
}

const numbers = (xs: Array<number | string>) => xs.filter((x): x is number => typeof x === 'number');

/** ours ÷ theirs, round by round, over the rounds where both have a value. */
function ratios(f: Figure): number[] {
  const out: number[] = [];
  f.rounds.ours.forEach((o, i) => {
    const t = f.rounds.theirs[i];
    if (typeof o === 'number' && typeof t === 'number' && t !== 0) out.push(o / t);
  });
  return out;
}

function format(v: number): string {
  if (Math.abs(v) >= 1000) return Math.round(v).toString();
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toPrecision(3);
}

function cell(s: Spread | undefined): string {
  if (!s) return '—';
  return s.n === 1 || s.min === s.max ? format(s.median) : `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

/** Each modelled figure: its limit, our median, the share of the limit ours reaches (limit ÷ ours
 * for a time, ours ÷ limit for a rate), and the best ours/theirs a client at the limit would get
 * against theirs' median (limit ÷ theirs, for both). */
function closeness(): Array<{
  f: Figure;
  limit: Limit;
  ours: number | undefined;
  share: number | undefined;
  best: number | undefined;
}> {
  const modelled: Array<[Figure, Limit]> = [
    [smallFirstByteMs, FIRST_BYTE_LIMIT],
    [downloadMbPerS.cover_on, DOWNLOAD_LIMIT_COVER_ON],
    [
      downloadMbPerS.cover_off,
      downloadLimitCoverOff(spread(numbers(localnetCpuMsPerMb.cover_off.rounds.ours))?.median),
    ],
  ];
  return modelled.map(([f, limit]) => {
    const ours = spread(numbers(f.rounds.ours))?.median;
    const share = ours === undefined || ours === 0 ? undefined : limit.unit === 'ms' ? limit.value / ours : ours / limit.value;
    const theirs = spread(numbers(f.rounds.theirs))?.median;
    const best = theirs === undefined || theirs === 0 ? undefined : limit.value / theirs;
    return { f, limit, ours, share, best };
  });
}

function report(): void {
  const rows = figures.map((f) => [
    `${f.what} [${f.unit}]`,
    cell(spread(numbers(f.rounds.ours))),
    cell(spread(numbers(f.rounds.theirs))),
    cell(spread(ratios(f))),
    `${numbers(f.rounds.ours).length}/${numbers(f.rounds.theirs).length}`,
  ]);
  const head = ['figure', 'ours: median (min–max)', 'theirs: median (min–max)', 'ours/theirs', 'rounds'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(
    `\nside by side: our packages vs the published ones, headless Chromium, one localnet (servers on ${INTERNET === 'kernel' ? "Linux's" : "lwIP's"} TCP)`,
  );
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  const notes = figures.flatMap((f) =>
    SIDES.flatMap((side) =>
      [...new Set(f.rounds[side].filter((x): x is string => typeof x === 'string'))].map((why) => `  ${f.name}, ${side}: ${why}`),
    ),
  );
  if (notes.length) console.log(`not measured:\n${notes.join('\n')}`);
  const limitRows = closeness().map(({ f, limit, ours, share, best }) => [
    `${f.what} [${limit.unit}]`,
    format(limit.value),
    ours === undefined ? '—' : format(ours),
    share === undefined ? '—' : `${Math.round(share * 100)}%`,
    best === undefined ? '—' : format(best),
    limit.how,
  ]);
  const limitHead = ['figure', 'limit', 'ours (median)', 'ours of the limit', 'limit/theirs', 'the limit is'];
  const limitWidths = limitHead.map((h, i) => Math.max(h.length, ...limitRows.map((r) => r[i]!.length)));
  const limitLine = (r: string[]) =>
    r.map((c, i) => (i === 0 || i === 5 ? c.padEnd(limitWidths[i]!) : c.padStart(limitWidths[i]!))).join('  ');
  console.log(
    `\nwhat localnet allows at best (bench/side_by_side/limit.ts), how close ours comes, and the best ours/theirs it leaves`,
  );
  console.log(limitLine(limitHead));
  for (const r of limitRows) console.log(limitLine(r));
  console.log('');
  for (const f of figures) {
    const lines: Array<[string, string, Spread | undefined]> = [
      [`${f.name}_ours`, f.unit, spread(numbers(f.rounds.ours))],
      [`${f.name}_theirs`, f.unit, spread(numbers(f.rounds.theirs))],
      [`${f.name}_ratio`, 'ratio', spread(ratios(f))],
    ];
    for (const [bench, unit, s] of lines) {
      if (!s) continue;
      // six significant digits, but whole numbers (bytes) whole
      const round = (v: number) => (Number.isInteger(v) ? v : Number(v.toPrecision(6)));
      console.log(JSON.stringify({ bench, value: round(s.median), unit, min: round(s.min), max: round(s.max), rounds: s.n }));
    }
  }
  for (const { f, limit, share, best } of closeness()) {
    console.log(JSON.stringify({ bench: `${f.name}_limit`, value: Number(limit.value.toPrecision(6)), unit: limit.unit }));
    if (share !== undefined)
      console.log(JSON.stringify({ bench: `${f.name}_ours_of_limit`, value: Number(share.toPrecision(4)), unit: 'fraction' }));
    if (best !== undefined)
      console.log(JSON.stringify({ bench: `${f.name}_limit_ratio`, value: Number(best.toPrecision(4)), unit: 'ratio' }));
  }
}

// ---- the run

const started = performance.now();
let localnet: Localnet | undefined;
let server: StaticServer | undefined;
const outdir = await mkdtemp(path.join(os.tmpdir(), 'mixnet-bench-'));
try {
  await measureBundles();
  await buildPages(outdir);
  server = await serveDirectory(outdir);
  localnet = await startLocalnet(LOCALNET_BIN, {
    logPath: LOCALNET_LOG,
    args: INTERNET === 'kernel' ? ['--kernel-internet'] : [],
  });
  if (!localnet.status.ipr_address) throw new Error('localnet has no IPR');
  const plans: SessionPlan[] = [];
  for (let round = 0; round < Math.max(ROUNDS, DOWNLOAD_ROUNDS); round++) {
    for (const side of SIDES) {
      const download = round < DOWNLOAD_ROUNDS;
      if (round < ROUNDS || download) plans.push({ side, traffic: 'cover_on', quickFigures: round < ROUNDS, download });
      if (download) plans.push({ side, traffic: 'cover_off', quickFigures: false, download });
    }
  }
  log(`${plans.length} sessions: ${ROUNDS} rounds with the defaults, ${DOWNLOAD_ROUNDS} of 10 MB downloads per traffic setting`);
  for (const plan of plans) await runSession(plan, localnet, server);
  report();
} finally {
  await server?.close();
  await localnet?.stop();
  await rm(outdir, { recursive: true, force: true });
  log(`done in ${Math.round((performance.now() - started) / 1000)} s; localnet's log: ${path.relative(REPO_ROOT, LOCALNET_LOG)}`);
}
