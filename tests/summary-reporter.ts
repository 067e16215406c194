// Prints one closing line, `N passed, N failed`, after Vitest's own summary.
// Used by both runners (vitest.config.ts, tests/e2e/vitest.config.ts) next to
// the default reporter; the Makefile and CI read that line.
import type { Reporter, TestModule } from 'vitest/node';

type RunEndReason = 'passed' | 'interrupted' | 'failed';

export default class SummaryReporter implements Reporter {
  private passed = 0;
  private failed = 0;
  private counted = false;

  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
    _reason: RunEndReason,
  ): void {
    let passed = 0;
    let failed = 0;
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failedHere += 1;
      }
      // A module that failed outside any test (import error, failing
      // beforeAll/afterAll) still counts as one failure.
      if (failedHere === 0 && module.state() === 'failed') failedHere = 1;
      failed += failedHere;
    }
    failed += unhandledErrors.length;
    this.passed = passed;
    this.failed = failed;
    this.counted = true;
  }

  // Runs after onTestRunEnd and after the default reporter's summary
  // (reporters are called in the order they are listed).
  onFinished(): void {
    if (!this.counted) return;
    process.stdout.write(`${this.passed} passed, ${this.failed} failed\n`);
  }
}
