import { spawnSync } from 'node:child_process';

/**
 * Tests that run the CLI as a child process need dist/ built from the current sources. Type errors
 * are reported (and fail `npm ci`'s build and `npm run typecheck`) but tsc still emits, so the
 * tests of everything else can run.
 */
export default function setup(): void {
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
  if (r.status !== 0) process.stderr.write(`warning: tsc reported errors while building dist/ for the CLI tests:\n${r.stdout}${r.stderr}\n`);
}
