/**
 * Finding 5 (faults): a full disk and a Ctrl-C. The faults are placed deterministically with the
 * PRUNE_ONCE_TEST_FAULT hook (src/util/fault.ts), not by racing a short-lived file:
 * `<during-write|after-write>:<path suffix>[#n]:<signal>` sends the signal to the process itself
 * in the middle of (or right after) the n-th atomic write of a file whose path ends so.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/checkpoint/format.js';
import { ResumeState } from '../../src/pipeline/stages/train.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { cli, listFiles, runLogged, SMOKE, TINY_SETS } from './fixtures.js';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const tmpFiles = (dir: string) => listFiles(dir).filter((f) => f.includes('.tmp-'));

beforeAll(async () => {
  await useTestBackend();
});

/** A small tmpfs for the test, where the machine allows mounting one (root in a privileged container). */
function mountTmpfs(dir: string, size: string): string | null {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? null : `cannot mount a tmpfs here (${(r.stderr || r.error?.message || '').trim()}); needs root with CAP_SYS_ADMIN`;
}

const mnt = join(tempDir('prune-once-enospc-'), 'mnt');
const skipReason = mountTmpfs(mnt, '64m');
afterAll(() => {
  if (!skipReason) spawnSync('umount', [mnt]);
});

describe('faults', () => {
  it.skipIf(skipReason !== null)(
    `a stage that hits ENOSPC fails clearly; the previous checkpoint and earlier stages survive${skipReason ? ` (skipped: ${skipReason})` : ''}`,
    async () => {
      const out = join(mnt, 'run');
      const sets = [...TINY_SETS, 'stages.prune-distill.train.steps=4', 'stages.prune-distill.train.checkpointEvery=2'];
      // Interrupted in prune-distill right after its first resume checkpoint (step 2).
      const killed = await cli(['run', SMOKE, '--out', out, '--quiet', '--backend', 'wasm', '--until', 'prune-distill', ...sets.flatMap((s) => ['--set', s])], {
        env: { PRUNE_ONCE_TEST_FAULT: 'after-write:prune-distill/resume.ckpt:SIGKILL' },
      });
      expect(killed.signal).toBe('SIGKILL');
      const teacherFiles = ['teacher/model.ckpt', 'teacher/result.json'].map((f) => [f, sha(join(out, f))]);
      const resume = join(out, 'prune-distill', 'resume.ckpt');
      const resumeSha = sha(resume);
      // Leave a few kB free: not enough for prune-distill's model.ckpt.
      const used = Number(execFileSync('df', ['--output=used', '-B1', mnt], { encoding: 'utf8' }).split('\n')[1].trim());
      execFileSync('mount', ['-o', `remount,size=${used + 64 * 1024}`, mnt]);
      const r = await runLogged({ pipelinePath: SMOKE, outDir: out, sets, until: 'prune-distill' });
      expect(r.error?.message).toMatch(/no space left on device/);
      expect(r.error?.message).toContain(join(out, 'prune-distill'));
      expect(r.error?.message).toMatch(/free some space.*rerun/);
      expect(r.error?.message).not.toMatch(/^ENOSPC/);
      for (const [f, h] of teacherFiles) expect(sha(join(out, f)), f).toBe(h);
      expect(sha(resume)).toBe(resumeSha);
      expect(loadCheckpoint(resume, ResumeState).state.loop).toMatchObject({ step: 2 });
      expect(tmpFiles(out)).toEqual([]);
      expect(existsSync(join(out, '.prune-once.lock'))).toBe(false);
      // With space again, the run resumes and finishes.
      execFileSync('mount', ['-o', 'remount,size=64m', mnt]);
      const again = await runLogged({ pipelinePath: SMOKE, outDir: out, sets, until: 'prune-distill' });
      expect(again.error).toBeUndefined();
      expect(again.log).toMatch(/prune-distill: resuming from step 2/);
    },
    300_000,
  );

  it('Ctrl-C in the middle of a checkpoint write leaves a loadable checkpoint, no temp file and no lock', async () => {
    const out = join(tempDir('prune-once-sigint-'), 'run');
    const sets = [...TINY_SETS, 'stages.teacher.train.steps=6', 'stages.teacher.train.checkpointEvery=1'];
    const r = await cli(['run', SMOKE, '--out', out, '--backend', 'wasm', '--until', 'teacher', ...sets.flatMap((s) => ['--set', s])], {
      env: { PRUNE_ONCE_TEST_FAULT: 'during-write:teacher/resume.ckpt#2:SIGINT' },
    });
    expect(r.status).toBe(130);
    expect(r.stderr).toMatch(/interrupted \(SIGINT\)/);
    const resume = join(out, 'teacher', 'resume.ckpt');
    // The signal is handled between steps, after the write in progress completed: the checkpoint is
    // that of step 2 (or a later one, when a busy machine delivers the signal a step late).
    const step = loadCheckpoint(resume, ResumeState).state.loop.step;
    expect(step).toBeGreaterThanOrEqual(2);
    expect(step).toBeLessThan(6);
    expect(tmpFiles(out)).toEqual([]);
    expect(existsSync(join(out, '.prune-once.lock'))).toBe(false);
    const again = await runLogged({ pipelinePath: SMOKE, outDir: out, sets, until: 'teacher' });
    expect(again.error).toBeUndefined();
    expect(again.log).toContain(`teacher: resuming from step ${step} `);
  }, 300_000);
});
