import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A directory for runs several test files share (test/shared-runs.ts), removed after the tests. */
    sharedRunsDir: string;
  }
}

/**
 * Tests that run the CLI as a child process (and the gradient workers) need dist/ built from the
 * current sources. A type error stops the run here: tsc still emits, but tests run against code
 * that does not typecheck prove nothing, and the error would scroll past unnoticed.
 */
export default function setup(project: TestProject): () => void {
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
  if (r.error) throw new Error(`could not run tsc to build dist/ for the tests: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`tsc reported errors while building dist/ (tsconfig.build.json); fix them and rerun the tests:\n${r.stdout}${r.stderr}`);
  }
  // Made lazily by the first test file that asks for a shared run; here only its place, per test run.
  const shared = mkdtempSync(join(tmpdir(), 'prune-once-shared-runs-'));
  project.provide('sharedRunsDir', shared);
  return () => rmSync(shared, { recursive: true, force: true });
}
