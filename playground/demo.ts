// `make demo`: starts localnet and the playground, takes the playground's
// scripted tour in headless Chromium and prints what the page showed, then
// keeps the playground up for a person until Ctrl-C. DEMO_ONESHOT=1 stops
// after the tour, with a non-zero exit status if any step failed.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../tests/e2e/support/bundle';
import { startPlayground } from './server';
import { takeTourInChromium } from './tour';

const SCREENSHOT = 'build/demo/playground.png';
const oneShot = process.env['DEMO_ONESHOT'] === '1';

const started = performance.now();
console.log('demo: starting localnet and the playground');
const playground = await startPlayground();
let passed = false;
try {
  console.log(`demo: playground at ${playground.url} (localnet directory ${playground.localnet.status.directory_url})`);
  await mkdir(path.join(REPO_ROOT, path.dirname(SCREENSHOT)), { recursive: true });
  const tour = await takeTourInChromium(playground.url, path.join(REPO_ROOT, SCREENSHOT));
  console.log(`demo: the tour in ${tour.userAgent}`);
  for (const step of tour.steps) console.log(`  ${step.ok ? 'ok    ' : 'FAILED'} ${step.name}: ${step.summary}`);
  for (const problem of tour.problems) console.log(`  problem: ${problem}`);
  console.log(`  screenshot: ${SCREENSHOT}`);
  passed = tour.steps.every((s) => s.ok) && tour.problems.length === 0;
  console.log(`demo ${passed ? 'passed' : 'FAILED'} in ${Math.round(performance.now() - started)} ms`);
} catch (e) {
  console.log(`demo FAILED: ${(e as Error).stack ?? String(e)}`);
}

if (!oneShot) {
  console.log(`\nOpen ${playground.url} in a browser on this machine to try it yourself; Ctrl-C stops everything.`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
await playground.close();
process.exit(passed ? 0 : 1);
