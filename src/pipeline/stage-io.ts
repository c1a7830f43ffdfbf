/**
 * A stage's files: `model.ckpt` (the result), `resume.ckpt` (periodic, while training; deleted at
 * the end), and `result.json` (written last: its presence with a matching fingerprint is what
 * marks the stage done). All written atomically.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from '../checkpoint/format.js';
import { modelFromSnapshot, snapshotModel, type BertModel } from '../model/bert.js';
import { writeJsonAtomic } from '../util/fs.js';
import type { OutputRecord } from './verify.js';

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
  /** The files the stage wrote, with size and sha256, checked before the stage is reused (verify.ts). */
  outputs?: OutputRecord[];
}

export const modelPath = (dir: string) => join(dir, 'model.ckpt');
export const resumePath = (dir: string) => join(dir, 'resume.ckpt');
export const resultPath = (dir: string) => join(dir, 'result.json');

export function readResult(dir: string): StageResult | null {
  const p = resultPath(dir);
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as StageResult;
  } catch {
    return null;
  }
}

export function writeResult(dir: string, result: StageResult): void {
  writeJsonAtomic(resultPath(dir), result);
  rmSync(resumePath(dir), { force: true });
}

export function saveModel(dir: string, model: BertModel, state: Record<string, unknown>): void {
  const snap = snapshotModel(model);
  saveCheckpoint(modelPath(dir), { config: snap.config, weights: snap.weights, tensors: new Map(), state });
}

export function loadModel(dir: string, what: string): { model: BertModel; checkpoint: Checkpoint } {
  const p = modelPath(dir);
  if (!existsSync(p)) throw new Error(`${what}: ${p} not found; run the stage that makes it first (or rerun the pipeline)`);
  const checkpoint = loadCheckpoint(p);
  return { model: modelFromSnapshot({ config: checkpoint.config, weights: checkpoint.weights }), checkpoint };
}
