/**
 * Stage `prune-distill` (Prune OFA's pre-training stage): the student, a copy of the teacher or a
 * compact preset, trains on masked-LM with distillation from the frozen teacher while gradual
 * magnitude pruning raises the sparsity of its encoder Linear weights to the target, then holds it.
 */
import { mlmBatches } from '../../data/index.js';
import { distillationHook } from '../../distill/hook.js';
import { createModel, disposeModel, modelFromSnapshot, snapshotModel } from '../../model/bert.js';
import { defaultConfig, presetShape } from '../../model/config.js';
import { PrunerHook } from '../../prune/pruner.js';
import type { ScheduleConfig } from '../../prune/schedules.js';
import { DEFAULT_INCLUDE, selectWeights } from '../../prune/select.js';
import type { TrainHook } from '../../train/loop.js';
import { mlmObjective, type Batch } from '../../train/tasks.js';
import { evaluateMlm } from '../evaluate.js';
import type { PruningConfig } from '../schema.js';
import { loadModel, saveModel } from '../stage-io.js';
import { curve, trainStage } from './train.js';
import type { StageOutput, StageRun } from './types.js';
import { memoryMetrics } from '../../train/memory-watch.js';

export function scheduleFor(p: PruningConfig, steps: number): ScheduleConfig {
  if (p.schedule === 'cubic') {
    const beginStep = Math.round(p.beginFraction * steps);
    const endStep = Math.max(beginStep + 1, Math.round(p.endFraction * steps));
    return { kind: 'cubic', initialSparsity: p.initialSparsity, finalSparsity: p.finalSparsity, beginStep, endStep, frequency: p.frequency };
  }
  if (p.schedule === 'constant') return { kind: 'constant', sparsity: p.finalSparsity, beginStep: Math.round(p.beginFraction * steps) };
  return { kind: 'one-shot', sparsity: p.finalSparsity, step: Math.round(p.beginFraction * steps) };
}

export async function runPruneDistill(run: StageRun<'prune-distill'>): Promise<StageOutput> {
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
  const names = selectWeights(student.params.keys(), s.pruning.include ?? DEFAULT_INCLUDE, s.pruning.exclude);
  if (names.length === 0) throw new Error('prune-distill.pruning.include selects no weights of the student; see the weight names in `prune-once inspect`');
  const pruner = new PrunerHook<Batch>(student, names, {
    method: s.pruning.method,
    schedule: scheduleFor(s.pruning, s.train.steps),
    block: s.pruning.block,
    overrides: s.pruning.overrides,
  });
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
    hooks: hooks as never,
    evaluate,
  });
  const sparsity = pruner.sparsity();
  const final = evaluate(student);
  saveModel(run.dir, student, { stage: 'prune-distill', fingerprint: run.fingerprint, prunedWeights: names });
  pruner.dispose();
  disposeModel(student);
  disposeModel(teacher);
  return {
    metrics: { ...final, sparsity: sparsity.overall, pruned_params: sparsity.params, pruned_nonzeros: sparsity.nonZeros, tokens_per_s: result.tokensPerSecond, ...memoryMetrics(result.memory) },
    details: { perTensorSparsity: sparsity.perTensor, prunedWeights: names, curve: curve(result), evaluations: result.evaluations, schedule: scheduleFor(s.pruning, s.train.steps) },
  };
}
