/**
 * Stage `prune-distill` (Prune OFA's pre-training stage): the student, a copy of the teacher or a
 * compact preset, trains on masked-LM with distillation from the frozen teacher while gradual
 * magnitude pruning raises the sparsity of its encoder Linear weights to the target, then holds it.
 */
import { existsSync, statSync } from 'node:fs';
import { z } from 'zod';
import { loadCheckpoint } from '../../checkpoint/format.js';
import { ModelState } from '../../checkpoint/state.js';
import { PatternLockHook } from '../../prune/pattern-lock.js';
import { inStage, modelPath } from '../../run/layout.js';
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
import { DistillSchema, noEarlyStopping, TrainSchema } from '../schema.js';
import { externalIdentity, loadModel, saveModel } from '../stage-io.js';
import { curve, trainStage } from './train.js';
import { defineStage, type StageOutput, type StageRun } from './types.js';
import { memoryMetrics } from '../../train/memory-watch.js';

export const PruneDistillSettings = z
  .strictObject({
    /** 'teacher' (Prune OFA: a copy of the teacher) or a preset name (Well-Read Students' compact student). */
    student: z.string().default('teacher'),
    /**
     * Take the sparse pre-trained student of an earlier run instead of training one (prune once,
     * transfer to tasks added later): that run's prune-distill directory (or its model.ckpt). The
     * pruning, distill and train settings are then not used.
     */
    from: z.string().optional(),
    pruning: PruningSchema.prefault({}),
    distill: DistillSchema.prefault({}),
    train: TrainSchema.optional(),
  })
  .superRefine(noEarlyStopping('the pruning schedule changes the weights until its end, so no earlier step is a model to keep'));
export type PruneDistillSettings = z.infer<typeof PruneDistillSettings>;

export async function runPruneDistill(run: StageRun<PruneDistillSettings>): Promise<StageOutput> {
  const { ctx, settings: s } = run;
  if (s.from) return takeStudent(run, s.from);
  if (!s.train) throw new Error("stages.prune-distill.train is required unless prune-distill.from names an earlier run's prune-distill output");
  const train = s.train;
  const { model: teacher } = loadModel(run, 'teacher', 'prune-distill needs the teacher');
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
  const pruner = new PrunerHook<Batch>(student, names, prunerSettings(s.pruning, train.steps));
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
    data: mlmBatches(corpus.train, { batchSize: train.batchSize, seed: run.seed }),
    train,
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
      schedule: pruningSchedule(s.pruning, train.steps),
    },
  };
}

/** The checkpoint `prune-distill.from` names: a prune-distill directory's model.ckpt, or the file itself. */
function studentFile(from: string): string {
  return existsSync(from) && statSync(from).isDirectory() ? modelPath(from) : from;
}

/**
 * `prune-distill.from`: the sparse student of an earlier run, checked (its pruned weights listed,
 * its vocabulary the pipeline's) and re-measured on this run's held-out text, then saved as this
 * stage's output so the task stages read it as usual.
 */
function takeStudent(run: StageRun<PruneDistillSettings>, from: string): StageOutput {
  const { ctx } = run;
  const file = studentFile(from);
  if (!existsSync(file))
    throw new Error(
      `stages.prune-distill.from: ${file} not found; name the prune-distill directory of an earlier run (e.g. artifacts/prune-once/prune-distill)`,
    );
  const checkpoint = loadCheckpoint(file, ModelState);
  const { state } = checkpoint;
  if (state.stage !== 'prune-distill')
    throw new Error(`stages.prune-distill.from: ${file} is not a prune-distill output (it was written by '${state.stage}' and lists no pruned weights)`);
  const pruned = state.prunedWeights;
  const vocab = ctx.tokenizer().vocabSize;
  if (checkpoint.config.vocabSize !== vocab)
    throw new Error(
      `stages.prune-distill.from: ${file} has vocabSize ${checkpoint.config.vocabSize} but this pipeline's tokenizer has ${vocab}; use the tokenizer (and teacher.from) of the run it came from`,
    );
  const student = modelFromSnapshot({ config: checkpoint.config, weights: checkpoint.weights });
  const lock = new PatternLockHook<Batch>(student, pruned);
  const sparsity = lock.sparsity();
  lock.dispose();
  const final = evaluateMlm(student, ctx.corpus().heldOut, ctx.pipeline.seed);
  saveModel(run.dir, student, {
    stage: 'prune-distill',
    fingerprint: run.fingerprint,
    prunedWeights: pruned,
    takenFrom: { file, fingerprint: state.fingerprint },
  });
  disposeModel(student);
  ctx.log(
    `prune-distill: took the sparse student of ${file} (sparsity ${sparsity.overall.toFixed(4)}, held-out MLM accuracy ${final.mlm_accuracy.toFixed(4)})`,
  );
  return {
    metrics: { ...final, sparsity: sparsity.overall, pruned_params: sparsity.params, pruned_nonzeros: sparsity.nonZeros },
    details: { takenFrom: file, sourceFingerprint: state.fingerprint, perTensorSparsity: sparsity.perTensor, prunedWeights: pruned },
  };
}

export const pruneDistillStage = defineStage({
  name: 'prune-distill',
  describe: 'the sparse student: gradual magnitude pruning with distillation from the teacher, on MLM',
  schema: PruneDistillSettings,
  inputs: ['teacher'],
  data: 'corpus',
  externalFiles: (s) => externalIdentity(s.from && studentFile(s.from)),
  outputs: () => [inStage('prune-distill', 'model')],
  run: runPruneDistill,
});
