/**
 * The one rule of every command that writes or deletes (issue 27): prune-once deletes or replaces
 * only a path it can prove it made. Proof is the directory's own manifest, its marker file (a run's
 * `.prune-once-run`, a bundle's `.prune-once-bundle`): every file the tool wrote there, with size and
 * sha256, recorded as the file is written. The tool may replace a path listed there (a damaged
 * checkpoint of its own is rewritten), and delete one only when its bytes still match (a file
 * edited since is kept); never a path reached through a symlink (a link is never followed to
 * delete or replace: its target may be anything). Nothing is adopted by look: a folder without the
 * marker is the user's, whatever names its files have.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { setWriteObserver, sha256File, writeJsonAtomic } from './fs.js';
import { TOOL_VERSION } from '../version.js';

/** Refused: the path is the user's (or unprovable), so the tool leaves it alone. */
export class NotOwnedError extends Error {}

export interface OwnedFile {
  bytes: number;
  sha256: string;
}

/** The marker file's content. */
export interface Ownership {
  tool: 'prune-once';
  version: string;
  note: string;
  /** Path relative to the directory ('/'-separated) -> size and sha256 of the bytes the tool wrote. */
  files: Record<string, OwnedFile>;
  /** A file being replaced: its previous record, until the new bytes are in place (a crash between keeps it the tool's). */
  replacing?: Record<string, OwnedFile>;
}

/** Why `rel` cannot name a path inside its directory (absolute, '..', empty segments), or null. */
export function pathProblem(rel: string): string | null {
  if (typeof rel !== 'string' || rel === '') return 'an empty path';
  if (isAbsolute(rel) || /^[A-Za-z]:/.test(rel) || rel.startsWith('/') || rel.startsWith('\\')) return 'an absolute path';
  const parts = rel.split(/[\\/]/);
  if (parts.includes('..')) return "a path with '..' (it would leave the directory)";
  if (parts.some((p) => p === '' || p === '.')) return "a path with an empty or '.' segment";
  return null;
}

/** The first symlink met going from `root` (not itself checked) down to `root/rel`, relative; null when none. */
export function symlinkOnPath(root: string, rel: string): string | null {
  const parts = rel.split(/[\\/]/);
  for (let i = 1; i <= parts.length; i++) {
    const sub = parts.slice(0, i).join('/');
    try {
      if (lstatSync(join(root, sub)).isSymbolicLink()) return sub;
    } catch {
      return null; // not there: nothing further down exists either
    }
  }
  return null;
}

export function readOwnership(dir: string, marker: string): Ownership | null {
  const p = join(dir, marker);
  if (!existsSync(p)) return null;
  try {
    const o = JSON.parse(readFileSync(p, 'utf8')) as Partial<Ownership>;
    // A marker from before the manifest (no `files`) still marks the directory; it proves no file.
    const obj = (x: unknown) => (x && typeof x === 'object' ? (x as Record<string, OwnedFile>) : {});
    return { tool: 'prune-once', version: o.version ?? '', note: o.note ?? '', files: obj(o.files), replacing: obj(o.replacing) };
  } catch {
    return { tool: 'prune-once', version: '', note: '', files: {} };
  }
}

export function writeOwnership(
  dir: string,
  marker: string,
  note: string,
  files: Record<string, OwnedFile> = {},
  replacing: Record<string, OwnedFile> = {},
): void {
  const o: Ownership = { tool: 'prune-once', version: TOOL_VERSION, note, files, ...(Object.keys(replacing).length ? { replacing } : {}) };
  writeJsonAtomic(join(dir, marker), o);
}

/** True when the manifest lists `rel` (the tool may replace it; deleting also needs ownsFile). */
const listed = (own: Ownership, rel: string): boolean => !!(own.files[rel] ?? own.replacing?.[rel]);

/** True when `dir/rel` is a regular file reached without symlinks whose bytes are the ones the manifest lists. */
export function ownsFile(dir: string, own: Ownership, rel: string): boolean {
  const recs = [own.files[rel], own.replacing?.[rel]].filter((r): r is OwnedFile => !!r);
  if (!recs.length || pathProblem(rel) || symlinkOnPath(dir, rel)) return false;
  const p = join(dir, rel);
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (!st?.isFile() || !recs.some((r) => r.bytes === st.size)) return false;
  const sha = sha256File(p);
  return recs.some((r) => r.bytes === st.size && r.sha256 === sha);
}

/**
 * Claims `dir` for the tool: a new directory, or an empty one, gets the marker; a marked one is
 * kept as it is. A non-empty folder without the marker is the user's: NotOwnedError with `fix`.
 */
export function claimDir(dir: string, marker: string, o: { note: string; what: string; fix: string }): void {
  // The directory itself may be a link the user chose (--out link); only what is below it is checked.
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw new NotOwnedError(`${dir}: exists and is not a directory; ${o.fix}`);
  if (existsSync(join(dir, marker))) return;
  if (st && readdirSync(dir).length > 0)
    throw new NotOwnedError(`${dir}: not made by ${o.what} (no ${marker} marker) and not empty, so nothing in it is deleted or replaced; ${o.fix}`);
  mkdirSync(dir, { recursive: true });
  writeOwnership(dir, marker, o.note);
}

// --- Writes recorded as they happen -------------------------------------------------------------

interface Tracked {
  dir: string;
  marker: string;
  /** Null: a folder without the marker (the user's): new files may be added, none replaced, nothing recorded. */
  own: Ownership | null;
}

/** Directories whose writes are checked and recorded in their manifest (innermost wins). */
const tracked = new Map<string, Tracked>();

function trackerOf(path: string): { t: Tracked; rel: string } | null {
  let best: Tracked | null = null;
  for (const t of tracked.values()) if (path.startsWith(t.dir + sep) && (!best || t.dir.length > best.dir.length)) best = t;
  return best ? { t: best, rel: relative(best.dir, path).split(sep).join('/') } : null;
}

/** True when `path` lies in a directory whose writes are tracked. */
export const isTracked = (path: string): boolean => trackerOf(resolve(path)) !== null;

/** Why the tool may not write (replace) `path`, naming it and the fix; null when it may. */
export function replaceProblem(path: string): string | null {
  const hit = trackerOf(resolve(path));
  if (!hit) return null;
  const { t, rel } = hit;
  if (rel === t.marker && t.own) return null;
  const link = symlinkOnPath(t.dir, rel);
  if (link) return `${join(t.dir, link)} is a symlink; prune-once never writes or deletes through one: replace it with a folder, or choose another --out`;
  const p = join(t.dir, rel);
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (!st) return null;
  if (st.isFile() && t.own && listed(t.own, rel)) return null;
  const why = t.own ? `not listed in ${join(t.dir, t.marker)}` : `${t.dir} has no ${t.marker} marker`;
  return `${p}: not made by prune-once (${why}), so it is not replaced; move it away, or choose another --out`;
}

/** Records that the tool wrote `path` (its bytes, or their size and sha256 when known) in its directory's manifest. */
export function recordFile(path: string, known?: OwnedFile): void {
  const hit = trackerOf(resolve(path));
  const own = hit?.t.own;
  if (!hit || !own || hit.rel === hit.t.marker) return;
  const { t, rel } = hit;
  const p = join(t.dir, rel);
  own.files[rel] = known ?? { bytes: lstatSync(p).size, sha256: sha256File(p) };
  delete own.replacing?.[rel];
  save(t);
}

const save = (t: Tracked) => t.own && writeOwnership(t.dir, t.marker, t.own.note, t.own.files, t.own.replacing);

/** Deletes `path` when the tool owns it (listed, bytes match, no symlink); true when deleted. */
export function removeOwnedFile(path: string): boolean {
  const hit = trackerOf(resolve(path));
  const own = hit?.t.own;
  if (!hit || !own) return false;
  const { t, rel } = hit;
  if (!ownsFile(t.dir, own, rel)) return false;
  unlinkSync(join(t.dir, rel));
  delete own.files[rel];
  save(t);
  return true;
}

/**
 * From now on every writeFileAtomic under `dir` is refused when it would replace a file the tool
 * did not make or pass a symlink, and, in a directory with the marker, recorded in its manifest.
 * In a folder without the marker only new files may be written.
 */
export function trackWrites(dir: string, marker: string): void {
  const d = resolve(dir);
  tracked.set(d, { dir: d, marker, own: readOwnership(d, marker) });
  setWriteObserver({
    // Listed before the rename (with the previous version kept as `replacing`): a crash at any
    // point leaves whatever is on disk provably the tool's.
    before: (path, data) => {
      const problem = replaceProblem(path);
      if (problem) throw new NotOwnedError(problem);
      const hit = trackerOf(resolve(path));
      if (!hit?.t.own || hit.rel === hit.t.marker) return;
      const { t, rel } = hit;
      const own = hit.t.own;
      const prev = own.files[rel];
      if (prev) (own.replacing ??= {})[rel] = prev;
      own.files[rel] = { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
      save(t);
    },
    after: (path) => {
      const hit = trackerOf(resolve(path));
      if (!hit?.t.own || hit.rel === hit.t.marker) return;
      delete hit.t.own.replacing?.[hit.rel];
    },
  });
}

/** Stops tracking `dir` and every tracked directory under it. */
export function stopTracking(dir: string): void {
  const d = resolve(dir);
  for (const k of [...tracked.keys()]) if (k === d || k.startsWith(d + sep)) tracked.delete(k);
  if (tracked.size === 0) setWriteObserver(null);
}

/** Runs `fn` with `dir`'s writes tracked (see trackWrites), then stops; within a run that tracks `dir` already, just runs it. */
export async function withTrackedWrites<T>(dir: string, marker: string, fn: () => Promise<T> | T): Promise<T> {
  if (tracked.has(resolve(dir))) return fn();
  trackWrites(dir, marker);
  try {
    return await fn();
  } finally {
    stopTracking(dir);
  }
}

/** The marker of a folder the user chose for prune-once's files (export --out, bench --out). */
export const OUTPUT_MARKER = '.prune-once-output';

/**
 * Marks a folder the user chose for the tool's output (a run directory keeps its own marker): the
 * marker owns nothing yet, so the tool's writes there may add files, and later replace only those.
 * Returns the marker in use, for trackWrites.
 */
export function markOutputFolder(dir: string, runMarker: string): string {
  if (existsSync(join(dir, runMarker))) return runMarker;
  if (!existsSync(join(dir, OUTPUT_MARKER))) {
    mkdirSync(dir, { recursive: true });
    writeOwnership(dir, OUTPUT_MARKER, 'prune-once wrote files into this folder; `files` lists them (size, sha256): prune-once replaces only those');
  }
  return OUTPUT_MARKER;
}

// --- Deleting -----------------------------------------------------------------------------------

/**
 * Deletes what the tool owns in `dir` (listed files whose bytes match, and entries `bookkeeping`
 * names: locks, temp files), never through a symlink; a subfolder with its own marker is cleaned by
 * its own manifest. Folders emptied by it are removed. The manifest is reset (what is left is not
 * the tool's). Returns what was kept, relative, for a line saying so.
 */
export function removeOwned(dir: string, marker: string, note: string, bookkeeping: (rel: string) => boolean = () => false): string[] {
  const own = readOwnership(dir, marker);
  if (!own) throw new NotOwnedError(`${dir}: not made by prune-once (no ${marker} marker), so nothing in it is deleted`);
  const kept: string[] = [];
  /** Deletes in `d`; returns how many entries it deleted, so only folders it emptied are removed. */
  const walk = (d: string, rel: string): number => {
    let deleted = 0;
    for (const e of readdirSync(d).sort()) {
      const r = rel ? `${rel}/${e}` : e;
      const p = join(d, e);
      const st = lstatSync(p);
      if (!rel && e === marker) continue;
      if (st.isSymbolicLink()) kept.push(`${r} (a symlink: not followed)`);
      else if (st.isDirectory()) {
        let inside: number;
        if (existsSync(join(p, marker))) {
          // A directory of its own (a task of a multi-task run): its manifest decides.
          const before = readdirSync(p).length;
          kept.push(...removeOwned(p, marker, note, bookkeeping).map((k) => `${r}/${k}`));
          if (readdirSync(p).length === 1) unlinkSync(join(p, marker));
          inside = before - readdirSync(p).length;
        } else inside = walk(p, r);
        if (inside > 0 && readdirSync(p).length === 0) {
          rmdirSync(p);
          deleted++;
        }
      } else if (bookkeeping(r) || (st.isFile() && ownsFile(dir, own, r))) {
        unlinkSync(p);
        deleted++;
      } else kept.push(r);
    }
    return deleted;
  };
  walk(dir, '');
  writeOwnership(dir, marker, note);
  const t = tracked.get(resolve(dir));
  if (t?.own) {
    t.own.files = {};
  }
  return kept;
}

// --- Installing a staged set of files -----------------------------------------------------------

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? filesUnder(join(dir, d.name), `${prefix}${d.name}/`) : [`${prefix}${d.name}`],
  );
}

/**
 * Moves the files of `staging` (written complete by the caller) into `target`, whose manifest then
 * lists exactly them: a new target is the staging folder renamed (one atomic step); in an existing
 * one each file is renamed into place, replacing only files the tool owns (every collision with a
 * file of the user's is refused before anything moves), and files of the previous set that the new
 * one lacks are deleted when still the tool's. Everything else in `target` is left as it is.
 */
export function installOwned(staging: string, target: string, marker: string, note: string): void {
  const files = filesUnder(staging);
  const records: Record<string, OwnedFile> = {};
  for (const f of files) records[f] = { bytes: lstatSync(join(staging, f)).size, sha256: sha256File(join(staging, f)) };
  if (!existsSync(target)) {
    writeOwnership(staging, marker, note, records);
    mkdirSync(dirname(target), { recursive: true });
    renameSync(staging, target);
    return;
  }
  const own = readOwnership(target, marker) ?? { tool: 'prune-once', version: TOOL_VERSION, note, files: {} };
  const clashes = files.filter((f) => {
    const p = join(target, f);
    const st = lstatSync(p, { throwIfNoEntry: false });
    return symlinkOnPath(target, f) !== null || (st !== undefined && !(st.isFile() && listed(own, f)));
  });
  if (clashes.length)
    throw new NotOwnedError(
      `${target}: ${clashes.map((c) => `'${c}'`).join(', ')} ${clashes.length > 1 ? 'are' : 'is'} not made by prune-once (or changed since, or reached through a symlink), so nothing is replaced; move ${clashes.length > 1 ? 'them' : 'it'} away, or choose a new folder`,
    );
  const stale = Object.keys(own.files).filter((f) => !records[f] && ownsFile(target, own, f));
  // While files move, the manifest lists the old and the new ones: a crash leaves nothing unclaimed.
  writeOwnership(target, marker, note, { ...own.files, ...records });
  for (const f of files) {
    mkdirSync(dirname(join(target, f)), { recursive: true });
    renameSync(join(staging, f), join(target, f));
  }
  for (const f of stale) unlinkSync(join(target, f));
  writeOwnership(target, marker, note, records);
}
