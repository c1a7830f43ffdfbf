/**
 * Runs the training loop for a stage so that it survives a crash: a resume checkpoint (weights,
 * optimizer moments, hook state, data position, RNG) is written every `checkpointEvery` steps and
 * picked up on the next run when its fingerprint still matches the stage's settings and inputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { loadCheckpoint, saveCheckpoint } from '../../checkpoint/format.js';
import { snapshotModel, type BertModel } from '../../model/bert.js';
import { resolveThreads } from '../../train/parallel.js';
import type { TrainHook } from '../../train/hooks.js';
import { trainLoop, type BatchSource, type LogEntry, type LoopIo, type LoopResult, type ResumePoint } from '../../train/loop.js';
import type { Batch, Objective } from '../../train/tasks.js';
import type { RunContext } from '../context.js';
import type { TrainSettings } from '../schema.js';
import { resumePath } from '../../run/layout.js';

export interface StageTraining<B extends Batch> {
  ctx: RunContext;
  dir: string;
  fingerprint: string;
  label: string;
  seed: number;
  model: BertModel;
  objective: Objective<B>;
  data: BatchSource<B>;
  train: TrainSettings;
  hooks: TrainHook<B>[];
  evaluate?: LoopIo['evaluate'];
  finish?: LoopIo['finish'];
}

/**
 * What a resume checkpoint's state holds: the fingerprint it was written under and the loop's state
 * (train/loop.ts's LoopState; the batch source and the hooks check their own parts on resume).
 */
export const ResumeState = z.object({
  fingerprint: z.string(),
  loop: z.object({
    step: z.number().int().nonnegative(),
    rng: z.number(),
    data: z.unknown(),
    optimizerStep: z.number().int().nonnegative(),
    hooks: z.record(z.string(), z.unknown()),
    history: z.array(z.custom<LogEntry>((e) => typeof e === 'object' && e !== null && typeof (e as { step?: unknown }).step === 'number')),
    earlyStopping: z
      .object({ bestStep: z.number(), bestValue: z.number(), bestMetrics: z.record(z.string(), z.number()), sinceBest: z.number(), stopped: z.boolean() })
      .optional(),
  }),
});
export type ResumeState = z.infer<typeof ResumeState>;

function tryResume<B extends Batch>(t: StageTraining<B>): ResumePoint | undefined {
  const path = resumePath(t.dir);
  if (!existsSync(path)) return undefined;
  try {
    const ckpt = loadCheckpoint(path, ResumeState);
    if (ckpt.state.fingerprint !== t.fingerprint) {
      t.ctx.log(`${t.label}: settings, inputs or data files changed since the interrupted run; starting the stage over`);
      return undefined;
    }
    for (const [name, w] of ckpt.weights) {
      const v = t.model.params.get(name);
      if (!v) throw new Error(`resume checkpoint has a weight '${name}' the model lacks`);
      tf.tidy(() => v.assign(tf.tensor(w.data, w.shape)));
    }
    const state = ckpt.state.loop;
    t.ctx.log(`${t.label}: resuming from step ${state.step} of ${t.train.steps}`);
    return { state, tensors: ckpt.tensors };
  } catch (e) {
    t.ctx.log(`${t.label}: resume checkpoint unusable (${(e as Error).message}); starting the stage over`);
    return undefined;
  }
}

export async function trainStage<B extends Batch>(t: StageTraining<B>): Promise<LoopResult> {
  const resume = tryResume(t);
  const path = resumePath(t.dir);
  return trainLoop(
    t.model,
    t.objective,
    t.data,
    {
      steps: t.train.steps,
      learningRate: t.train.learningRate,
      warmupSteps: t.train.warmupSteps,
      clipNorm: t.train.clipNorm,
      optimizer: { weightDecay: t.train.weightDecay },
      seed: t.seed,
      evalEvery: t.train.evalEvery,
      checkpointEvery: t.train.checkpointEvery,
      label: t.label,
      quiet: t.ctx.quiet,
      threads: resolveThreads(t.train.threads, t.ctx.backend.name),
      microBatch: t.train.microBatch,
      recompute: t.train.recompute,
      ...(t.train.earlyStopping
        ? {
            earlyStopping: {
              patience: t.train.earlyStopping.patience,
              metric: t.train.earlyStopping.metric,
              higherIsBetter: t.train.earlyStopping.metric !== 'dev_loss',
            },
          }
        : {}),
    },
    t.hooks,
    {
      evaluate: t.evaluate,
      finish: t.finish,
      saveResume: (state, tensors) => {
        const snap = snapshotModel(t.model);
        const resumeState: ResumeState = { fingerprint: t.fingerprint, loop: state };
        saveCheckpoint(path, { config: snap.config, weights: snap.weights, tensors, state: resumeState });
      },
    },
    resume,
  );
}

/** Loss and metric curves, thinned to at most `points` entries, for the report. */
export function curve(result: LoopResult, points = 50): Array<Record<string, number | undefined>> {
  const h = result.history;
  const every = Math.max(1, Math.ceil(h.length / points));
  return h.filter((_, i) => i % every === 0 || i === h.length - 1);
}
