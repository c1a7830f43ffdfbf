/**
 * Issue 27, findings 2-5: `run` deletes or replaces only what it can prove it made. A folder of the
 * user's (with or without a stage cache), a folder that merely looks like a run, a stage directory
 * that is a symlink, and a tampered cache entry: every user file byte-identical afterwards.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readResult } from '../../src/run/result.js';
import { readEntry } from '../../src/pipeline/stage-cache.js';
import { verifyOutputs } from '../../src/pipeline/verify.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { hashTree, runLogged, SMOKE, TINY_ALL_SETS, TINY_SETS } from './fixtures.js';

/** A folder of the user's whose names collide with what a run writes (finding 2). */
function usersFolder(): string {
  const dir = join(tempDir('prune-once-users-'), 'my-project');
  const files: Record<string, string> = {
    'export/important.txt': 'do not lose this',
    'teacher/notes.txt': 'my notes',
    'teacher/model.ckpt': 'my own checkpoint, not a prune-once one',
    'qat/data.csv': 'a,b\n1,2\n',
    'pipeline.json': '{"mine": true}\n',
    'report.md': '# my report\n',
    'vocab.txt': 'my\nown\nwords\n',
  };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

let cacheDir = '';

beforeAll(async () => {
  await useTestBackend();
  // A cache holding every stage up to export, so a run into the user's folder would restore
  // teacher/, qat/ and export/ (where the user's files are) from it.
  cacheDir = tempDir('prune-once-cache-');
  const filled = await runLogged({ pipelinePath: SMOKE, outDir: join(tempDir('prune-once-run-'), 'run'), sets: TINY_ALL_SETS, until: 'export', cacheDir });
  expect(filled.error).toBeUndefined();
}, 600_000);

describe('run --out on a folder the tool did not make', () => {
  it('is refused, naming the folder and the fix, and leaves every file byte-identical', async () => {
    const dir = usersFolder();
    const before = hashTree(dir);
    const r = await runLogged({ pipelinePath: SMOKE, outDir: dir, sets: TINY_SETS, until: 'teacher' });
    expect(r.error?.message).toContain(dir);
    expect(r.error?.message).toMatch(/not made by prune-once.*new folder/);
    expect(hashTree(dir)).toEqual(before);
  }, 600_000);

  it('is refused with --cache too: restoring a stage deletes none of the user files in teacher/, qat/, export/', async () => {
    const dir = usersFolder();
    const before = hashTree(dir);
    const r = await runLogged({ pipelinePath: SMOKE, outDir: dir, sets: TINY_ALL_SETS, until: 'export', cacheDir });
    expect(r.error?.message).toMatch(/not made by prune-once.*new folder/);
    expect(hashTree(dir)).toEqual(before);
  }, 600_000);

  it('takes an empty existing folder (it gets the marker)', async () => {
    const dir = join(tempDir('prune-once-empty-'), 'run');
    mkdirSync(dir);
    const r = await runLogged({ pipelinePath: SMOKE, outDir: dir, sets: TINY_SETS, until: 'teacher' });
    expect(r.error).toBeUndefined();
    expect(readResult(join(dir, 'teacher'))?.fingerprint).toBe(r.summary!.stages[0].result.fingerprint);
  }, 600_000);
});

describe('--fresh adopts nothing by look', () => {
  it('refuses a folder that only looks like a run (pipeline.json, report.md, an .onnx, vocab.txt, tasks.json)', async () => {
    const dir = join(tempDir('prune-once-lookalike-'), 'lookalike');
    mkdirSync(dir);
    for (const f of ['pipeline.json', 'report.md', 'model.production.onnx', 'vocab.txt', 'tasks.json']) writeFileSync(join(dir, f), `the user's ${f}\n`);
    const before = hashTree(dir);
    const r = await runLogged({ pipelinePath: SMOKE, outDir: dir, fresh: true, sets: TINY_SETS, until: 'teacher' });
    expect(r.error?.message).toContain(dir);
    expect(r.error?.message).toMatch(/not made by prune-once/);
    expect(hashTree(dir)).toEqual(before);
  }, 600_000);

  it('adopts a run from before the marker only by result.json checksums, and deletes only the files they verify', async () => {
    const dir = join(tempDir('prune-once-legacy-'), 'run');
    const first = await runLogged({ pipelinePath: SMOKE, outDir: dir, sets: TINY_SETS, until: 'teacher' });
    expect(first.error).toBeUndefined();
    // What an older prune-once left: no marker (and no manifest).
    rmSync(join(dir, '.prune-once-run'));
    writeFileSync(join(dir, 'teacher', 'notes.txt'), 'mine');
    const r = await runLogged({ pipelinePath: SMOKE, outDir: dir, fresh: true, sets: TINY_SETS, until: 'teacher' });
    expect(r.error).toBeUndefined();
    expect(r.summary!.stages.map((s) => s.status)).toEqual(['ran']);
    expect(readFileSync(join(dir, 'teacher', 'notes.txt'), 'utf8')).toBe('mine');
    expect(r.log).toMatch(/kept .*teacher\/notes\.txt/);
  }, 600_000);
});

describe('--fresh never follows a symlink', () => {
  it("keeps the files of a stage directory's link target outside the run", async () => {
    const dir = join(tempDir('prune-once-link-'), 'run');
    const first = await runLogged({ pipelinePath: SMOKE, outDir: dir, sets: TINY_SETS, until: 'teacher' });
    expect(first.error).toBeUndefined();
    const outside = join(tempDir('prune-once-outside-'), 'elsewhere');
    mkdirSync(outside);
    writeFileSync(join(outside, 'model.ckpt'), 'a checkpoint of somebody else');
    writeFileSync(join(outside, 'result.json'), '{"stage": "transfer"}\n');
    symlinkSync(outside, join(dir, 'transfer'));
    const before = hashTree(outside);
    const r = await runLogged({ pipelinePath: SMOKE, outDir: dir, fresh: true, sets: TINY_SETS, until: 'teacher' });
    expect(r.error).toBeUndefined();
    expect(hashTree(outside)).toEqual(before);
    expect(r.log).toMatch(/transfer.*symlink/);
  }, 600_000);
});

describe('the stage cache trusts no entry it cannot verify', () => {
  /** A cache with the teacher stage stored, and the entry's directory. */
  async function teacherCache(): Promise<{ cache: string; entry: string; fingerprint: string }> {
    const cache = tempDir('prune-once-cache-');
    const r = await runLogged({ pipelinePath: SMOKE, outDir: join(tempDir('prune-once-run-'), 'run'), sets: TINY_SETS, until: 'teacher', cacheDir: cache });
    expect(r.error).toBeUndefined();
    const fingerprint = r.summary!.stages[0].result.fingerprint;
    // A copy, not the hard links the run directory shares: tampering must not touch that run.
    const entry = join(cache, 'stages', fingerprint);
    const copy = `${entry}.copy`;
    cpSync(entry, copy, { recursive: true, dereference: true });
    rmSync(entry, { recursive: true });
    cpSync(copy, entry, { recursive: true });
    rmSync(copy, { recursive: true });
    return { cache, entry, fingerprint };
  }

  it("skips an entry listing a path with '..' and writes nothing outside the run directory", async () => {
    const { cache, entry, fingerprint } = await teacherCache();
    const base = tempDir('prune-once-escape-');
    const runDir = join(base, 'a', 'run');
    // entry.json says root/../../escape-proof.txt: the restore would write <run>/../../escape-proof.txt.
    const victim = join(base, 'escape-proof.txt');
    writeFileSync(victim, 'the original');
    const payload = 'overwritten!';
    writeFileSync(join(cache, 'stages', 'escape-proof.txt'), payload);
    const e = readEntry(cache, fingerprint)!;
    e.files['root/../../escape-proof.txt'] = { bytes: payload.length, sha256: 'x'.repeat(64) };
    writeFileSync(join(entry, 'entry.json'), JSON.stringify(e));
    const r = await runLogged({ pipelinePath: SMOKE, outDir: runDir, sets: TINY_SETS, until: 'teacher', cacheDir: cache });
    expect(r.error).toBeUndefined();
    expect(readFileSync(victim, 'utf8')).toBe('the original');
    expect(r.log).toContain(entry);
    expect(r.log).toMatch(/'\.\.'/);
    expect(r.summary!.stages.map((s) => s.status)).toEqual(['ran']);
    expect(verifyOutputs(runDir, readResult(join(runDir, 'teacher'))!.outputs)).toBeNull();
  }, 600_000);

  it('skips an entry whose file has the right size but the wrong sha256, and computes the stage', async () => {
    const { cache, entry } = await teacherCache();
    const ckpt = join(entry, 'stage', 'model.ckpt');
    const bytes = readFileSync(ckpt);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(ckpt, bytes);
    const runDir = join(tempDir('prune-once-sha-'), 'run');
    const r = await runLogged({ pipelinePath: SMOKE, outDir: runDir, sets: TINY_SETS, until: 'teacher', cacheDir: cache });
    expect(r.error).toBeUndefined();
    expect(r.log).toContain(entry);
    expect(r.log).toMatch(/sha256/);
    expect(r.summary!.stages.map((s) => s.status)).toEqual(['ran']);
    expect(readFileSync(join(runDir, 'teacher', 'model.ckpt')).equals(bytes)).toBe(false);
    expect(verifyOutputs(runDir, readResult(join(runDir, 'teacher'))!.outputs)).toBeNull();
  }, 600_000);
});
