import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { faultPoint } from './fault.js';

/** A file-system failure rewritten to name the file and what to do (the original is the cause). */
export class FileWriteError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The message for a failed write of `path`: what happened and how to get past it. */
function describeWriteError(e: unknown, path: string): Error {
  const code = (e as NodeJS.ErrnoException)?.code;
  const fix: Record<string, string> = {
    ENOSPC:
      'no space left on device while writing it; free some space on that disk and rerun: what was already written (finished stages, the last checkpoint) is kept',
    EDQUOT: 'disk quota exceeded while writing it; free some space and rerun: what was already written is kept',
    EACCES: 'permission denied; choose a directory you can write to, or fix its permissions',
    EPERM: 'operation not permitted; choose a directory you can write to, or fix its permissions',
    EROFS: 'the file system is read-only; choose a writable directory',
    EISDIR: 'is a directory; a file was expected here: choose another path, or move the directory away',
    ENOTDIR: 'a parent of this path is a file, not a directory: choose another path',
  };
  if (code && fix[code]) return new FileWriteError(`${path}: ${fix[code]}`, code, { cause: e });
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Node's recursive mkdir reports ENOENT where a directory cannot be made on a read-only file system
 * (Node 20); making the first missing directory alone gives the real cause (EROFS, EACCES).
 */
function mkdirCause(dir: string, e: unknown): { error: unknown; path: string } | null {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return { error: e, path: dir };
  let first = dir;
  while (!existsSync(dirname(first)) && dirname(first) !== first) first = dirname(first);
  if (existsSync(first)) return { error: e, path: dir };
  try {
    mkdirSync(first);
  } catch (cause) {
    return { error: cause, path: first };
  }
  return null; // made now (a race with another process): go on
}

/** Makes `dir` (and parents) a directory, or says which file is in the way. */
function ensureDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const cause = mkdirCause(dir, err);
    if (!cause) return ensureDirectory(dir);
    const { error: e, path } = cause;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR')
      throw new FileWriteError(`${dir}: exists and is not a directory (or a parent of it is a file); choose another path, or move that file away`, code, {
        cause: e,
      });
    throw describeWriteError(e, path);
  }
}

/** Called around every writeFileAtomic: `before` sees the bytes about to be written and may refuse (throw); `after` follows the rename. */
export interface WriteObserver {
  before(path: string, data: Uint8Array): void;
  after(path: string): void;
}
let observer: WriteObserver | null = null;

/** Installs the observer (src/util/owned-dir.ts: the ownership rule checks and records writes), or removes it with null. */
export function setWriteObserver(o: WriteObserver | null): void {
  observer = o;
}

/**
 * Writes a file so that a crash never leaves it half-written: data goes to a temporary file in the
 * same directory, is flushed to disk, and is then renamed over the target (rename is atomic). On
 * any failure (full disk, permissions, a directory in the way) the temporary file is removed and
 * the error names the file and the fix; the previous version of the file, if any, is untouched.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  ensureDirectory(dirname(path));
  if (existsSync(path) && statSync(path).isDirectory()) throw describeWriteError(Object.assign(new Error('EISDIR'), { code: 'EISDIR' }), path);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  observer?.before(path, bytes);
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    const half = Math.floor(bytes.length / 2);
    let off = 0;
    while (off < half) off += writeSync(fd, bytes, off, half - off);
    faultPoint('during-write', path);
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the temp file is removed below either way
      }
    }
    rmSync(tmp, { force: true });
    throw describeWriteError(e, path);
  }
  observer?.after(path);
  faultPoint('after-write', path);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Checks an output file path given by a flag (e.g. --out) before any work is done. */
export function checkOutputFile(path: string, flag: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new FileWriteError(`${path}: is a directory; ${flag} names the file to write: give a file path, e.g. ${join(path, 'model.ckpt')}`, 'EISDIR');
  }
}

/** Checks an output directory given by a flag (e.g. --out) before any work is done. */
export function checkOutputDirectory(dir: string, flag: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new FileWriteError(
      `${dir}: exists and is not a directory; ${flag} names the directory the files go into: choose another, or move that file away`,
      'ENOTDIR',
    );
  }
}

/** sha256 of a file's bytes, hex, read in 1 MB blocks. */
export function sha256File(path: string): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
