/**
 * A rerun must not trust result.json alone: a truncated or bit-flipped checkpoint was reported
 * "up to date", and deleting it (as export advised) led to "run the pipeline first", a loop. A
 * stage whose outputs do not verify is redone, with a line naming the file, and so is every later one.
 */
import { cpSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/checkpoint/format.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { runLogged, SMOKE, TINY_SETS } from './fixtures.js';

let base = '';
const UNTIL = 'prune-distill' as const;

beforeAll(async () => {
  await useTestBackend();
  base = join(tempDir('prune-once-verify-'), 'base');
  const r = await runLogged({ pipelinePath: SMOKE, outDir: base, sets: TINY_SETS, until: UNTIL });
  if (r.error) throw r.error;
}, 300_000);

/** A copy of the finished base run, to damage. */
function copyOfBase(): string {
  const dir = join(tempDir('prune-once-verify-'), 'run');
  cpSync(base, dir, { recursive: true });
  rmSync(join(dir, '.prune-once.lock'), { force: true });
  return dir;
}

describe('reuse only what verifies', () => {
  it('an intact copy is up to date', async () => {
    const dir = copyOfBase();
    const r = await runLogged({ pipelinePath: SMOKE, outDir: dir, sets: TINY_SETS, until: UNTIL });
    expect(r.error).toBeUndefined();
    expect(r.summary!.stages.map((s) => s.status)).toEqual(['up to date', 'up to date']);
  });

  it('redoes a truncated teacher checkpoint, and every stage after it', async () => {
    const dir = copyOfBase();
    const ckpt = join(dir, 'teacher', 'model.ckpt');
    truncateSync(ckpt, 1000);
    const r = await runLogged({ pipelinePath: SMOKE, outDir: dir, sets: TINY_SETS, until: UNTIL });
    expect(r.error).toBeUndefined();
    expect(r.summary!.stages.map((s) => s.status)).toEqual(['ran', 'ran']);
    expect(r.log).toContain(ckpt);
    expect(r.log).toMatch(/size/);
    expect(() => loadCheckpoint(ckpt)).not.toThrow();
  });

  it('redoes a stage whose checkpoint has 3 flipped bytes (same size)', async () => {
    const dir = copyOfBase();
    const ckpt = join(dir, 'prune-distill', 'model.ckpt');
    const bytes = readFileSync(ckpt);
    for (const at of [100, 5000, bytes.length - 100]) bytes[at] ^= 0xff;
    writeFileSync(ckpt, bytes);
    const r = await runLogged({ pipelinePath: SMOKE, outDir: dir, sets: TINY_SETS, until: UNTIL });
    expect(r.error).toBeUndefined();
    expect(r.summary!.stages.map((s) => `${s.stage}:${s.status}`)).toEqual(['teacher:up to date', 'prune-distill:ran']);
    expect(r.log).toContain(ckpt);
    expect(r.log).toMatch(/checksum/);
    expect(() => loadCheckpoint(ckpt)).not.toThrow();
  });

  it('redoes a stage whose checkpoint was deleted (the advice of the checksum error leads somewhere)', async () => {
    const dir = copyOfBase();
    const ckpt = join(dir, 'teacher', 'model.ckpt');
    rmSync(ckpt);
    const r = await runLogged({ pipelinePath: SMOKE, outDir: dir, sets: TINY_SETS, until: UNTIL });
    expect(r.error).toBeUndefined();
    expect(r.summary!.stages.map((s) => s.status)).toEqual(['ran', 'ran']);
    expect(r.log).toContain(ckpt);
    expect(r.log).toMatch(/missing/);
  });
});
