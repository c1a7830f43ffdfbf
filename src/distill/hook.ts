/**
 * Distillation as a training hook: the frozen teacher runs forward only (before the gradient tape),
 * and the student's loss becomes
 *   alphaTask * task + alphaKd * T^2 KL(teacher/T || student/T) [+ hiddenWeight * MSE(hidden)].
 * Works on MLM logits (pre-training) and classification logits (transfer) alike, because both
 * objectives return logits over the same rows for teacher and student.
 */
import * as tf from '@tensorflow/tfjs-core';
import { modelFromSnapshot, type BertModel } from '../model/bert.js';
import type { BertConfig } from '../model/config.js';
import { Rng } from '../util/rng.js';
import { makeVariable } from '../util/tensors.js';
import { registerWorkerHook, type TrainHook } from '../train/hooks.js';
import type { Batch } from '../train/tasks.js';
import { hiddenMse, kdLoss } from './kd.js';

export interface DistillSettings {
  temperature: number;
  alphaTask: number;
  alphaKd: number;
  /** Weight of hidden-state MSE (0 = off). */
  hiddenWeight: number;
}

/**
 * The frozen teacher's logits for every example of the training split, row-major [examples,
 * labels], computed once (the finetune-teacher stage stores them): a batch whose rows name their
 * examples (ClsBatch.rows) takes its targets from here instead of running the teacher. The teacher's
 * eval-mode logits of a row do not depend on the batch or padding it is computed in (the stored
 * table and the per-batch forward agree to the bit), so the loss is the same.
 */
export interface TeacherTargets {
  examples: number;
  labels: number;
  logits: Float32Array;
}

export const DISTILL_DEFAULTS: DistillSettings = { temperature: 2, alphaTask: 0.5, alphaKd: 0.5, hiddenWeight: 0 };

/** Student layer i (1-based) learns from teacher layer round(i * Lt / Ls); 0 maps to the embeddings. */
function layerMap(studentLayers: number, teacherLayers: number): number[] {
  return Array.from({ length: studentLayers + 1 }, (_, i) => Math.round((i * teacherLayers) / studentLayers));
}

/** The batch's rows of the stored targets, when the batch names its rows and the table covers them. */
function storedTargets(targets: TeacherTargets | undefined, batch: Batch): Float32Array | null {
  const rows = (batch as { rows?: Int32Array }).rows;
  if (!targets || !rows || rows.length !== batch.batchSize) return null;
  const { labels, logits } = targets;
  const out = new Float32Array(rows.length * labels);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (!(r >= 0 && r < targets.examples)) return null;
    out.set(logits.subarray(r * labels, (r + 1) * labels), i * labels);
  }
  return out;
}

export function distillationHook<B extends Batch>(
  teacher: BertModel,
  settings: Partial<DistillSettings> = {},
  seed = 0,
  targets?: TeacherTargets,
): TrainHook<B> {
  const s = { ...DISTILL_DEFAULTS, ...settings };
  // Hidden-state distillation needs the teacher's hidden states: it always runs the teacher.
  const table = s.hiddenWeight > 0 || !targets || targets.labels !== teacher.config.numLabels ? undefined : targets;
  let teacherLogits: tf.Tensor2D | null = null;
  let teacherHidden: tf.Tensor3D[] = [];
  const projections = new Map<string, tf.Variable>();
  const hs = (student: BertModel) => student.config.hiddenSize;
  const ht = teacher.config.hiddenSize;
  const release = () => {
    if (teacherLogits) teacherLogits.dispose();
    tf.dispose(teacherHidden);
    teacherLogits = null;
    teacherHidden = [];
  };

  const projection = (studentWidth: number): tf.Variable | null => {
    if (s.hiddenWeight <= 0 || studentWidth === ht) return null;
    let p = projections.get('projection');
    if (!p) {
      const rng = new Rng(seed);
      const data = Float32Array.from({ length: studentWidth * ht }, () => rng.normal() * 0.02);
      p = makeVariable(tf.tensor2d(data, [studentWidth, ht]), true, 'distill/projection');
      projections.set('projection', p);
    }
    return p;
  };

  return {
    name: 'distill',
    init(ctx) {
      projection(hs(ctx.model));
    },
    prepare(ctx, batch) {
      release();
      const stored = storedTargets(table, batch);
      if (stored) {
        teacherLogits = tf.tensor2d(stored, [batch.batchSize, table!.labels]);
        return;
      }
      const out = tf.tidy(() => {
        const r = ctx.objective.logits(teacher, batch, { training: false });
        return { logits: r.logits, hidden: s.hiddenWeight > 0 ? r.hidden : [] };
      });
      teacherLogits = out.logits;
      teacherHidden = out.hidden;
    },
    loss(ctx, _batch, out, total, metrics) {
      if (!teacherLogits) throw new Error('distillation: teacher logits missing (prepare was not called)');
      const kd = kdLoss(out.logits, teacherLogits, s.temperature);
      metrics.set('kd_loss', tf.keep(tf.clone(kd)));
      let loss = tf.add(tf.mul(total, s.alphaTask), tf.mul(kd, s.alphaKd)) as tf.Scalar;
      if (s.hiddenWeight > 0) {
        const map = layerMap(ctx.model.config.numLayers, teacher.config.numLayers);
        const p = projection(hs(ctx.model));
        const terms = map.map((t, i) => {
          const h = out.hidden[i];
          const [b, n, w] = h.shape;
          const projected = p ? tf.reshape(tf.matMul(tf.reshape(h, [b * n, w]), p), [b, n, ht]) : h;
          return hiddenMse(projected, teacherHidden[t]);
        });
        const hidden = tf.div(tf.addN(terms), terms.length) as tf.Scalar;
        metrics.set('hidden_loss', tf.keep(tf.clone(hidden)));
        loss = tf.add(loss, tf.mul(hidden, s.hiddenWeight)) as tf.Scalar;
      }
      return loss;
    },
    variables: () => projections,
    release,
    workerRecipe() {
      // Hidden-state distillation owns a trainable projection, which cannot live in a worker.
      if (s.hiddenWeight > 0) return null;
      const teacherWeights: Array<[string, number[], Float32Array]> = [...teacher.params].map(([n, v]) => [
        n,
        [...v.shape],
        (v.dataSync() as Float32Array).slice(),
      ]);
      const data: DistillRecipe = { teacherConfig: teacher.config, teacherWeights, settings: { ...s }, seed, ...(table ? { targets: table } : {}) };
      return { kind: DISTILL_RECIPE, module: import.meta.url, data };
    },
    afterStep() {
      release();
    },
    saveState() {
      const tensors = new Map([...projections].map(([k, v]) => [k, { shape: [...v.shape], data: v.dataSync() as Float32Array }]));
      return { tensors, json: {} };
    },
    loadState(state) {
      for (const [k, w] of state.tensors) {
        projections.get(k)?.dispose();
        projections.set(k, makeVariable(tf.tensor(w.data, w.shape), true, `distill/${k}`));
      }
    },
    finalize() {
      release();
    },
  };
}

/** The worker recipe of the distillation hook: the frozen teacher as plain data. */
interface DistillRecipe {
  teacherConfig: BertConfig;
  teacherWeights: Array<[string, number[], Float32Array]>;
  settings: DistillSettings;
  seed: number;
  targets?: TeacherTargets;
}

const DISTILL_RECIPE = 'distill';

registerWorkerHook(DISTILL_RECIPE, (raw) => {
  const r = raw as DistillRecipe;
  const teacher = modelFromSnapshot({ config: r.teacherConfig, weights: new Map(r.teacherWeights.map(([n, shape, data]) => [n, { shape, data }])) });
  return distillationHook(teacher, r.settings, r.seed, r.targets);
});
