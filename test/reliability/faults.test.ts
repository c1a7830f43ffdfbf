/**
 * A full disk and a Ctrl-C in the middle of a run. The faults are placed deterministically with the
 * PRUNE_ONCE_TEST_FAULT hook (src/util/fault.ts), not by racing a short-lived file or mounting a
 * small file system (which needs root): `<during-write|after-write>:<path suffix>[#n]:<signal or
 * errno>` sends the signal to the process itself, or fails the write with that errno, in the middle
 * of (or right after) the n-th atomic write of a file whose path ends so.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/checkpoint/format.js';
import { ResumeState } from '../../src/pipeline/stages/train.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { cli, listFiles, runLogged, SMOKE, TINY_SETS } from './fixtures.js';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const tmpFiles = (dir: string) => listFiles(dir).filter((f) => f.includes('.tmp-'));

beforeAll(async () => {
  await useTestBackend();
});

describe('faults', () => {
  it('a stage whose checkpoint write hits ENOSPC fails naming the file and the fix; the previous checkpoint and earlier stages survive, and a rerun resumes', async () => {
    const out = join(tempDir('prune-once-enospc-'), 'run');
    const sets = [...TINY_SETS, 'stages.prune-distill.train.steps=4', 'stages.prune-distill.train.checkpointEvery=2'];
    const run = (fault: string) =>
      cli(['run', SMOKE, '--out', out, '--quiet', '--backend', 'wasm', '--until', 'prune-distill', ...sets.flatMap((s) => ['--set', s])], {
        env: { PRUNE_ONCE_TEST_FAULT: fault },
      });
    // Interrupted in prune-distill right after its first resume checkpoint (step 2).
    const killed = await run('after-write:prune-distill/resume.ckpt:SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const teacherFiles = ['teacher/model.ckpt', 'teacher/result.json'].map((f) => [f, sha(join(out, f))]);
    const resume = join(out, 'prune-distill', 'resume.ckpt');
    const resumeSha = sha(resume);
    // The disk fills up halfway through the rerun's first checkpoint write (the stage's next
    // resume.ckpt or its model.ckpt): the write fails with the errno writeSync gives on a full disk,
    // inside the same atomic write (src/util/fault.ts).
    const full = await run('during-write:.ckpt:ENOSPC');
    expect(full.status).toBe(1);
    expect(full.stderr).toMatch(/no space left on device/);
    expect(full.stderr).toContain(join(out, 'prune-distill'));
    expect(full.stderr).toMatch(/free some space.*rerun/);
    expect(full.stderr).not.toMatch(/^error: ENOSPC/m);
    for (const [f, h] of teacherFiles) expect(sha(join(out, f)), f).toBe(h);
    expect(sha(resume)).toBe(resumeSha);
    expect(loadCheckpoint(resume, ResumeState).state.loop).toMatchObject({ step: 2 });
    expect(existsSync(join(out, 'prune-distill', 'model.ckpt'))).toBe(false);
    expect(tmpFiles(out)).toEqual([]);
    expect(existsSync(join(out, '.prune-once.lock'))).toBe(false);
    // With space again, the run resumes and finishes.
    const again = await runLogged({ pipelinePath: SMOKE, outDir: out, sets, until: 'prune-distill' });
    expect(again.error).toBeUndefined();
    expect(again.log).toMatch(/prune-distill: resuming from step 2/);
  }, 300_000);

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
