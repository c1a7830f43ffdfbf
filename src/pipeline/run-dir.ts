/**
 * Where a run writes, and what `--fresh` may delete. The tool writes a marker file into every run
 * directory it creates; `--fresh` deletes only in a directory carrying that marker, and there only
 * the files the tool writes (foreign files are kept, and listed). A pipeline name that would put
 * the run directory outside artifacts/ ('.', '..') is refused before anything is touched.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { writeJsonAtomic } from '../util/fs.js';
import { TASKS_DIR } from '../run/layout.js';
import { TOOL_VERSION } from '../version.js';
import { STAGE_ORDER } from './stages/index.js';

export const RUN_MARKER = '.prune-once-run';
export const RUN_LOCK = '.prune-once.lock';
/** Where runs go without --out. */
export const ARTIFACTS_DIR = 'artifacts';

/** Files a run writes at its top level (besides the stages' recorded outputs). */
// model.teacher.fp32.onnx has two dots in its name.
const TOP_LEVEL_FILES = [/^pipeline\.json$/, /^vocab\.txt$/, /^report\.(json|md)$/, /^tasks\.(json|md)$/, /^model\.[A-Za-z0-9_.-]+\.onnx$/];
/** Files a stage writes in its own directory (besides its recorded outputs). */
const STAGE_FILES = [/^result\.json$/, /^model\.ckpt$/, /^resume\.ckpt$/];
/** Temporary files of writeFileAtomic: `<name>.tmp-<pid>-<ms>`. */
const TEMP_FILE = /\.tmp-(\d+)-\d+$/;

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

export function writeRunMarker(dir: string): void {
  writeJsonAtomic(join(dir, RUN_MARKER), {
    tool: 'prune-once',
    version: TOOL_VERSION,
    note: 'this directory was made by prune-once run; prune-once run --fresh deletes only the files prune-once writes here',
  });
}

/** True when `dir` holds nothing, or only what an earlier prune-once (before the marker) wrote. */
function looksLikeOwnRun(dir: string): boolean {
  const entries = readdirSync(dir);
  if (entries.length === 0) return true;
  return (
    entries.includes('pipeline.json') &&
    entries.every((e) => (STAGE_ORDER as readonly string[]).includes(e) || TOP_LEVEL_FILES.some((r) => r.test(e)) || e === RUN_LOCK || TEMP_FILE.test(e))
  );
}

/**
 * Creates the run directory with its marker, or checks an existing one. A directory the tool did not
 * make gets no marker (so --fresh will never delete in it); an empty one, or a run directory from
 * before the marker existed, gets one.
 */
export function prepareRunDir(dir: string, fresh: boolean): void {
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new RunDirError(`${dir}: exists and is not a directory; the run directory must be a directory: choose another --out, or move that file away`);
  const existed = existsSync(dir);
  if (!existed || (!hasRunMarker(dir) && looksLikeOwnRun(dir))) {
    writeRunMarker(dir);
    return;
  }
  if (fresh && !hasRunMarker(dir)) {
    throw new RunDirError(
      `${dir}: not made by prune-once (no ${RUN_MARKER} marker, and it holds other files), so --fresh deletes nothing in it; choose another --out, or empty the directory yourself`,
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Outputs a stage recorded in its result.json (paths relative to the run directory). */
function recordedOutputs(dir: string, stage: string): string[] {
  try {
    const r = JSON.parse(readFileSync(join(dir, stage, 'result.json'), 'utf8')) as { outputs?: Array<{ path: string }> };
    return (r.outputs ?? []).map((o) => o.path).filter((p) => typeof p === 'string' && !isAbsolute(p) && !p.split(/[\\/]/).includes('..'));
  } catch {
    return [];
  }
}

/**
 * --fresh: deletes the files the tool writes in a marked run directory, and nothing else; returns
 * the files it kept (relative paths), for a line saying so. Call with the run lock held.
 */
export function cleanRunDir(dir: string): string[] {
  if (!hasRunMarker(dir)) throw new RunDirError(`${dir}: not made by prune-once (no ${RUN_MARKER} marker); --fresh deletes nothing in it`);
  const recorded = new Set(STAGE_ORDER.flatMap((s) => recordedOutputs(dir, s)));
  const kept: string[] = [];
  const own = (rel: string, name: string, patterns: RegExp[]) => recorded.has(rel) || patterns.some((r) => r.test(name)) || TEMP_FILE.test(name);
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (e === RUN_MARKER || e === RUN_LOCK) continue;
    if (e === TASKS_DIR && statSync(p).isDirectory()) {
      // A multi-task run: each task's directory is a run directory of its own, cleaned the same way.
      for (const t of readdirSync(p)) {
        const td = join(p, t);
        if (statSync(td).isDirectory() && hasRunMarker(td)) {
          kept.push(...cleanRunDir(td).map((k) => `${e}/${t}/${k}`));
          rmSync(join(td, RUN_MARKER), { force: true });
          if (readdirSync(td).length === 0) rmdirSync(td);
        } else kept.push(`${e}/${t}`);
      }
      if (readdirSync(p).length === 0) rmdirSync(p);
      continue;
    }
    if ((STAGE_ORDER as readonly string[]).includes(e) && statSync(p).isDirectory()) {
      for (const f of readdirSync(p)) {
        const rel = `${e}/${f}`;
        if (!statSync(join(p, f)).isDirectory() && own(rel, f, STAGE_FILES)) rmSync(join(p, f));
        else kept.push(rel);
      }
      if (readdirSync(p).length === 0) rmdirSync(p);
    } else if (!statSync(p).isDirectory() && own(e, e, TOP_LEVEL_FILES)) {
      rmSync(p);
    } else {
      kept.push(e);
    }
  }
  return kept.sort();
}

/** Removes temporary files left by a process that died mid-write (never those of a live one). */
export function removeStaleTempFiles(dir: string): void {
  const dirs = [dir, ...STAGE_ORDER.map((s) => join(dir, s)).filter((d) => existsSync(d) && statSync(d).isDirectory())];
  for (const d of dirs) {
    for (const f of readdirSync(d)) {
      const m = TEMP_FILE.exec(f);
      if (m && !alive(Number(m[1]))) rmSync(join(d, f), { force: true });
    }
  }
}
