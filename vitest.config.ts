import { defineConfig } from 'vitest/config';
import SummaryReporter from './tests/summary-reporter';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts'],
    environment: 'node',
    reporters: ['default', new SummaryReporter()],
  },
});
