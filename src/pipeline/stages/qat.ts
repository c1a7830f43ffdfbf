/**
 * Stage `qat`: quantization-aware training of the sparse fine-tuned student to 8 bits (embedding
 * tables 8 or 4 bits, `quantization.embeddingBits`), with the
 * sparsity pattern still locked and distillation from the fine-tuned teacher. The activation
 * observers are first calibrated on a few training batches, then follow a moving average.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { clsBatches } from '../../data/index.js';
import { distillationHook } from '../../distill/hook.js';
import { disposeModel, type BertModel } from '../../model/bert.js';
import { PatternLockHook } from '../../prune/pattern-lock.js';
import { selectWeights } from '../../prune/select.js';
import { QatHook, type QatSettings as QatHookSettings } from '../../quant/qat.js';
import { INT4_EMBEDDINGS } from '../../quant/quantize.js';
import { describeQuantization } from '../../quant/scheme.js';
import { quantizationToJson } from '../../quant/serialize.js';
import type { TrainHook } from '../../train/hooks.js';
import { classificationObjective, type Batch } from '../../train/tasks.js';
import { inStage } from '../../run/layout.js';
import { DistillSchema, noEarlyStopping, QuantizationSchema, TrainSchema, type QuantizationConfig } from '../schema.js';
import { loadModel, saveModel, storedTeacherTargets } from '../stage-io.js';
import { readResult } from '../../run/result.js';
import { predictTask } from '../evaluate.js';
import { devAccuracy, taskState } from './finetune.js';
import { curve, trainStage } from './train.js';
import { defineStage, type StageOutput, type StageRun } from './types.js';
import { memoryMetrics } from '../../train/memory-watch.js';

export const QatSettings = z
  .strictObject({
    quantization: QuantizationSchema.prefault({}),
    distill: DistillSchema.prefault({}),
    train: TrainSchema,
  })
  .superRefine(noEarlyStopping("the quantization observers follow the weights, so an earlier step's weights do not match them"));
export type QatSettings = z.infer<typeof QatSettings>;

/**
 * The hook's settings from the stage's `quantization` block. 8-bit tables use the kernels' spec,
 * as before embeddingBits existed; 4-bit tables are per row, symmetric, narrow: [-7, 7].
 */
export function qatHookSettings(q: QuantizationConfig): Partial<QatHookSettings> {
  return {
    weightSpec: { bits: 8, symmetric: true, perChannel: q.perChannel, narrowRange: q.narrowRange },
    observerMomentum: q.observerMomentum,
    quantizeEmbeddings: q.embeddings,
    ...(q.embeddingBits === 4 ? { embeddingSpec: INT4_EMBEDDINGS } : {}),
  };
}

export async function runQat(run: StageRun<QatSettings>): Promise<StageOutput> {
  const { ctx, settings: s } = run;
  const { model: student, checkpoint } = loadModel(run, 'transfer', 'qat needs the fine-tuned sparse student from transfer');
  const pruned = checkpoint.state.prunedWeights;
  const task = ctx.task();
  const q = s.quantization;
  const qat = new QatHook<Batch>(student, selectWeights(student.params.keys()), qatHookSettings(q));
  // The float accuracy before QAT is the transfer stage's (same weights): read, not recomputed.
  const before = readResult(run.dirOf('transfer'))?.metrics;
  const floatDevAccuracy = before && Number.isFinite(before.dev_accuracy) ? before.dev_accuracy : (await devAccuracy(ctx, student)).dev_accuracy;

  // Calibration: initial activation ranges from a few training batches (eval mode, no updates).
  const calib = clsBatches(task.train, { batchSize: s.train.batchSize, seed: run.seed + 1, padding: 'longest' });
  for (let i = 0; i < q.calibrationBatches; i++) {
    const batch = calib.next();
    qat.calibrate((opts) => tf.tidy(() => void classificationObjective.logits(student, batch, { ...opts, training: false })));
  }

  const lock = new PatternLockHook<Batch>(student, pruned);
  const hooks: TrainHook<Batch>[] = [lock, qat];
  let teacher: BertModel | null = null;
  if (s.distill.enabled) {
    const loaded = loadModel(run, 'finetune-teacher', 'qat with distillation needs the fine-tuned teacher');
    teacher = loaded.model;
    const targets = storedTeacherTargets(loaded.checkpoint, task.train.examples.length, teacher.config.numLabels);
    hooks.unshift(distillationHook(teacher, s.distill, run.seed, targets));
  }
  const result = await trainStage({
    ctx,
    dir: run.dir,
    fingerprint: run.fingerprint,
    label: 'qat',
    seed: run.seed,
    model: student,
    objective: classificationObjective,
    data: clsBatches(task.train, { batchSize: s.train.batchSize, seed: run.seed, padding: 'longest' }),
    train: s.train,
    hooks,
    evaluate: (m, fwd) => {
      const dev = predictTask(m, task.dev, ctx.pipeline.task.evalBatchSize, fwd).metrics;
      return { dev_accuracy: dev.accuracy, dev_loss: dev.loss };
    },
  });
  const quantization = qat.quantization();
  // The loop's last evaluation ran dev through the hook's eval forward, quantizedForward(quantization()):
  // the int8 model's dev figures. Its test figures are export's, in ONNX Runtime on the int8 file.
  const last = result.evaluations.at(-1)!.metrics;
  const sp = lock.sparsity();
  saveModel(run.dir, student, {
    stage: 'qat',
    fingerprint: run.fingerprint,
    ...taskState(ctx),
    prunedWeights: pruned,
    quantization: quantizationToJson(quantization),
  });
  lock.dispose();
  qat.dispose();
  disposeModel(student);
  if (teacher) disposeModel(teacher);
  return {
    metrics: {
      dev_accuracy: last.dev_accuracy,
      dev_loss: last.dev_loss,
      float_dev_accuracy_before: floatDevAccuracy,
      sparsity: sp.overall,
      tokens_per_s: result.tokensPerSecond,
      ...memoryMetrics(result.memory),
    },
    details: {
      curve: curve(result),
      evaluations: result.evaluations,
      scheme: describeQuantization(quantization, 'moving-average min/max observers'),
    },
  };
}

export const qatStage = defineStage({
  name: 'qat',
  describe: 'the sparse student quantized to int8 by quantization-aware training, pattern locked, with distillation',
  schema: QatSettings,
  inputs: ['transfer', 'finetune-teacher'],
  data: 'task',
  outputs: () => [inStage('qat', 'model')],
  run: runQat,
});
