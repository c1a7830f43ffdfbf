/**
 * Stage `prune-distill` (Prune OFA's pre-training stage): the student, a copy of the teacher or a
 * compact preset, trains on masked-LM with distillation from the frozen teacher while gradual
 * magnitude pruning raises the sparsity of its encoder Linear weights to the target, then holds it.
 */
import { z } from 'zod';
import { mlmBatches } from '../../data/index.js';
import { distillationHook } from '../../distill/hook.js';
import { createModel, disposeModel, modelFromSnapshot, snapshotModel } from '../../model/bert.js';
import { defaultConfig, presetShape } from '../../model/config.js';
import { PrunerHook } from '../../prune/pruner.js';
import { prunerSettings, pruningInclude, PruningSchema, pruningSchedule } from '../../prune/config.js';
import { selectWeights } from '../../prune/select.js';
import type { TrainHook } from '../../train/hooks.js';
import { mlmObjective, type Batch } from '../../train/tasks.js';
import { evaluateMlm } from '../evaluate.js';
import { inStage } from '../../run/layout.js';
import { DistillSchema, TrainSchema } from '../schema.js';
import { loadModel, saveModel } from '../stage-io.js';
import { curve, trainStage } from './train.js';
import { defineStage, type StageOutput, type StageRun } from './types.js';
import { memoryMetrics } from '../../train/memory-watch.js';

export const PruneDistillSettings = z.strictObject({
  /** 'teacher' (Prune OFA: a copy of the teacher) or a preset name (Well-Read Students' compact student). */
  student: z.string().default('teacher'),
  pruning: PruningSchema.prefault({}),
  distill: DistillSchema.prefault({}),
  train: TrainSchema,
});
export type PruneDistillSettings = z.infer<typeof PruneDistillSettings>;

export async function runPruneDistill(run: StageRun<PruneDistillSettings>): Promise<StageOutput> {
  const { ctx, settings: s } = run;
  const { model: teacher } = loadModel(run.dirOf('teacher'), 'prune-distill needs the teacher');
  let student;
  if (s.student === 'teacher') {
    student = modelFromSnapshot(snapshotModel(teacher));
  } else {
    const cfg = defaultConfig({ ...teacher.config, ...presetShape(s.student) });
    student = createModel(cfg, run.seed);
  }
  const corpus = ctx.corpus();
  const names = selectWeights(student.params.keys(), pruningInclude(s.pruning), s.pruning.exclude);
  if (names.length === 0) throw new Error('prune-distill.pruning.include selects no weights of the student; see the weight names in `prune-once inspect`');
  const pruner = new PrunerHook<Batch>(student, names, prunerSettings(s.pruning, s.train.steps));
  const hooks: TrainHook<Batch>[] = [];
  if (s.distill.enabled) hooks.push(distillationHook(teacher, s.distill, run.seed));
  hooks.push(pruner);
  const evaluate = (m: typeof student) => evaluateMlm(m, corpus.heldOut, ctx.pipeline.seed);
  const result = await trainStage({
    ctx,
    dir: run.dir,
    fingerprint: run.fingerprint,
    label: 'prune-distill',
    seed: run.seed,
    model: student,
    objective: mlmObjective,
    data: mlmBatches(corpus.train, { batchSize: s.train.batchSize, seed: run.seed }),
    train: s.train,
    hooks,
    evaluate,
  });
  const sparsity = pruner.sparsity();
  const final = evaluate(student);
  saveModel(run.dir, student, { stage: 'prune-distill', fingerprint: run.fingerprint, prunedWeights: names });
  pruner.dispose();
  disposeModel(student);
  disposeModel(teacher);
  return {
    metrics: {
      ...final,
      sparsity: sparsity.overall,
      pruned_params: sparsity.params,
      pruned_nonzeros: sparsity.nonZeros,
      tokens_per_s: result.tokensPerSecond,
      ...memoryMetrics(result.memory),
    },
    details: {
      perTensorSparsity: sparsity.perTensor,
      prunedWeights: names,
      curve: curve(result),
      evaluations: result.evaluations,
      schedule: pruningSchedule(s.pruning, s.train.steps),
    },
  };
}

export const pruneDistillStage = defineStage({
  name: 'prune-distill',
  describe: 'the sparse student: gradual magnitude pruning with distillation from the teacher, on MLM',
  schema: PruneDistillSettings,
  inputs: ['teacher'],
  data: 'corpus',
  outputs: () => [inStage('prune-distill', 'model')],
  run: runPruneDistill,
});
