// The published packages' own browser suite (nymtech/nym, branch
// max/smolmix-wasm: wasm/smolmix/tests and the internal-dev pages it drives),
// its scenarios run on our packages against localnet instead of the internet:
//  - smoke: a setup reaches ready, with nothing on the console's error side;
//  - the headless suite, once without and once with cover and Poisson
//    traffic, each on a fresh page as theirs (their tunnel cannot be set up
//    twice in a page): a cold HTTPS GET of httpbin /get, the same GET warm on
//    the pooled connection (the pooling itself shown with nginx, whose access
//    log names connections), then concurrent httpbin /bytes of mixed sizes;
//  - the internal-dev page's drip stress: slow bodies of 100 bytes whose
//    durations sit below, at and beyond its request-timeout box, all at once.
// Where theirs accepts 80% over the internet, a local network must give all.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalnetPage, type LocalnetPage } from './support/localnet-page';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const HTTPBIN = 'https://httpbin.mixnet.test';
const NGINX = 'https://nginx.mixnet.test';

/** httpbin /bytes sizes of their stress test, each fetched twice, all at once. */
const STRESS_SIZES = [128, 1024, 10240, 102400, 128, 1024, 10240, 102400];

/** Their drip profiles, in seconds, scaled to a 10 s request-timeout box (theirs is 60 s):
 * half of it, 92%, 108%, and 83% after a 17% delay. mixFetch has no request timeout
 * unless one is asked for, so every one must finish. */
const DRIP_PROFILES = [
  { label: 'safe', duration: 5, delay: 0 },
  { label: 'boundary', duration: 9, delay: 0 },
  { label: 'over', duration: 11, delay: 0 },
  { label: 'slow-start', duration: 8, delay: 2 },
];
const DRIP_BYTES = 100;

const TRAFFIC_CONFIGS = [
  { name: 'no cover, no Poisson', disableCoverTraffic: true, disablePoissonTraffic: true },
  { name: 'with cover + Poisson', disableCoverTraffic: false, disablePoissonTraffic: false },
];

interface TimedGet {
  status: number;
  url: string;
  ms: number;
}

describe('the published packages\' suite, on ours, against localnet', () => {
  let harness: LocalnetPage | undefined;

  beforeAll(async () => {
    harness = await startLocalnetPage('published-suite', path.join(HERE, 'fetch.page.ts'));
  });

  afterAll(async () => {
    await harness?.close();
  });

  async function setUpFreshPage(traffic: Record<string, boolean>): Promise<void> {
    await harness!.load();
    const opts = {
      ...harness!.tunnelOptions,
      preferredIpr: harness!.localnet.status.ipr_address,
      clientId: `published-suite-${Math.random().toString(36).slice(2, 8)}`,
      ...traffic,
    };
    await harness!.page.evaluate((o) => window.setupMixTunnel(o), opts);
  }

  const timedGet = (url: string): Promise<TimedGet> =>
    harness!.page.evaluate(async (u) => {
      const started = performance.now();
      const res = await window.mixFetch(u);
      const json = (await res.json()) as { url: string };
      return { status: res.status, url: json.url, ms: performance.now() - started };
    }, url);

  it('smoke: the tunnel comes up through the exit IPR, with no console errors', async () => {
    await setUpFreshPage({ disableCoverTraffic: true, disablePoissonTraffic: true });
    const stats = await harness!.page.evaluate(() => window.getTunnelStats());
    expect(stats.state).toBe('ready');
    expect(stats.ipv4).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(harness!.browser.problems).toEqual([]);
  });

  for (const { name, ...traffic } of TRAFFIC_CONFIGS) {
    describe(name, () => {
      let cold: TimedGet | undefined;

      beforeAll(async () => {
        await setUpFreshPage(traffic);
      });

      it('cold HTTPS GET (DNS, TCP, TLS and HTTP) of httpbin /get', async () => {
        cold = await timedGet(`${HTTPBIN}/get`);
        expect(cold).toMatchObject({ status: 200, url: `${HTTPBIN}/get` });
      });

      it('warm HTTPS GET of the same URL, on the pooled connection', async () => {
        const warm = await timedGet(`${HTTPBIN}/get`);
        expect(warm).toMatchObject({ status: 200, url: `${HTTPBIN}/get` });
        console.log(
          `${name}: cold ${Math.round(cold!.ms)} ms, warm ${Math.round(warm.ms)} ms ` +
            `(${(cold!.ms / warm.ms).toFixed(1)}x from connection pooling)`,
        );
      });

      it('a warm GET goes on the cold one\'s connection, as nginx\'s access log shows', async () => {
        // httpbin (gunicorn) logs no connections; nginx does, one line per request
        const marker = `pooled-${Math.random().toString(36).slice(2, 8)}`;
        await harness!.page.evaluate(async (url) => {
          for (let i = 0; i < 2; i++) await (await window.mixFetch(url)).text();
        }, `${NGINX}/small.txt?${marker}`);
        const log = await readFile(path.join(harness!.localnet.runDir, 'nginx-access.log'), 'utf8');
        const served = log
          .split('\n')
          .filter((line) => line.includes(marker))
          .map((line) => /connection=(\d+) requests=(\d+)/.exec(line)!.slice(1).map(Number));
        expect(served).toHaveLength(2);
        const [[coldConnection, coldRequests], [warmConnection, warmRequests]] = served as [number[], number[]];
        expect(warmConnection).toBe(coldConnection);
        expect(warmRequests).toBe(coldRequests! + 1);
      });

      it(`stress: ${STRESS_SIZES.length} concurrent httpbin /bytes of mixed sizes all arrive whole`, { timeout: 180_000 }, async () => {
        const started = Date.now();
        const results = await harness!.page.evaluate(
          ({ base, sizes }) =>
            Promise.all(
              sizes.map(async (size) => {
                try {
                  const res = await window.mixFetch(`${base}/bytes/${size}`);
                  return { size, status: res.status, length: (await res.arrayBuffer()).byteLength };
                } catch (e) {
                  return { size, error: String(e) };
                }
              }),
            ),
          { base: HTTPBIN, sizes: STRESS_SIZES },
        );
        console.log(`${name}: ${STRESS_SIZES.length} concurrent /bytes in ${Date.now() - started} ms`);
        expect(results).toEqual(STRESS_SIZES.map((size) => ({ size, status: 200, length: size })));
      });

      it('drip stress: slow bodies below, at and beyond their timeout box all finish', { timeout: 120_000 }, async () => {
        const results = await harness!.page.evaluate(
          ({ base, profiles, bytes }) =>
            Promise.all(
              profiles.map(async ({ label, duration, delay }) => {
                try {
                  const url = `${base}/drip?duration=${duration}&numbytes=${bytes}&delay=${delay}&code=200`;
                  const res = await window.mixFetch(url);
                  return { label, status: res.status, length: (await res.arrayBuffer()).byteLength };
                } catch (e) {
                  return { label, error: String(e) };
                }
              }),
            ),
          { base: HTTPBIN, profiles: DRIP_PROFILES, bytes: DRIP_BYTES },
        );
        expect(results).toEqual(DRIP_PROFILES.map(({ label }) => ({ label, status: 200, length: DRIP_BYTES })));
      });

      it(`sent ${traffic.disableCoverTraffic ? 'no' : 'some'} cover packets, as configured`, async () => {
        const stats = await harness!.page.evaluate(() => window.getTunnelStats());
        if (traffic.disableCoverTraffic) expect(stats.coverPacketsSent).toBe(0);
        else expect(stats.coverPacketsSent).toBeGreaterThan(0);
      });

      afterAll(async () => {
        await harness?.page.evaluate(() => window.disconnectMixTunnel());
      });
    });
  }

  it('page and worker reported no errors', () => {
    expect(harness!.browser.problems).toEqual([]);
  });
});
