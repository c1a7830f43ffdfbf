/**
 * Quantization-aware training as a hook. During training each quantized Linear layer sees
 *  - its input fake-quantized to uint8 with a moving-average min/max observer (Q8BERT / Prune OFA),
 *  - its kernel fake-quantized to int8 with per-output-channel (or per-tensor) symmetric scales taken
 *    from the current weights,
 * with straight-through gradients. Embedding tables can be fake-quantized per row too, with their
 * own spec (e.g. 4 bits: integers in [-7, 7]). At the end,
 * `quantization()` freezes the observers into the parameters the exporter writes, computed by the
 * same functions the exporter uses.
 */
import * as tf from '@tensorflow/tfjs-core';
import { denseLinear, type ForwardOptions, type LinearFn } from '../model/bert.js';
import { EMBEDDING_TABLES } from '../model/weights.js';
import type { TrainHook } from '../train/hooks.js';
import { isRecomputing } from '../model/recompute.js';
import type { Batch } from '../train/tasks.js';
import { quantizedForward } from './linear.js';
import { fakeQuantizeWith, INT8_WEIGHTS, paramsFromRange, paramTensorsFromRange, UINT8_ACTIVATIONS, weightParams, weightParamTensors } from './quantize.js';
import type { ModelQuantization, QuantizerSpec } from './types.js';
import type { BertModel } from '../model/bert.js';
import { makeVariable } from '../util/tensors.js';

export interface QatSettings {
  weightSpec: QuantizerSpec;
  activationSpec: QuantizerSpec;
  /** Moving-average momentum of the activation observers (weight of the old value). */
  observerMomentum: number;
  /** Also quantize the word / position / token-type embedding tables (per row), with `embeddingSpec`. */
  quantizeEmbeddings: boolean;
  /** The tables' quantizer (e.g. INT4_EMBEDDINGS); absent = weightSpec. */
  embeddingSpec?: QuantizerSpec;
}

export const QAT_DEFAULTS: QatSettings = {
  weightSpec: INT8_WEIGHTS,
  activationSpec: UINT8_ACTIVATIONS,
  observerMomentum: 0.9,
  quantizeEmbeddings: false,
};

interface Observer {
  min: tf.Variable;
  max: tf.Variable;
  seen: boolean;
}

export class QatHook<B extends Batch> implements TrainHook<B> {
  readonly name = 'qat';
  readonly settings: QatSettings;
  private observers = new Map<string, Observer>();

  constructor(
    private readonly model: BertModel,
    /** The kernels whose Linear layers are quantized (the encoder's Linear kernels). */
    readonly kernels: string[],
    settings: Partial<QatSettings> = {},
  ) {
    this.settings = { ...QAT_DEFAULTS, ...settings };
    for (const k of kernels) {
      if (!model.params.has(k)) throw new Error(`qat: the model has no weight named '${k}'`);
      this.observers.set(k, { min: makeVariable(tf.scalar(0), false), max: makeVariable(tf.scalar(0), false), seen: false });
    }
  }

  /** Records input ranges without quantizing (calibration before training, and in training). */
  private observe(name: string, x: tf.Tensor): void {
    const o = this.observers.get(name)!;
    const m = o.seen ? this.settings.observerMomentum : 0;
    tf.tidy(() => {
      o.min.assign(tf.add(tf.mul(o.min, m), tf.mul(tf.min(x), 1 - m)));
      o.max.assign(tf.add(tf.mul(o.max, m), tf.mul(tf.max(x), 1 - m)));
    });
    o.seen = true;
  }

  /** Runs a forward in eval mode over calibration batches to initialise the observers. */
  calibrate(forward: (opts: Partial<ForwardOptions>) => void): void {
    const linear: LinearFn = (name, x, kernel, bias) => {
      if (this.observers.has(name)) this.observe(name, x);
      return denseLinear(name, x, kernel, bias);
    };
    forward({ linear });
  }

  private trainingLinear: LinearFn = (name, x, kernel, bias) => {
    if (!this.observers.has(name)) return denseLinear(name, x, kernel, bias);
    // A recomputed layer (train.recompute) sees the same input again: observe it once.
    if (!isRecomputing()) this.observe(name, x);
    const o = this.observers.get(name)!;
    const a = this.settings.activationSpec;
    // The exporter's formulas (paramsFromRange) as tensors: no read-back inside the step.
    const xp = paramTensorsFromRange(o.min, o.max, a);
    const xq = fakeQuantizeWith(x, xp.scale, xp.zeroPoint, a);
    const wq = this.fakeQuantWeight(kernel, 1);
    return tf.add(tf.matMul(xq as tf.Tensor2D, wq as tf.Tensor2D), bias) as tf.Tensor2D;
  };

  /** The tables' quantizer: embeddingSpec, else weightSpec. */
  private get tableSpec(): QuantizerSpec {
    return this.settings.embeddingSpec ?? this.settings.weightSpec;
  }

  /** Symmetric fake quantization of a 2-D weight with scales along `axis` (1: columns, 0: rows). */
  private fakeQuantWeight(w: tf.Tensor, axis: 0 | 1, spec: QuantizerSpec = this.settings.weightSpec): tf.Tensor {
    const p = weightParamTensors(w, spec, axis);
    return fakeQuantizeWith(w, p.scale, p.zeroPoint, spec);
  }

  forwardOptions(_ctx: unknown, training: boolean): Partial<ForwardOptions> {
    if (!training) return quantizedForward(this.quantization());
    const embedding = this.settings.quantizeEmbeddings
      ? (name: string, table: tf.Tensor2D) => (EMBEDDING_TABLES.includes(name) ? (this.fakeQuantWeight(table, 0, this.tableSpec) as tf.Tensor2D) : table)
      : undefined;
    return { linear: this.trainingLinear, ...(embedding ? { embedding } : {}) };
  }

  /** The frozen quantization parameters, from the current weights and observers. */
  quantization(): ModelQuantization {
    const q: ModelQuantization = {
      weightSpec: this.settings.weightSpec,
      activationSpec: this.settings.activationSpec,
      ...(this.settings.quantizeEmbeddings || this.settings.embeddingSpec ? { embeddingSpec: this.tableSpec } : {}),
      weights: {},
      inputs: {},
      embeddings: {},
      bias: 'float32',
    };
    for (const [name, o] of this.observers) {
      if (!o.seen) throw new Error(`qat: no activation range observed for '${name}' (calibrate before training)`);
      const w = this.model.params.get(name)!;
      q.weights[name] = weightParams(w.dataSync() as Float32Array, [...w.shape], this.settings.weightSpec, 1);
      q.inputs[name] = paramsFromRange(o.min.dataSync(), o.max.dataSync(), this.settings.activationSpec, -1);
    }
    if (this.settings.quantizeEmbeddings) {
      for (const name of EMBEDDING_TABLES) {
        const t = this.model.params.get(name);
        if (t) q.embeddings[name] = weightParams(t.dataSync() as Float32Array, [...t.shape], this.tableSpec, 0);
      }
    }
    return q;
  }

  saveState() {
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, o] of this.observers) {
      tensors.set(`${name}/min`, { shape: [], data: o.min.dataSync() as Float32Array });
      tensors.set(`${name}/max`, { shape: [], data: o.max.dataSync() as Float32Array });
    }
    return { tensors, json: { seen: [...this.observers].filter(([, o]) => o.seen).map(([k]) => k) } };
  }

  loadState(state: { tensors: Map<string, { shape: number[]; data: Float32Array }>; json: unknown }): void {
    const seen = new Set((state.json as { seen?: string[] })?.seen ?? []);
    for (const [name, o] of this.observers) {
      const lo = state.tensors.get(`${name}/min`);
      const hi = state.tensors.get(`${name}/max`);
      if (lo && hi) {
        tf.tidy(() => o.min.assign(tf.scalar(lo.data[0])));
        tf.tidy(() => o.max.assign(tf.scalar(hi.data[0])));
        o.seen = seen.has(name);
      }
    }
  }

  dispose(): void {
    for (const o of this.observers.values()) tf.dispose([o.min, o.max]);
    this.observers.clear();
  }
}
