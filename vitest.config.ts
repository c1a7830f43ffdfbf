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

/**
 * Files that need a process of their own: they measure or mock what the other files share in a
 * reused process (the wasm heap's growth, node:fs, the schedule registry, which backends `auto`
 * finds before any is loaded). They run in the threads pool, one fresh thread each, one at a time.
 */
const OWN_PROCESS = ['test/backend/wasm-kernels.test.ts', 'test/util/fs.test.ts', 'test/prune/schedules.test.ts', 'test/reliability/backend.test.ts'];

export default defineConfig({
  test: {
    // Training tests are CPU-bound; two workers match the 2-core CI machine.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    sequence: { sequencer: SlowFirstSequencer },
    poolOptions: {
      // A test process is reused from file to file: tfjs, ONNX Runtime and the rest load once per
      // worker instead of once per file (~100 s of CPU over the suite). Files must leave the process
      // as they found it (a file that changes directory changes back in afterEach).
      forks: { isolate: false },
      threads: { maxThreads: 1, minThreads: 1 },
    },
    projects: [
      {
        extends: true,
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: OWN_PROCESS, pool: 'forks', globalSetup: ['test/global-setup.ts'] },
      },
      { extends: true, test: { name: 'own-process', include: OWN_PROCESS, pool: 'threads', isolate: true } },
    ],
  },
});
