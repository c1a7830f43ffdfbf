/**
 * A stage's model file (`model.ckpt`, atomic and checksummed): what a stage saves and a later stage
 * loads. Paths come from the run layout (src/run/layout.ts); result.json is src/run/result.ts.
 */
import { existsSync } from 'node:fs';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from '../checkpoint/format.js';
import { modelFromSnapshot, snapshotModel, type BertModel } from '../model/bert.js';
import { modelPath } from '../run/layout.js';

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
