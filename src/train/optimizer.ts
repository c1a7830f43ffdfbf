/**
 * AdamW (decoupled weight decay, Loshchilov & Hutter), as BERT is trained: no decay on biases,
 * LayerNorm parameters or the MLM output bias. Written over tf.Variables so its moments can be
 * checkpointed by name and so pruning can zero the moments of pruned weights (see ../prune).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WeightData } from '../model/snapshot.js';
import { makeVariable } from '../util/tensors.js';
import { HostMoments } from './host-adam.js';

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /**
   * Keep the moments in JavaScript memory (host-adam.ts), not in the backend's: same results, and
   * the wasm heap is spared twice the weights' size. Default: on wasm only.
   */
  hostState?: boolean;
}

export const ADAMW_DEFAULTS: AdamWSettings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-6, weightDecay: 0.01 };

/** BERT's rule: decay kernels and embeddings; not biases, LayerNorm gammas/betas. */
export function decays(name: string): boolean {
  return !(name.endsWith('/bias') || name.endsWith('/beta') || name.endsWith('/gamma') || name.endsWith('_bias'));
}

export class AdamW {
  readonly settings: AdamWSettings;
  /** Number of updates applied (bias correction uses it). */
  step = 0;
  private m = new Map<string, tf.Variable>();
  private v = new Map<string, tf.Variable>();
  private readonly host: HostMoments | null;
  private readonly shapes = new Map<string, number[]>();

  constructor(settings: Partial<AdamWSettings> = {}) {
    this.settings = { ...ADAMW_DEFAULTS, ...settings };
    this.host = (this.settings.hostState ?? tf.getBackend() === 'wasm') ? new HostMoments() : null;
  }

  /** True when the moments live in JavaScript memory (then `apply` also takes a gradient scale). */
  get hostState(): boolean {
    return this.host !== null;
  }

  /**
   * Applies one update with learning rate `lr` to each named variable from its gradient, the
   * gradient first multiplied by `gradScale` (clipping's factor, as a float32 value) when given.
   */
  apply(vars: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number, gradScale = 1): void {
    const { beta1, beta2, epsilon, weightDecay } = this.settings;
    this.step += 1;
    const c1 = 1 - beta1 ** this.step;
    const c2 = 1 - beta2 ** this.step;
    for (const [name, gradient] of grads) {
      const w = vars.get(name);
      if (!w) throw new Error(`optimizer: gradient for unknown variable '${name}'`);
      if (this.host) {
        this.shapes.set(name, [...w.shape]);
        this.host.update(name, w, gradient, { beta1, beta2, epsilon, weightDecay, c1, c2, lr, gradScale }, decays(name));
        continue;
      }
      const g = gradScale === 1 ? gradient : tf.mul(gradient, gradScale);
      const m = this.slot(this.m, name, w);
      const v = this.slot(this.v, name, w);
      tf.tidy(() => {
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        m.assign(m1);
        v.assign(v1);
        let update = tf.div(tf.div(m1, c1), tf.add(tf.sqrt(tf.div(v1, c2)), epsilon));
        if (weightDecay > 0 && decays(name)) update = tf.add(update, tf.mul(w, weightDecay));
        w.assign(tf.sub(w, tf.mul(update, lr)));
      });
      if (g !== gradient) g.dispose();
    }
  }

  /** Multiplies the moments of `name` by a 0/1 mask so pruned weights carry no momentum. */
  maskMoments(name: string, mask: tf.Tensor): void {
    this.host?.maskMoments(name, mask);
    for (const slots of [this.m, this.v]) {
      const s = slots.get(name);
      if (s) tf.tidy(() => s.assign(tf.mul(s, mask)));
    }
  }

  private slot(slots: Map<string, tf.Variable>, name: string, like: tf.Variable): tf.Variable {
    let s = slots.get(name);
    if (!s) {
      s = makeVariable(tf.zerosLike(like), false);
      slots.set(name, s);
    }
    return s;
  }

  /** Moments as plain data, keyed `optimizer/m/<name>` and `optimizer/v/<name>`. */
  exportState(): { step: number; tensors: Map<string, WeightData> } {
    const tensors = new Map<string, WeightData>();
    if (this.host) return { step: this.step, tensors: this.host.export((name) => this.shapes.get(name)!) };
    for (const [prefix, slots] of [
      ['optimizer/m/', this.m],
      ['optimizer/v/', this.v],
    ] as const) {
      for (const [name, s] of slots) tensors.set(prefix + name, { shape: [...s.shape], data: s.dataSync() as Float32Array });
    }
    return { step: this.step, tensors };
  }

  importState(step: number, tensors: Map<string, WeightData>): void {
    this.dispose();
    this.step = step;
    if (this.host) {
      this.host.import(tensors);
      for (const [key, w] of tensors) if (key.startsWith('optimizer/m/')) this.shapes.set(key.slice('optimizer/m/'.length), [...w.shape]);
      return;
    }
    for (const [key, w] of tensors) {
      const slots = key.startsWith('optimizer/m/') ? this.m : key.startsWith('optimizer/v/') ? this.v : null;
      if (!slots) continue;
      slots.set(key.slice('optimizer/m/'.length), makeVariable(tf.tensor(w.data, w.shape), false));
    }
  }

  dispose(): void {
    for (const s of [...this.m.values(), ...this.v.values()]) s.dispose();
    this.m.clear();
    this.v.clear();
    this.host?.clear();
  }
}

/**
 * The factor clipByGlobalNorm multiplies by, as the float32 value its kernels compute (1 when
 * `maxNorm` is 0), and the norm: for an optimizer that scales the gradients itself (hostState),
 * so no clipped copy of every gradient is made.
 */
export function clipFactor(grads: Map<string, tf.Tensor>, maxNorm: number): { factor: number; norm: tf.Scalar } {
  const norm = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
  if (!(maxNorm > 0)) return { factor: 1, norm };
  const factor = tf.tidy(() => tf.div(maxNorm, tf.maximum(norm, maxNorm)).dataSync()[0]);
  return { factor, norm };
}

/** Linear warm-up from 0 to `peak` over `warmupSteps`, then linear decay to 0 at `totalSteps`. */
export function linearWarmupDecay(step: number, peak: number, warmupSteps: number, totalSteps: number): number {
  if (warmupSteps > 0 && step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const remaining = Math.max(0, totalSteps - step);
  const span = Math.max(1, totalSteps - warmupSteps);
  return (peak * remaining) / span;
}

/**
 * Scales gradients so their global L2 norm is at most `maxNorm`. Returns the clipped gradients
 * (new tensors; the caller disposes the originals) and the norm before clipping as a scalar tensor.
 */
export function clipByGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number): { grads: Map<string, tf.Tensor>; norm: tf.Scalar } {
  const norm = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
  if (!(maxNorm > 0)) return { grads: new Map([...grads].map(([k, g]) => [k, tf.clone(g)])), norm };
  const out = new Map<string, tf.Tensor>();
  tf.tidy(() => {
    const factor = tf.div(maxNorm, tf.maximum(norm, maxNorm));
    for (const [k, g] of grads) out.set(k, tf.keep(tf.mul(g, factor)));
  });
  return { grads: out, norm };
}
