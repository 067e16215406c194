// The playground's scripted tour, as `DEMO_ONESHOT=1 make demo` takes it:
// localnet and the playground's server started, the page driven through its
// own controls in Chromium, and every step of the tour checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground, type Playground } from '../../playground/server';
import { takeTourInChromium, type TourResult, type TourStep } from '../../playground/tour';

describe('the playground tour against localnet', () => {
  let playground: Playground | undefined;
  let tour: TourResult | undefined;

  beforeAll(async () => {
    playground = await startPlayground();
    tour = await takeTourInChromium(playground.url);
  }, 300_000);

  afterAll(async () => {
    await playground?.close();
  });

  const step = (name: TourStep['name']): TourStep | undefined => tour!.steps.find((s) => s.name === name);

  it('sets the tunnel up', () => {
    expect(step('setup')).toMatchObject({ ok: true, summary: expect.stringMatching(/^ready in \d+ ms$/) });
  });

  it('fetches small.txt from nginx', () => {
    expect(step('fetch')).toMatchObject({ ok: true, summary: expect.stringContaining('200 OK, 30 bytes') });
    expect(step('fetch')!.summary).toContain('hello from the localnet nginx');
  });

  it('resolves nginx.mixnet.test to all its addresses, with TTLs', () => {
    expect(step('dns')).toMatchObject({ ok: true });
    expect(step('dns')!.summary).toMatch(/192\.0\.2\.10 IPv4 TTL \d+ s; 2001:db8::10 IPv6 TTL \d+ s/);
  });

  it('echoes a WebSocket message', () => {
    expect(step('websocket')).toMatchObject({ ok: true, summary: expect.stringContaining('close: code 1000') });
  });

  it('shows the live figures of a ready tunnel', () => {
    expect(step('figures')).toMatchObject({ ok: true, summary: expect.stringMatching(/real packets \d+\.\d\/s/) });
  });

  it('page and worker reported no errors', () => {
    expect(tour!.problems).toEqual([]);
  });
});
