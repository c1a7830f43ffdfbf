/**
 * A stage's model file (`model.ckpt`, atomic and checksummed): what a stage saves and a later stage
 * loads. Paths come from the run layout (src/run/layout.ts); result.json is src/run/result.ts.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from '../checkpoint/format.js';
import { STAGE_STATES, type ModelStage, type StageState } from '../checkpoint/state.js';
import type { TeacherTargets } from '../distill/hook.js';
import { modelFromSnapshot, snapshotModel, type BertModel } from '../model/bert.js';
import type { WeightData } from '../model/snapshot.js';
import { modelPath } from '../run/layout.js';
import { sha256File } from '../util/fs.js';

/**
 * Saves a stage's model with the state its stage declares (checkpoint/state.ts), and any tensors
 * it hands on besides the weights (finetune-teacher's TRAIN_LOGITS).
 */
export function saveModel(dir: string, model: BertModel, state: StageState, tensors: Map<string, WeightData> = new Map()): void {
  const snap = snapshotModel(model);
  saveCheckpoint(modelPath(dir), { config: snap.config, weights: snap.weights, tensors, state });
}

/**
 * The tensor of finetune-teacher's model.ckpt holding the fine-tuned teacher's logits for every
 * training example of the task, [examples, labels], in the training split's order: the targets
 * transfer and qat distil from (distill/hook.ts, TeacherTargets).
 */
export const TRAIN_LOGITS = 'teacher/train-logits';

/** The stored teacher targets of a finetune-teacher checkpoint, when they cover `examples` rows of `labels` classes. */
export function storedTeacherTargets(checkpoint: Checkpoint, examples: number, labels: number): TeacherTargets | undefined {
  const t = checkpoint.tensors.get(TRAIN_LOGITS);
  if (!t || t.shape.length !== 2 || t.shape[0] !== examples || t.shape[1] !== labels) return undefined;
  return { examples, labels, logits: t.data };
}

/** The model `stage` saved (in `run.dirOf(stage)`), its state checked against the stage's declaration. */
export function loadModel<S extends ModelStage>(
  run: { dirOf(stage: string): string },
  stage: S,
  what: string,
): { model: BertModel; checkpoint: Checkpoint<StageState<S>> } {
  const p = modelPath(run.dirOf(stage));
  if (!existsSync(p)) throw new Error(`${what}: ${p} not found; run the stage that makes it first (or rerun the pipeline)`);
  const checkpoint = loadCheckpoint(p, STAGE_STATES[stage]);
  return { model: modelFromSnapshot({ config: checkpoint.config, weights: checkpoint.weights }), checkpoint };
}

/**
 * Identity of files outside the run that a stage reads (`teacher.from`, `prune-distill.from`): the
 * size and sha256 of the checkpoint, or of each file of a directory, so that changed files rerun
 * the stage while the same files found on another machine or in another clone (other paths'
 * modification times) keep the fingerprint, and with it the stage cache's entries.
 */
export function externalIdentity(from: string | undefined): unknown {
  if (!from || !existsSync(from)) return null;
  const files = statSync(from).isDirectory()
    ? readdirSync(from)
        .sort()
        .map((f) => join(from, f))
        .filter((f) => statSync(f).isFile())
    : [from];
  return files.map((f) => [basename(f), statSync(f).size, sha256File(f)]);
}
