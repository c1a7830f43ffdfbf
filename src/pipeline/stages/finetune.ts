/**
 * Stages on the downstream task:
 *  - `finetune-teacher`: the dense teacher fine-tuned on the task (the distillation source), or a
 *    fine-tuned classifier taken as is;
 *  - `transfer`: the sparse student fine-tuned with its sparsity pattern locked and KD from the
 *    fine-tuned teacher (Prune OFA's transfer-learning stage), or, with `transfer.pruning`, a copy of
 *    the fine-tuned teacher pruned gradually while it fine-tunes (the paper's downstream baseline).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { StageState, TaskInfo } from '../../checkpoint/state.js';
import { taskBaselines } from '../../baselines/index.js';
import { clsBatches } from '../../data/index.js';
import { classifierRowsForTask } from '../../data/labels.js';
import type { EncodedExamples } from '../../data/types.js';
import { CLS } from '../../model/weights.js';
import { distillationHook } from '../../distill/hook.js';
import { addClassificationHead, disposeModel, type BertModel, type ForwardOptions } from '../../model/bert.js';
import { PatternLockHook } from '../../prune/pattern-lock.js';
import { PrunerHook } from '../../prune/pruner.js';
import { prunerSettings, pruningInclude, pruningSchedule, PruningSchema } from '../../prune/config.js';
import { selectWeights } from '../../prune/select.js';
import type { TrainHook } from '../../train/hooks.js';
import { classificationObjective, type Batch } from '../../train/tasks.js';
import type { RunContext } from '../context.js';
import { predictTask, predictTaskOn } from '../evaluate.js';
import type { RemoteForward } from '../../train/parallel.js';
import { inStage } from '../../run/layout.js';
import { checkEarlyStopping, DistillSchema, noEarlyStopping, TrainSchema, type TrainSettings } from '../schema.js';
import { loadModel, saveModel, storedTeacherTargets, TRAIN_LOGITS } from '../stage-io.js';
import type { WeightData } from '../../model/snapshot.js';
import { curve, trainStage } from './train.js';
import { defineStage, type StageOutput, type StageRun } from './types.js';
import { memoryMetrics } from '../../train/memory-watch.js';

/**
 * What a task checkpoint carries for using the model outside this run (`prune-once export` of the
 * checkpoint alone writes it into the ONNX metadata): labels, tokenizer settings, sequence length.
 */
export function taskState(ctx: RunContext): TaskInfo {
  return { labels: ctx.task().data.labels, tokenizer: ctx.tokenizer().describe(), maxSequenceLength: ctx.pipeline.task.seqLen };
}

export function withTaskHead(ctx: RunContext, model: BertModel, seed: number): void {
  const labels = ctx.task().data.labels;
  if (model.config.numLabels !== labels.length) addClassificationHead(model, labels.length, seed);
}

interface FinetuneArgs {
  run: StageRun<FinetuneTeacherSettings> | StageRun<TransferSettings>;
  /** The stage (its checkpoint's writer), and what its checkpoint records besides the task info. */
  saves: Pick<StageState<'finetune-teacher'>, 'stage'> | Pick<StageState<'transfer'>, 'stage' | 'prunedWeights'>;
  model: BertModel;
  train: TrainSettings;
  hooks: TrainHook<Batch>[];
  /** Store the final model's logits for every training example with the checkpoint (TRAIN_LOGITS): finetune-teacher's distillation targets. */
  storeTrainLogits?: boolean;
}

/**
 * A split's predictions through the loop's evaluation helpers: shared with the training workers when
 * the loop offers them (the plain forward), else on this thread; the same figures either way.
 */
async function predictSplit(ctx: RunContext, data: EncodedExamples, m: BertModel, fwd: Partial<ForwardOptions>, remote: RemoteForward[]) {
  const bs = ctx.pipeline.task.evalBatchSize;
  return remote.length ? await predictTaskOn(m, data, bs, remote) : predictTask(m, data, bs, fwd);
}

/**
 * Dev accuracy and loss of a classifier (optionally through quantized forward options; on the
 * training workers when the loop offers them). The test split is predicted once, by export, in ONNX
 * Runtime: the files users ship, with the same weights.
 */
export async function devAccuracy(
  ctx: RunContext,
  model: BertModel,
  forward: Partial<ForwardOptions> = {},
  remote: RemoteForward[] = [],
): Promise<Record<string, number>> {
  const dev = (await predictSplit(ctx, ctx.task().dev, model, forward, remote)).metrics;
  return { dev_accuracy: dev.accuracy, dev_loss: dev.loss };
}

export async function finetune(a: FinetuneArgs): Promise<StageOutput> {
  const { run } = a;
  const { ctx } = run;
  const task = ctx.task();
  const evaluate = (m: BertModel, fwd: Partial<ForwardOptions>, remote: RemoteForward[]) => devAccuracy(ctx, m, fwd, remote);
  // No test pass here: export predicts the test split in ONNX Runtime from these same weights. For
  // the teacher, its logits on every training example, while the workers are still up: the targets
  // transfer and qat distil from (one pass instead of a teacher forward in every step of both).
  const tensors = new Map<string, WeightData>();
  const finish = a.storeTrainLogits
    ? async (m: BertModel, fwd: Partial<ForwardOptions>, remote: RemoteForward[]) => {
        const { logits } = await predictSplit(ctx, task.train, m, fwd, remote);
        tensors.set(TRAIN_LOGITS, { shape: [task.train.examples.length, m.config.numLabels], data: logits });
        return {};
      }
    : undefined;
  const result = await trainStage({
    ctx,
    dir: run.dir,
    fingerprint: run.fingerprint,
    label: a.saves.stage,
    seed: run.seed,
    model: a.model,
    objective: classificationObjective,
    data: clsBatches(task.train, { batchSize: a.train.batchSize, seed: run.seed, padding: 'longest' }),
    train: a.train,
    hooks: a.hooks,
    evaluate,
    finish,
  });
  const dev = result.evaluations.at(-1)!.metrics;
  const metrics: Record<string, number> = {
    dev_accuracy: dev.dev_accuracy,
    dev_loss: dev.dev_loss,
    tokens_per_s: result.tokensPerSecond,
    ...memoryMetrics(result.memory),
    // With early stopping: where training stopped, and whose weights the stage keeps (dev's best).
    ...(result.stoppedAt !== undefined ? { stopped_step: result.stoppedAt, restored_step: result.restoredStep! } : {}),
  };
  saveModel(run.dir, a.model, { ...a.saves, fingerprint: run.fingerprint, ...taskState(ctx) }, tensors);
  return { metrics, details: { curve: curve(result), evaluations: result.evaluations, task: task.data.description, labels: task.data.labels } };
}

export const FinetuneTeacherSettings = z
  .strictObject({
    /**
     * Absent: the teacher must be a fine-tuned classifier of the task's labels (teacher.from a Hugging
     * Face sequence classifier), taken as is: evaluated, not trained.
     */
    train: TrainSchema.optional(),
  })
  .superRefine(checkEarlyStopping);
export type FinetuneTeacherSettings = z.infer<typeof FinetuneTeacherSettings>;

export async function runFinetuneTeacher(run: StageRun<FinetuneTeacherSettings>): Promise<StageOutput> {
  const { model, checkpoint } = loadModel(run, 'teacher', 'finetune-teacher needs the teacher');
  const train = run.settings.train;
  let out: StageOutput;
  if (train) {
    withTaskHead(run.ctx, model, run.seed);
    out = await finetune({ run, saves: { stage: 'finetune-teacher' }, model, train, hooks: [], storeTrainLogits: true });
    out.details.teacher = 'fine-tuned';
  } else {
    out = await takeAsIs(run, model, checkpoint.state.labels);
  }
  disposeModel(model);
  // What the model must beat, on the same splits and WordPiece ids (issue 15): recorded beside the
  // dense teacher so the report's task row carries both baselines.
  const t = run.ctx.task();
  const { special, vocabSize } = run.ctx.tokenizer();
  const b = taskBaselines(t, { numLabels: t.data.labels.length, vocabSize, ignoreIds: [special.cls, special.sep, special.pad] });
  Object.assign(out.metrics, {
    baseline_majority_dev_accuracy: b.majority_dev_accuracy,
    baseline_majority_test_accuracy: b.majority_test_accuracy,
    baseline_naive_bayes_dev_accuracy: b.naive_bayes_dev_accuracy,
    baseline_naive_bayes_test_accuracy: b.naive_bayes_test_accuracy,
  });
  out.details.baselines = {
    majorityLabel: t.data.labels[b.majority_label],
    naiveBayes: 'multinomial naive Bayes over WordPiece ids, add-one smoothing, fitted on train',
  };
  return out;
}

/**
 * A fine-tuned classifier as the teacher, as it is: its head's rows put in the task's label order
 * (the same label names are required), evaluated on dev, saved; nothing is trained.
 */
async function takeAsIs(run: StageRun<FinetuneTeacherSettings>, model: BertModel, labels: string[] | undefined): Promise<StageOutput> {
  const { ctx } = run;
  const from = ctx.pipeline.stages.teacher?.from;
  if (!labels) {
    throw new Error(
      `stages.finetune-teacher.train is missing, but the teacher (${from ? `teacher.from ${from}` : 'the teacher stage'}) is not a fine-tuned classifier with labels to take as is; ` +
        'give finetune-teacher a train section, or make teacher.from a Hugging Face sequence classifier directory (BertForSequenceClassification with id2label)',
    );
  }
  const task = ctx.task();
  const rows = classifierRowsForTask(labels, task.data.labels, `teacher.from ${from ?? '(the teacher)'}`);
  tf.tidy(() => {
    for (const name of [CLS.classifierKernel, CLS.classifierBias]) {
      const v = model.params.get(name)!;
      v.assign(tf.gather(v, rows, name === CLS.classifierKernel ? 1 : 0));
    }
  });
  const metrics = await devAccuracy(ctx, model);
  saveModel(run.dir, model, { stage: 'finetune-teacher', fingerprint: run.fingerprint, ...taskState(ctx), takenAsIs: true });
  ctx.log(`finetune-teacher: the classifier is taken as is (labels ${labels.join(', ')}; dev accuracy ${metrics.dev_accuracy.toFixed(4)})`);
  return { metrics, details: { teacher: 'taken as is', classifierLabels: labels, task: task.data.description, labels: task.data.labels } };
}

export const TransferSettings = z
  .strictObject({
    distill: DistillSchema.prefault({}),
    /**
     * Prune during task training instead of upstream (prune-distill's schema and schedules): the
     * student starts as a copy of the dense fine-tuned teacher and gradual magnitude pruning takes it
     * to the target while it fine-tunes with distillation. The pipeline then has no prune-distill.
     */
    pruning: PruningSchema.optional(),
    train: TrainSchema,
  })
  .superRefine(checkEarlyStopping)
  .superRefine((s, ctx) => {
    if (s.pruning) noEarlyStopping('transfer.pruning changes the weights on a schedule, so no earlier step is a model to keep')(s, ctx);
  });
export type TransferSettings = z.infer<typeof TransferSettings>;

export async function runTransfer(run: StageRun<TransferSettings>): Promise<StageOutput> {
  return run.settings.pruning ? runPruneDuringTransfer(run, run.settings.pruning) : runLockedTransfer(run);
}

/** Distillation from the fine-tuned teacher, when enabled: the hook and the teacher to dispose. */
function teacherHook(run: StageRun<TransferSettings>): { hooks: TrainHook<Batch>[]; teacher: BertModel | null } {
  if (!run.settings.distill.enabled) return { hooks: [], teacher: null };
  const { model: teacher, checkpoint } = loadModel(run, 'finetune-teacher', 'transfer with distillation needs the fine-tuned teacher');
  const targets = storedTeacherTargets(checkpoint, run.ctx.task().train.examples.length, teacher.config.numLabels);
  return { hooks: [distillationHook(teacher, run.settings.distill, run.seed, targets)], teacher };
}

/** The student's measured sparsity in a transfer result, whichever path pruned it. */
function recordSparsity(out: StageOutput, sp: ReturnType<PatternLockHook<Batch>['sparsity']>): void {
  out.metrics.sparsity = sp.overall;
  out.metrics.pruned_params = sp.params;
  out.metrics.pruned_nonzeros = sp.nonZeros;
  out.details.perTensorSparsity = sp.perTensor;
}

/** Prune once upstream, transfer: the sparse student of prune-distill, its zeros locked. */
async function runLockedTransfer(run: StageRun<TransferSettings>): Promise<StageOutput> {
  const { ctx, settings: s } = run;
  const { model: student, checkpoint } = loadModel(run, 'prune-distill', 'transfer needs the sparse student from prune-distill');
  const pruned = checkpoint.state.prunedWeights;
  withTaskHead(ctx, student, run.seed);
  const lock = new PatternLockHook<Batch>(student, pruned);
  const { hooks, teacher } = teacherHook(run);
  hooks.push(lock);
  const out = await finetune({ run, saves: { stage: 'transfer', prunedWeights: pruned }, model: student, train: s.train, hooks });
  recordSparsity(out, lock.sparsity());
  out.details.pruning = 'upstream';
  lock.dispose();
  disposeModel(student);
  if (teacher) disposeModel(teacher);
  return out;
}

/**
 * Prune downstream: a copy of the dense fine-tuned teacher, pruned by the same PrunerHook and
 * schedules as prune-distill while it fine-tunes on the task; its pruned weights are recorded so
 * qat locks the pattern as after an upstream transfer.
 */
async function runPruneDuringTransfer(run: StageRun<TransferSettings>, pruning: NonNullable<TransferSettings['pruning']>): Promise<StageOutput> {
  const { ctx, settings: s } = run;
  // A fresh load of the teacher's file: the student, separate from the distillation teacher.
  const { model: student } = loadModel(run, 'finetune-teacher', 'transfer.pruning starts from the fine-tuned teacher');
  withTaskHead(ctx, student, run.seed);
  const names = selectWeights(student.params.keys(), pruningInclude(pruning), pruning.exclude);
  if (names.length === 0) throw new Error('stages.transfer.pruning.include selects no weights of the student; see the weight names in `prune-once inspect`');
  const pruner = new PrunerHook<Batch>(student, names, prunerSettings(pruning, s.train.steps));
  const { hooks, teacher } = teacherHook(run);
  hooks.push(pruner);
  const out = await finetune({ run, saves: { stage: 'transfer', prunedWeights: names }, model: student, train: s.train, hooks });
  recordSparsity(out, pruner.sparsity());
  out.details.pruning = 'downstream';
  out.details.schedule = pruningSchedule(pruning, s.train.steps);
  pruner.dispose();
  disposeModel(student);
  if (teacher) disposeModel(teacher);
  return out;
}

export const finetuneTeacherStage = defineStage({
  name: 'finetune-teacher',
  describe: 'the dense teacher fine-tuned on the task (the distillation source for transfer and qat)',
  schema: FinetuneTeacherSettings,
  inputs: ['teacher'],
  data: 'task',
  outputs: () => [inStage('finetune-teacher', 'model')],
  run: runFinetuneTeacher,
});

export const transferStage = defineStage({
  name: 'transfer',
  describe: 'the sparse student fine-tuned on the task, pattern locked, with distillation from the fine-tuned teacher',
  schema: TransferSettings,
  inputs: ['prune-distill', 'finetune-teacher'],
  // Pruning during task training starts from the dense fine-tuned teacher.
  optionalInputs: (s) => (s.pruning ? ['prune-distill'] : []),
  data: 'task',
  outputs: () => [inStage('transfer', 'model')],
  run: runTransfer,
});
