import { spawnSync } from 'node:child_process';

/**
 * Tests that run the CLI as a child process (and the gradient workers) need dist/ built from the
 * current sources. A type error stops the run here: tsc still emits, but tests run against code
 * that does not typecheck prove nothing, and the error would scroll past unnoticed.
 */
export default function setup(): void {
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
  if (r.error) throw new Error(`could not run tsc to build dist/ for the tests: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`tsc reported errors while building dist/ (tsconfig.build.json); fix them and rerun the tests:\n${r.stdout}${r.stderr}`);
  }
}
