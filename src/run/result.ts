/**
 * A stage's `result.json`: written last (atomically), so its presence with a matching fingerprint is
 * what marks the stage done. The report and `inspect` read it; the runner writes it.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { writeJsonAtomic } from '../util/fs.js';
import { isTracked, removeOwnedFile } from '../util/owned-dir.js';
import { resultPath, resumePath } from './layout.js';

export interface StageResult {
  stage: string;
  fingerprint: string;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  /** Headline figures (accuracy, sparsity, ...). */
  metrics: Record<string, number>;
  /** Anything else the report needs (evaluations over time, per-tensor sparsity, files). */
  details: Record<string, unknown>;
  /** The files the stage wrote, with size and sha256, checked before the stage is reused (pipeline/verify.ts). */
  outputs?: OutputRecord[];
}

/** One output file of a stage as recorded in its result.json. */
export interface OutputRecord {
  /** Relative to the run directory, '/'-separated. */
  path: string;
  bytes: number;
  sha256: string;
}

/** The stage's result, or null when it has none (or an unreadable one: the stage then reruns). */
export function readResult(stageDirectory: string): StageResult | null {
  const p = resultPath(stageDirectory);
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as StageResult;
  } catch {
    return null;
  }
}

/** Marks the stage done; its resume checkpoint is no longer needed. */
export function writeResult(stageDirectory: string, result: StageResult): void {
  writeJsonAtomic(resultPath(stageDirectory), result);
  // In a run directory only the run's own resume checkpoint (owned-dir.ts); elsewhere as before.
  if (isTracked(resumePath(stageDirectory))) removeOwnedFile(resumePath(stageDirectory));
  else rmSync(resumePath(stageDirectory), { force: true });
}
