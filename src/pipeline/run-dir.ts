/**
 * Where a run writes, and what it may delete or replace there (the rule is src/util/owned-dir.ts).
 * Every run directory carries the marker `.prune-once-run`, which is also its manifest: each file
 * the run wrote, with size and sha256. A run writes only into a new or empty folder, or one with
 * the marker; `--fresh` deletes only files the manifest lists whose bytes still match, and never
 * through a symlink. A folder without the marker is the user's, whatever it holds, with one
 * exception: a run directory of an older prune-once, recognised only by result.json files whose
 * recorded outputs all match their sha256; those files (and only those) become the run's.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { claimDir, type OwnedFile, ownsFile, removeOwned, writeOwnership } from '../util/owned-dir.js';
import { sha256File } from '../util/fs.js';
import { readResult } from '../run/result.js';
import { RUN_MARKER } from '../run/layout.js';
import { STAGE_ORDER } from './stages/index.js';

export { RUN_MARKER };
export const RUN_LOCK = '.prune-once.lock';
/** Where runs go without --out. */
export const ARTIFACTS_DIR = 'artifacts';

const NOTE = 'this directory was made by prune-once run; `files` lists what it wrote (size, sha256): prune-once deletes or replaces only those';
/** Temporary files of writeFileAtomic (`<name>.tmp-<pid>-<ms>`) and of a lock taken over (`.stale-<pid>-<ms>`). */
const TEMP_FILE = /\.(tmp|stale)-(\d+)-\d+$/;

export class RunDirError extends Error {}

/**
 * The run directory: --out as given, else artifacts/<name>. The name must stay inside artifacts/:
 * '.', '..' or anything resolving elsewhere is refused (it would make --fresh delete outside it).
 */
export function resolveRunDir(name: string, outDir: string | undefined, fresh: boolean): string {
  if (outDir !== undefined) {
    const dir = resolve(outDir);
    const cwd = process.cwd();
    if (fresh && (dir === resolve('/') || cwd === dir || cwd.startsWith(dir + sep))) {
      throw new RunDirError(
        `--out ${outDir}: --fresh would start over in ${dir}, which is the working directory, one of its parents or the root; give --out a run directory of its own, e.g. --out runs/${name}`,
      );
    }
    return dir;
  }
  const parent = resolve(ARTIFACTS_DIR);
  const dir = resolve(parent, name);
  const rel = relative(parent, dir);
  if (name === '.' || name === '..' || isAbsolute(name) || rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.includes(sep)) {
    throw new RunDirError(
      `pipeline name '${name}' would put the run directory at ${dir}, outside ${parent}${sep}; give the pipeline a name of its own (letters, digits, '.', '_', '-', not '.' or '..'), or choose the directory with --out`,
    );
  }
  return dir;
}

export function hasRunMarker(dir: string): boolean {
  return existsSync(join(dir, RUN_MARKER));
}

/** Resets the manifest: the run directory is the tool's, none of its files is (yet). */
export function writeRunMarker(dir: string): void {
  writeOwnership(dir, RUN_MARKER, NOTE);
}

function markerHasManifest(dir: string): boolean {
  try {
    return typeof (JSON.parse(readFileSync(join(dir, RUN_MARKER), 'utf8')) as { files?: unknown }).files === 'object';
  } catch {
    return false;
  }
}

/**
 * The files an older prune-once (before the marker) provably wrote in `dir`: the outputs each
 * stage's result.json records, when every one of them still has its recorded sha256, and that
 * result.json. Null when no stage verifies (then the folder is not adopted).
 */
function verifiedLegacyFiles(dir: string): Record<string, OwnedFile> | null {
  const files: Record<string, OwnedFile> = {};
  for (const stage of STAGE_ORDER) {
    const resultRel = `${stage}/result.json`;
    const st = lstatSync(join(dir, stage), { throwIfNoEntry: false });
    if (!st?.isDirectory()) continue;
    const result = readResult(join(dir, stage));
    if (!result?.fingerprint || !Array.isArray(result.outputs) || result.outputs.length === 0) continue;
    const recorded = Object.fromEntries(result.outputs.map((o) => [o.path, { bytes: o.bytes, sha256: o.sha256 }]));
    const claim = { tool: 'prune-once' as const, version: '', note: '', files: recorded };
    if (!result.outputs.every((o) => ownsFile(dir, claim, o.path))) continue;
    Object.assign(files, recorded);
    files[resultRel] = { bytes: statSync(join(dir, resultRel)).size, sha256: sha256File(join(dir, resultRel)) };
  }
  return Object.keys(files).length ? files : null;
}

/**
 * Creates the run directory with its marker, or checks an existing one: marked, empty, or an older
 * prune-once's run (adopted by its verified results). Any other folder is the user's: refused, with
 * or without --fresh, before anything is written. Returns a line to log when a run is adopted.
 */
export function prepareRunDir(dir: string): string | null {
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new RunDirError(`${dir}: exists and is not a directory; the run directory must be a directory: choose another --out, or move that file away`);
  if (existsSync(dir) && !hasRunMarker(dir) && readdirSync(dir).length > 0) {
    const legacy = verifiedLegacyFiles(dir);
    if (!legacy)
      throw new RunDirError(
        `${dir}: not made by prune-once (no ${RUN_MARKER} marker) and not empty, so prune-once writes and deletes nothing in it (with or without --fresh); give --out a new folder (or an empty one), e.g. --out ${dir}-run`,
      );
    writeOwnership(dir, RUN_MARKER, NOTE, legacy);
    return `${dir}: a run of an older prune-once (no ${RUN_MARKER} marker); its ${Object.keys(legacy).length} files whose checksums verify are the run's, nothing else in it is deleted or replaced`;
  }
  if (hasRunMarker(dir) && !markerHasManifest(dir)) {
    // A marker from before the manifest: the run's files are those its results verify.
    const files = verifiedLegacyFiles(dir) ?? {};
    writeOwnership(dir, RUN_MARKER, NOTE, files);
    return `${dir}: marked by an older prune-once (no list of its files); the ${Object.keys(files).length} files whose checksums its results verify are the run's, nothing else in it is deleted or replaced`;
  }
  claimDir(dir, RUN_MARKER, { note: NOTE, what: 'prune-once', fix: 'give --out a new folder' });
  return null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * --fresh: deletes the files the run's manifest lists whose bytes still match, and nothing else (a
 * symlink is never followed); returns what it kept (relative paths), for a line saying so. Call with
 * the run lock held.
 */
export function cleanRunDir(dir: string): string[] {
  if (!hasRunMarker(dir)) throw new RunDirError(`${dir}: not made by prune-once (no ${RUN_MARKER} marker); --fresh deletes nothing in it`);
  return removeOwned(dir, RUN_MARKER, NOTE, (rel) => rel === RUN_LOCK).sort();
}

/**
 * Removes temporary files left by a process that died mid-write (never those of a live one): only
 * the tool's temp names, only regular files, never through a symlink.
 */
export function removeStaleTempFiles(dir: string): void {
  const isDir = (d: string) => lstatSync(d, { throwIfNoEntry: false })?.isDirectory() ?? false;
  const dirs = [dir, ...STAGE_ORDER.map((s) => join(dir, s)).filter(isDir)];
  for (const d of dirs) {
    for (const f of readdirSync(d)) {
      const m = TEMP_FILE.exec(f);
      if (m && !alive(Number(m[2])) && lstatSync(join(d, f)).isFile()) rmSync(join(d, f), { force: true });
    }
  }
}
