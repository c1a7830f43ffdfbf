/**
 * Write errors name the path and the fix. A read-only file system is reported as read-only although
 * Node's recursive mkdir reports ENOENT there (Node 20, checked on a `mount -o ro` tmpfs): the
 * mock below reproduces exactly that, since a test cannot mount a read-only file system in CI.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { writeFileAtomic, writeJsonAtomic } from '../../src/util/fs.js';
import { tempDir } from '../helpers.js';

const ro = vi.hoisted(() => ({ root: '' }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const under = (p: unknown) => ro.root !== '' && String(p).startsWith(`${ro.root}/`);
  const fail = (code: string, op: string, p: unknown) => Object.assign(new Error(`${code}: ${op} '${String(p)}'`), { code, syscall: op, path: String(p) });
  return {
    ...fs,
    // What Node does on a read-only mount: a recursive mkdir says ENOENT, a plain one says EROFS.
    mkdirSync: (p: string, o?: { recursive?: boolean }) => {
      if (under(p)) throw fail(o?.recursive ? 'ENOENT' : 'EROFS', 'mkdir', p);
      return fs.mkdirSync(p, o);
    },
    openSync: (p: string, flags: string, mode?: number) => {
      if (under(p) && flags !== 'r') throw fail('EROFS', 'open', p);
      return fs.openSync(p, flags, mode);
    },
  };
});

describe('a read-only file system', () => {
  it('is reported as read-only (not ENOENT) when the directory to write into must be made', () => {
    ro.root = tempDir('prune-once-ro-');
    try {
      const target = join(ro.root, 'run', 'teacher', 'result.json');
      expect(() => writeJsonAtomic(target, {})).toThrow(new RegExp(`${join(ro.root, 'run')}: the file system is read-only; choose a writable directory`));
      expect(() => writeFileAtomic(join(ro.root, 'model.onnx'), 'x')).toThrow(/the file system is read-only/);
      expect(existsSync(join(ro.root, 'run'))).toBe(false);
    } finally {
      ro.root = '';
    }
  });

  it('a directory that is really missing is still made', () => {
    const dir = join(tempDir('prune-once-ro-'), 'a', 'b');
    writeFileAtomic(join(dir, 'f.txt'), 'x');
    expect(existsSync(join(dir, 'f.txt'))).toBe(true);
  });
});
