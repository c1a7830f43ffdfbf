/**
 * A content-addressed stage cache shared by runs and machines (issue 17). A stage's output is stored
 * under its fingerprint, which covers its settings and its inputs' fingerprints, so the same
 * fingerprint always means the same output and any run may reuse it.
 *
 * Layout of a cache directory:
 *   stages/<fingerprint>/entry.json   what the entry holds (stage, files with size and sha256)
 *   stages/<fingerprint>/stage/...    the stage directory (model.ckpt, result.json, ...)
 *   stages/<fingerprint>/root/...     files the stage writes at the run directory's top (the ONNX
 *                                     files of export; vocab.txt, which later stages need)
 *   tmp/                              entries being written (renamed into stages/ when complete)
 *   work/<fingerprint>/               run directory of a stage job in progress (its resume.ckpt
 *                                     lives there, so a retried job resumes on any machine)
 *   executions/                       one record per completed stage execution (who, when, how long)
 *
 * Writers never corrupt an entry: everything is written under tmp/ and renamed into stages/ in one
 * step; when two writers race, the first rename wins and the other discards its copy and reuses
 * the winner's. Files are shared by hard links (copies across filesystems): prune-once never writes
 * a file in place (every write is a temp file renamed over the target), so a run directory that
 * rewrites a restored stage replaces its link and never changes the cached bytes.
 */
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { sha256File, writeJsonAtomic } from '../util/fs.js';
import { NotOwnedError, pathProblem, recordFile, removeOwnedFile, replaceProblem, symlinkOnPath } from '../util/owned-dir.js';
import type { StageName } from './stages/index.js';
import { readResult, type StageResult } from '../run/result.js';
import { ONNX_FILES } from '../run/layout.js';

export class CacheError extends Error {}

/** Files a stage writes at the top of the run directory, besides its own directory. */
const ROOT_FILES: Partial<Record<StageName, string[]>> = {
  export: Object.values(ONNX_FILES),
};
/** Made once per run by the first stage that tokenizes (corpus-subset vocabulary); later stages read it. */
const SHARED_ROOT_FILES = ['vocab.txt'];

/**
 * The report stage is not cached: its report.json names the files of its own run directory, and it
 * measures latency on the machine it runs on. It is cheap, so each run makes its own.
 */
export const isCacheable = (stage: StageName): boolean => stage !== 'report';

export interface CacheEntry {
  stage: StageName;
  fingerprint: string;
  storedAt: string;
  host: string;
  /** Path (under stage/ or root/) -> size and sha256, checked when the entry is restored. */
  files: Record<string, { bytes: number; sha256: string }>;
}

export const entryDir = (cacheDir: string, fingerprint: string) => join(cacheDir, 'stages', fingerprint);
export const workDir = (cacheDir: string, fingerprint: string) => join(cacheDir, 'work', fingerprint);
export const executionsDir = (cacheDir: string) => join(cacheDir, 'executions');

const opened = new Set<string>();

/**
 * Creates the cache's folders and checks that this process can write there, before any work is
 * done, so an unusable cache fails at once with the fix instead of after a stage has run.
 */
export function openCache(cacheDir: string): void {
  if (opened.has(cacheDir)) return;
  const probe = join(cacheDir, 'tmp', `probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    for (const d of ['stages', 'tmp', 'work', 'executions']) mkdirSync(join(cacheDir, d), { recursive: true });
    writeFileSync(probe, 'ok');
    unlinkSync(probe);
  } catch (e) {
    try {
      rmSync(probe, { force: true });
    } catch {
      // the probe could not be made either
    }
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new CacheError(
      `stage cache ${cacheDir}: not writable (${code}: ${(e as Error).message}); give --cache a directory this user can create and write (on a filesystem every worker shares), or fix its permissions`,
    );
  }
  opened.add(cacheDir);
}

export function readEntry(cacheDir: string, fingerprint: string): CacheEntry | null {
  const p = join(entryDir(cacheDir, fingerprint), 'entry.json');
  if (!existsSync(p)) return null;
  return JSON.parse(readFileSync(p, 'utf8')) as CacheEntry;
}

const sha256 = sha256File;

/** Hard link, or a copy where linking is impossible (another filesystem, or links not allowed). */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw e;
    copyFileSync(from, to);
  }
}

function filesUnder(dir: string, prefix = ''): string[] {
  // Regular files only: a symlink is never followed into the cache or out of it.
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? filesUnder(join(dir, d.name), `${prefix}${d.name}/`) : d.isFile() ? [`${prefix}${d.name}`] : [],
  );
}

/** Leftovers a stage directory may hold that are not part of its output. */
const isTransient = (name: string) => name.endsWith('resume.ckpt') || name.includes('.tmp-');

export type StoreOutcome = 'stored' | 'already cached';

/**
 * Stores the finished stage `stage` of `runDir` under `fingerprint`, and records the execution.
 * Returns 'already cached' when another writer stored the same fingerprint first.
 */
export function storeStage(cacheDir: string, fingerprint: string, runDir: string, stage: StageName): StoreOutcome {
  openCache(cacheDir);
  const result = readResult(join(runDir, stage));
  if (result?.fingerprint !== fingerprint)
    throw new CacheError(`${join(runDir, stage)}: no finished result with fingerprint ${fingerprint} to store in the cache`);
  let outcome: StoreOutcome = 'already cached';
  if (isCacheable(stage) && !readEntry(cacheDir, fingerprint)) {
    const tmp = join(cacheDir, 'tmp', `${fingerprint}.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      const files: CacheEntry['files'] = {};
      const add = (from: string, rel: string) => {
        mkdirSync(join(tmp, rel, '..'), { recursive: true });
        linkOrCopy(from, join(tmp, rel));
        files[rel] = { bytes: statSync(from).size, sha256: sha256(from) };
      };
      for (const f of filesUnder(join(runDir, stage))) if (!isTransient(f)) add(join(runDir, stage, f), `stage/${f}`);
      for (const f of [...(ROOT_FILES[stage] ?? []), ...SHARED_ROOT_FILES]) if (existsSync(join(runDir, f))) add(join(runDir, f), `root/${f}`);
      const entry: CacheEntry = { stage, fingerprint, storedAt: new Date().toISOString(), host: hostname(), files };
      writeJsonAtomic(join(tmp, 'entry.json'), entry);
      try {
        renameSync(tmp, entryDir(cacheDir, fingerprint));
        outcome = 'stored';
      } catch (e) {
        // Another writer renamed its entry first: keep theirs (same fingerprint, same content).
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  recordExecution(cacheDir, { stage, fingerprint, seconds: result.seconds, outcome: isCacheable(stage) ? outcome : 'not cacheable' });
  return outcome;
}

export interface ExecutionRecord {
  stage: StageName;
  fingerprint: string;
  seconds: number;
  outcome: StoreOutcome | 'not cacheable';
  host: string;
  pid: number;
  finishedAt: string;
}

/** One file per execution (no shared file to append to, which is not atomic on network filesystems). */
function recordExecution(cacheDir: string, r: Omit<ExecutionRecord, 'host' | 'pid' | 'finishedAt'>): void {
  const rec: ExecutionRecord = { ...r, host: hostname(), pid: process.pid, finishedAt: new Date().toISOString() };
  writeJsonAtomic(join(executionsDir(cacheDir), `${r.fingerprint}.${Date.now()}.${hostname()}.${process.pid}.json`), rec);
}

export function readExecutions(cacheDir: string): ExecutionRecord[] {
  const dir = executionsDir(cacheDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.includes('.tmp-'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as ExecutionRecord);
}

/**
 * Why `entry` (in `src`) may not be restored as `stage`, naming the file; null when it checks out.
 * An entry is data from a shared folder: its paths must stay inside the entry (no absolute path, no
 * '..', no symlink), name only what the stage writes, and every file must have its recorded size
 * and sha256, so a damaged or forged entry can neither write outside the run nor bring wrong figures.
 */
function entryProblem(src: string, entry: CacheEntry, stage: StageName): string | null {
  if (entry.stage !== stage) return `it holds stage '${entry.stage}', not '${stage}'`;
  if (!entry.files || typeof entry.files !== 'object') return 'entry.json lists no files';
  const rootFiles = [...(ROOT_FILES[stage] ?? []), ...SHARED_ROOT_FILES];
  const rels = Object.keys(entry.files);
  if (!rels.includes('stage/result.json')) return 'it has no stage/result.json';
  for (const rel of rels) {
    const bad = pathProblem(rel);
    if (bad) return `entry.json lists '${rel}', ${bad}`;
    if (!(rel.startsWith('stage/') || (rel.startsWith('root/') && rootFiles.includes(rel.slice('root/'.length)))))
      return `entry.json lists '${rel}', neither under stage/ nor one of the files ${stage} writes at the run's top (${rootFiles.map((f) => `root/${f}`).join(', ')})`;
  }
  for (const [rel, f] of Object.entries(entry.files)) {
    const link = symlinkOnPath(src, rel);
    if (link) return `${join(src, link)} is a symlink`;
    const st = lstatSync(join(src, rel), { throwIfNoEntry: false });
    if (!st?.isFile()) return `${join(src, rel)} is missing (or not a file)`;
    if (st.size !== f.bytes) return `${join(src, rel)} has ${st.size} bytes, the entry says ${f.bytes}`;
    if (sha256(join(src, rel)) !== f.sha256) return `${join(src, rel)} fails its sha256 (the bytes differ from those stored)`;
  }
  return null;
}

/**
 * Puts the cached output of `fingerprint` into `runDir` as stage `stage` (links, or copies across
 * filesystems). Returns its result, or null when the cache has no usable entry: none, or one that
 * fails its checks (entryProblem), which is reported through `log` and skipped, so the stage runs.
 * In the run directory it replaces only files the run owns (src/util/owned-dir.ts): a file of the
 * user's in the way stops the run with its name, before anything is written.
 */
export function restoreStage(
  cacheDir: string,
  fingerprint: string,
  runDir: string,
  stage: StageName,
  log: (line: string) => void = () => {},
): StageResult | null {
  openCache(cacheDir);
  if (!isCacheable(stage)) return null;
  const src = entryDir(cacheDir, fingerprint);
  let entry: CacheEntry | null;
  try {
    entry = readEntry(cacheDir, fingerprint);
  } catch (e) {
    log(
      `stage cache: skipping the entry ${src}: its entry.json is unreadable (${(e as Error).message}); running ${stage} instead (delete that folder to drop the entry)`,
    );
    return null;
  }
  if (!entry) return null;
  const problem = entryProblem(src, entry, stage);
  if (problem) {
    log(`stage cache: skipping the entry ${src}: ${problem}; running ${stage} instead (delete that folder to drop the entry)`);
    return null;
  }
  // Where each file goes; vocab.txt, shared by the run's stages, is kept when the run has one.
  const targets = Object.keys(entry.files)
    .map((rel) => ({ rel, to: rel.startsWith('stage/') ? join(runDir, stage, rel.slice('stage/'.length)) : join(runDir, rel.slice('root/'.length)) }))
    .filter(({ rel, to }) => !(SHARED_ROOT_FILES.includes(rel.slice('root/'.length)) && existsSync(to)));
  const dir = join(runDir, stage);
  const problems = targets.map((t) => replaceProblem(t.to)).filter((p): p is string => p !== null);
  if (problems.length) throw new NotOwnedError(`restoring ${stage} from the cache: ${problems[0]}`);
  // The stage reads as not done until its result.json, moved last, is in place.
  removeOwnedFile(join(dir, 'result.json'));
  if (existsSync(dir)) for (const f of filesUnder(dir)) if (!entry.files[`stage/${f}`]) removeOwnedFile(join(dir, f));
  const tag = `.tmp-${process.pid}-${Date.now()}`;
  const last = (t: { rel: string }) => (t.rel === 'stage/result.json' ? 1 : 0);
  for (const { rel, to } of targets.sort((a, b) => last(a) - last(b))) {
    mkdirSync(join(to, '..'), { recursive: true });
    linkOrCopy(join(src, rel), `${to}${tag}`);
    renameSync(`${to}${tag}`, to);
    recordFile(to, entry.files[rel]);
  }
  return readResult(dir);
}
