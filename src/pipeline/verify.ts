/**
 * Reuse only what verifies: a stage's result.json records each file the stage wrote (path relative
 * to the run directory, size, sha256); before a stage is reported "up to date" those files are
 * checked, and a stage whose files fail is redone (the caller says why, naming the file).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { sha256File } from '../util/fs.js';
import type { OutputRecord } from '../run/result.js';
import { RUN_LOCK, RUN_MARKER } from './run-dir.js';

// The record's shape is part of result.json (src/run/result.ts).
export type { OutputRecord };

/** Not outputs: the stage's own bookkeeping, the run's settings, marker, lock and temp files. */
const NOT_OUTPUTS = new Set(['result.json', 'resume.ckpt', 'pipeline.json', RUN_MARKER, RUN_LOCK]);
const isTemp = (name: string) => /\.tmp-\d+-\d+$/.test(name) || /\.stale-\d+-\d+$/.test(name);

function record(runDir: string, path: string): OutputRecord {
  return { path: relative(runDir, path).split('\\').join('/'), bytes: statSync(path).size, sha256: sha256File(path) };
}

/** Identity of each top-level file (inode, mtime, size), taken before a stage runs. */
export function snapshotTopLevel(runDir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(runDir)) {
    const st = statSync(join(runDir, f));
    if (st.isFile()) out.set(f, `${st.ino}:${st.mtimeMs}:${st.size}`);
  }
  return out;
}

/**
 * What a stage wrote: every file in its directory, and the files at the run directory's top level
 * that are new or changed since `before` (the exported ONNX files, the report, the run's
 * vocabulary). Atomic writes rename a new file into place, so a rewritten file has a new inode.
 */
export function recordOutputs(runDir: string, stageDir: string, before: Map<string, string>): OutputRecord[] {
  const out: OutputRecord[] = [];
  for (const f of readdirSync(stageDir).sort()) {
    const p = join(stageDir, f);
    if (!NOT_OUTPUTS.has(f) && !isTemp(f) && statSync(p).isFile()) out.push(record(runDir, p));
  }
  for (const f of readdirSync(runDir).sort()) {
    const p = join(runDir, f);
    if (NOT_OUTPUTS.has(f) || isTemp(f)) continue;
    const st = statSync(p);
    if (st.isFile() && before.get(f) !== `${st.ino}:${st.mtimeMs}:${st.size}`) out.push(record(runDir, p));
  }
  return out;
}

/** Why a finished stage's outputs cannot be reused, naming the file; null when they all verify. */
export function verifyOutputs(runDir: string, outputs: OutputRecord[] | undefined): string | null {
  if (!Array.isArray(outputs))
    return `its result.json (${'written by an older prune-once'}) records no sizes and checksums of its files, so they cannot be verified`;
  for (const o of outputs) {
    const p = join(runDir, o.path);
    if (!existsSync(p)) return `${p} is missing`;
    const size = statSync(p).size;
    if (size !== o.bytes) return `${p} has the wrong size (${size} bytes, ${o.bytes} recorded): truncated or replaced`;
    if (sha256File(p) !== o.sha256) return `${p} fails its checksum (sha256 differs from the one recorded): corrupted or changed`;
  }
  return null;
}
