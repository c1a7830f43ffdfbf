/**
 * One writer per run directory: a lock file created atomically (O_EXCL) holding the pid, host and
 * start time of the run that owns the directory. A second run fails at once naming the holder; a
 * lock left by a process that no longer runs (same host, dead pid) is taken over with a line saying
 * so. The lock is released when the run ends, also on Ctrl-C (SIGINT) and SIGTERM. Readers
 * (export, inspect) take no lock: every file is written by an atomic rename, so they never see a
 * half-written one.
 */
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { alive } from '../util/process.js';
import { RUN_LOCK } from './run-dir.js';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export class RunLockedError extends Error {}

export interface RunLock {
  path: string;
  release(): void;
}

function readHolder(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return Number.isInteger(h.pid) && typeof h.host === 'string' ? h : null;
  } catch {
    return null;
  }
}

function tryCreate(path: string, me: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, `${JSON.stringify(me)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Moves a dead holder's lock aside, checking it is still that holder's (two runs may try at once:
 * only one rename succeeds, and a lock that changed hands in between is put back).
 */
function takeOver(path: string, stale: LockHolder): boolean {
  const aside = `${path}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(path, aside);
  } catch {
    return false;
  }
  const moved = readHolder(aside);
  if (moved && (moved.pid !== stale.pid || moved.host !== stale.host || moved.startedAt !== stale.startedAt)) {
    try {
      linkSync(aside, path);
    } catch {
      // someone else holds a new lock already; theirs stays
    }
    rmSync(aside, { force: true });
    return false;
  }
  rmSync(aside, { force: true });
  return true;
}

function describeHolder(dir: string, path: string, h: LockHolder | null): string {
  if (!h) return `${dir} is locked by ${path}, which is unreadable; if no prune-once run is writing into ${dir}, delete ${path} and rerun`;
  return `${dir} is in use by pid ${h.pid} on ${h.host} since ${h.startedAt} (${h.command}; lock file ${path}); wait for that run to finish, or stop it. If it is gone (e.g. a run on another machine sharing this disk), delete ${path} and rerun`;
}

/**
 * Takes the run directory's lock or throws RunLockedError naming the holder. `log` receives the
 * line about a stale lock taken over.
 */
export function acquireRunLock(dir: string, log: (line: string) => void, command = 'prune-once run'): RunLock {
  const path = join(dir, RUN_LOCK);
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command };
  for (let attempt = 0; ; attempt++) {
    if (tryCreate(path, me)) break;
    const holder = readHolder(path);
    const stale = holder !== null && holder.host === me.host && !alive(holder.pid);
    if (!stale || attempt > 0 || !takeOver(path, holder)) throw new RunLockedError(describeHolder(dir, path, holder));
    log(`lock: took over the lock of pid ${holder.pid} on ${holder.host} (started ${holder.startedAt}): that process is no longer running`);
  }

  let released = false;
  const onSignal = (signal: NodeJS.Signals) => {
    release();
    process.stderr.write(
      `\ninterrupted (${signal}); finished stages and the last checkpoint are kept, the lock on ${dir} is released: rerun the same command to resume\n`,
    );
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  const release = () => {
    if (released) return;
    released = true;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Only our own lock: never one that another run took over meanwhile.
    const h = readHolder(path);
    if (h && h.pid === me.pid && h.host === me.host && h.startedAt === me.startedAt) rmSync(path, { force: true });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { path, release };
}
