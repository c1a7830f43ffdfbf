import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A directory for runs several test files share (test/shared-runs.ts), removed after the tests. */
    sharedRunsDir: string;
  }
}

const TSC = ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'];
/** tsc's record of what it last emitted; inside dist/, so removing dist/ (npm run clean) removes it too. */
const BUILD_INFO = 'dist/.tsbuildinfo';

/** The sources whose compiled file is missing from dist/ (tsc --incremental does not notice a deleted output). */
function missingOutputs(dir = 'src'): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return missingOutputs(path);
    if (!e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) return [];
    return existsSync(join('dist', relative('src', path)).replace(/\.ts$/, '.js')) ? [] : [path];
  });
}

function tsc(args: string[]): void {
  const r = spawnSync(process.execPath, [...TSC, ...args], { encoding: 'utf8' });
  if (r.error) throw new Error(`could not run tsc to build dist/ for the tests: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`tsc reported errors while building dist/ (tsconfig.build.json); fix them and rerun the tests:\n${r.stdout}${r.stderr}`);
  }
}

/**
 * Tests that run the CLI as a child process (and the gradient workers) need dist/ built from the
 * current sources. A type error stops the run here: tsc still emits, but tests run against code
 * that does not typecheck prove nothing, and the error would scroll past unnoticed. The build is
 * incremental (a few seconds when dist/ is current, instead of ~20 s); if an output went missing
 * since, everything is built again.
 */
export default function setup(project: TestProject): () => void {
  tsc(['--incremental', '--tsBuildInfoFile', BUILD_INFO]);
  if (missingOutputs().length) {
    rmSync(BUILD_INFO, { force: true });
    tsc(['--incremental', '--tsBuildInfoFile', BUILD_INFO]);
  }
  // Made lazily by the first test file that asks for a shared run; here only its place, per test run.
  const shared = mkdtempSync(join(tmpdir(), 'prune-once-shared-runs-'));
  project.provide('sharedRunsDir', shared);
  return () => rmSync(shared, { recursive: true, force: true });
}
