import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import SummaryReporter from '../summary-reporter';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['tests/interop/**/*.interop.ts'],
    environment: 'node',
    // One Chromium and one localnet at a time: the machines have two cores.
    fileParallelism: false,
    // The mixnet has real delays; every wait inside a test is bounded
    // below these.
    testTimeout: 180_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
    reporters: ['default', new SummaryReporter()],
  },
});
