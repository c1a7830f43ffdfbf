/**
 * One writer per run directory: the first run holds an exclusive lock; the second
 * fails at once naming the holder; a lock left by a dead process is taken over with a line saying so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/pipeline/run.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { cli, runLogged, SMOKE, TINY_SETS } from './fixtures.js';

const LOCK = '.prune-once.lock';
// A live process that is not us: the holder of a lock in these tests.
const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
afterAll(() => {
  holder.kill('SIGKILL');
});
beforeAll(async () => {
  await useTestBackend();
});

function lockedDir(pid: number, host = hostname()): string {
  const dir = join(tempDir('prune-once-lock-'), 'run');
  mkdirSync(dir);
  writeFileSync(join(dir, '.prune-once-run'), '{}\n');
  writeFileSync(join(dir, LOCK), JSON.stringify({ pid, host, startedAt: '2026-01-01T00:00:00.000Z', command: 'prune-once run' }));
  return dir;
}

describe('one writer per run directory', () => {
  it('a second run fails at once, naming the holder (CLI, non-zero exit)', async () => {
    const dir = lockedDir(holder.pid!);
    const r = await cli(['run', SMOKE, '--out', dir, '--quiet', '--backend', 'wasm', '--until', 'teacher', ...TINY_SETS.flatMap((s) => ['--set', s])]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`pid ${holder.pid}`);
    expect(r.stderr).toContain(hostname());
    expect(r.stderr).toContain(join(dir, LOCK));
    expect(existsSync(join(dir, 'teacher'))).toBe(false);
    // The holder's lock is untouched.
    expect(JSON.parse(readFileSync(join(dir, LOCK), 'utf8')).pid).toBe(holder.pid);
  });

  it('of two concurrent runs into one directory, one fails naming the other', async () => {
    const dir = join(tempDir('prune-once-lock-'), 'run');
    const one = () =>
      runPipeline({ pipelinePath: SMOKE, outDir: dir, sets: TINY_SETS, until: 'teacher', quiet: true, backend: 'wasm' }).then(
        () => ({ error: undefined as Error | undefined }),
        (error: Error) => ({ error }),
      );
    const [a, b] = await Promise.all([one(), one()]);
    const failed = [a, b].filter((r) => r.error);
    expect(failed).toHaveLength(1);
    expect(failed[0].error!.message).toMatch(new RegExp(`in use by pid ${process.pid} on ${hostname()}`));
    expect(existsSync(join(dir, LOCK))).toBe(false);
  });

  it('takes over a lock left by a dead process on this host, saying so', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout.trim());
    const dir = lockedDir(deadPid);
    const r = await runLogged({ pipelinePath: SMOKE, outDir: dir, sets: TINY_SETS, until: 'teacher' });
    expect(r.error).toBeUndefined();
    expect(r.log).toMatch(new RegExp(`took over the lock of pid ${deadPid} .*no longer running`));
    expect(existsSync(join(dir, LOCK))).toBe(false);
  });

  it('does not take over a lock from another host', async () => {
    const dir = lockedDir(1, 'some-other-machine');
    const r = await runLogged({ pipelinePath: SMOKE, outDir: dir, sets: TINY_SETS, until: 'teacher' });
    expect(r.error?.message).toMatch(/in use by pid 1 on some-other-machine/);
  });
});
