/**
 * The ownership rule on its own (src/util/owned-dir.ts): what a tracked folder records, what it
 * refuses to replace, and what removeOwned deletes, in scratch folders and without a pipeline.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/util/fs.js';
import { claimDir, installOwned, readOwnership, removeOwned, stopTracking, trackWrites } from '../../src/util/owned-dir.js';
import { hashTree } from '../reliability/fixtures.js';
import { tempDir } from '../helpers.js';

const M = '.test-marker';
const claim = (dir: string) => claimDir(dir, M, { note: 'test', what: 'the test', fix: 'use a new folder' });
let active: string[] = [];
afterEach(() => {
  for (const d of active) stopTracking(d);
  active = [];
});
const track = (dir: string) => {
  trackWrites(dir, M);
  active.push(dir);
};

describe('claimDir', () => {
  it('marks a new or empty folder and refuses a non-empty one without the marker', () => {
    const base = tempDir('prune-once-owned-');
    claim(join(base, 'new'));
    expect(readOwnership(join(base, 'new'), M)?.files).toEqual({});
    mkdirSync(join(base, 'users'));
    writeFileSync(join(base, 'users', 'a.txt'), 'mine');
    expect(() => claim(join(base, 'users'))).toThrow(/users: not made by the test .* not empty.*use a new folder/);
  });
});

describe('tracked writes', () => {
  it('records each file with its sha256, and refuses to replace a file it did not write', () => {
    const dir = join(tempDir('prune-once-owned-'), 'd');
    claim(dir);
    writeFileSync(join(dir, 'yours.txt'), 'mine');
    track(dir);
    writeFileAtomic(join(dir, 'sub', 'a.bin'), 'abc');
    writeFileAtomic(join(dir, 'sub', 'a.bin'), 'abcd');
    expect(readOwnership(dir, M)?.files['sub/a.bin']).toEqual({ bytes: 4, sha256: '88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589' });
    expect(() => writeFileAtomic(join(dir, 'yours.txt'), 'x')).toThrow(/yours\.txt: not made by prune-once/);
    expect(readFileSync(join(dir, 'yours.txt'), 'utf8')).toBe('mine');
  });

  it('never writes through a symlinked folder', () => {
    const dir = join(tempDir('prune-once-owned-'), 'd');
    claim(dir);
    const outside = tempDir('prune-once-outside-');
    symlinkSync(outside, join(dir, 'stage'));
    track(dir);
    expect(() => writeFileAtomic(join(dir, 'stage', 'model.ckpt'), 'x')).toThrow(/stage is a symlink/);
    expect(hashTree(outside)).toEqual({});
  });

  it('in a folder without the marker adds new files only', () => {
    const dir = tempDir('prune-once-owned-');
    writeFileSync(join(dir, 'report.html'), 'mine');
    track(dir);
    writeFileAtomic(join(dir, 'new.txt'), 'x');
    expect(() => writeFileAtomic(join(dir, 'report.html'), 'x')).toThrow(/no \.test-marker marker/);
  });
});

describe('removeOwned', () => {
  it('deletes listed files whose bytes match; keeps edited, unlisted and symlinked ones and the link targets', () => {
    const dir = join(tempDir('prune-once-owned-'), 'd');
    claim(dir);
    track(dir);
    writeFileAtomic(join(dir, 'stage', 'model.ckpt'), 'weights');
    writeFileAtomic(join(dir, 'stage', 'edited.txt'), 'v1');
    writeFileAtomic(join(dir, 'gone', 'x'), 'x');
    writeFileSync(join(dir, 'stage', 'edited.txt'), 'v2 by the user');
    writeFileSync(join(dir, 'stage', 'notes.txt'), 'mine');
    mkdirSync(join(dir, 'empty-of-yours'));
    const outside = tempDir('prune-once-outside-');
    writeFileSync(join(outside, 'model.ckpt'), 'theirs');
    symlinkSync(outside, join(dir, 'transfer'));
    const kept = removeOwned(dir, M, 'test');
    expect(kept.sort()).toEqual(['stage/edited.txt', 'stage/notes.txt', 'transfer (a symlink: not followed)']);
    expect(Object.keys(hashTree(dir)).sort()).toEqual([M, 'empty-of-yours', 'stage', 'stage/edited.txt', 'stage/notes.txt', 'transfer']);
    expect(readFileSync(join(outside, 'model.ckpt'), 'utf8')).toBe('theirs');
  });
});

describe('installOwned', () => {
  it("replaces the previous set's files only, and refuses a clash with a file of the user's before moving anything", () => {
    const base = tempDir('prune-once-owned-');
    const target = join(base, 'out');
    const staged = (files: Record<string, string>) => {
      const s = join(base, `stage-${Math.random().toString(36).slice(2)}`);
      for (const [f, t] of Object.entries(files)) {
        mkdirSync(join(s, f, '..'), { recursive: true });
        writeFileSync(join(s, f), t);
      }
      return s;
    };
    installOwned(staged({ 'index.html': 'v1', 'old.js': 'old' }), target, M, 'test');
    writeFileSync(join(target, 'notes.txt'), 'mine');
    installOwned(staged({ 'index.html': 'v2', 'ort/a.wasm': 'w' }), target, M, 'test');
    expect(Object.keys(hashTree(target)).sort()).toEqual([M, 'index.html', 'notes.txt', 'ort', 'ort/a.wasm']);
    expect(readFileSync(join(target, 'index.html'), 'utf8')).toBe('v2');
    const before = hashTree(target);
    expect(() => installOwned(staged({ 'index.html': 'v3', 'notes.txt': 'x' }), target, M, 'test')).toThrow(/'notes\.txt' is not made by prune-once/);
    expect(hashTree(target)).toEqual(before);
  });
});
