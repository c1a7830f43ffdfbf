import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that take tens of seconds, longest first, so that neither of the two workers is left with a
 * long file while the other has finished (on a fresh clone vitest has no durations and would order
 * by file size). The first two make the shared runs (test/shared-runs.ts) the files after them
 * read: the multi-task run (readme), the smoke run (smoke), so both are made at once, one per worker,
 * and no file waits idle for a run the other worker has not started yet.
 */
const SLOW_FIRST = [
  'test/cli/readme.test.ts',
  'test/pipeline/smoke.test.ts',
  'test/sweep/sweep.test.ts',
  'test/sweep/tasks.test.ts',
  'test/package/pack.test.ts',
  'test/web/browser.test.ts',
  'test/export/transformers-js.test.ts',
  'test/reliability/ownership.test.ts',
  'test/pipeline/multitask.test.ts',
  'test/pipeline/task-budgets.test.ts',
  'test/reliability/faults.test.ts',
  'test/web/transformers-js.test.ts',
  'test/reliability/errors.test.ts',
  'test/reliability/verify.test.ts',
  'test/import/roundtrip.test.ts',
  'test/web/safety.test.ts',
  'test/reliability/lock.test.ts',
  'test/train/parallel.test.ts',
];

class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rest = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = SLOW_FIRST.indexOf(relative(f.project.config.root, f.moduleId).replaceAll('\\', '/'));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    // Array.prototype.sort is stable: the other files keep vitest's order (durations of the last run, else size).
    return rest.sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Training tests are CPU-bound; two workers match the 2-core CI machine.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    sequence: { sequencer: SlowFirstSequencer },
  },
});
