/**
 * AdamW's moments kept in JavaScript memory instead of the backend's: on wasm they would take twice
 * the weights' size out of the 32-bit heap (0.9 GB for a bert-base student), next to the weights,
 * the gradients and the activations. The update runs in JavaScript with every operation rounded to
 * float32 in the order the tensor version (optimizer.ts) runs its kernels, so both give the same
 * bits: +, -, *, / and sqrt of float32 values computed in float64 and rounded once are the
 * correctly rounded float32 results (float64 has more than 2 x 24 + 2 bits).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WeightData } from '../model/snapshot.js';

const f = Math.fround;

export interface HostAdamStep {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** 1 - beta^t, the bias corrections of this step. */
  c1: number;
  c2: number;
  lr: number;
  /** Multiplies the gradient first (gradient clipping's factor; 1: none). */
  gradScale: number;
}

export class HostMoments {
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();

  /** One AdamW update of `w` from `g`: the moments here, the new weights assigned to `w`. */
  update(name: string, w: tf.Variable, g: tf.Tensor, s: HostAdamStep, decays: boolean): void {
    const wd = w.dataSync() as Float32Array;
    const gd = g.dataSync() as Float32Array;
    const n = wd.length;
    let m = this.m.get(name);
    let v = this.v.get(name);
    if (!m || !v) {
      m = new Float32Array(n);
      v = new Float32Array(n);
      this.m.set(name, m);
      this.v.set(name, v);
    }
    const [B1, OB1, B2, OB2] = [f(s.beta1), f(1 - s.beta1), f(s.beta2), f(1 - s.beta2)];
    const [C1, C2, EPS, WD, LR, GS] = [f(s.c1), f(s.c2), f(s.epsilon), f(s.weightDecay), f(s.lr), f(s.gradScale)];
    const decay = s.weightDecay > 0 && decays;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const gi = GS === 1 ? gd[i] : f(gd[i] * GS);
      const m1 = f(f(m[i] * B1) + f(gi * OB1));
      const v1 = f(f(v[i] * B2) + f(f(gi * gi) * OB2));
      m[i] = m1;
      v[i] = v1;
      let u = f(f(m1 / C1) / f(f(Math.sqrt(f(v1 / C2))) + EPS));
      if (decay) u = f(u + f(wd[i] * WD));
      out[i] = f(wd[i] - f(u * LR));
    }
    tf.tidy(() => w.assign(tf.tensor(out, w.shape, 'float32')));
  }

  maskMoments(name: string, mask: tf.Tensor): void {
    const md = mask.dataSync();
    for (const slots of [this.m, this.v]) {
      const s = slots.get(name);
      if (s) for (let i = 0; i < s.length; i++) s[i] = f(s[i] * md[i]);
    }
  }

  export(shapeOf: (name: string) => number[]): Map<string, WeightData> {
    const out = new Map<string, WeightData>();
    for (const [prefix, slots] of [
      ['optimizer/m/', this.m],
      ['optimizer/v/', this.v],
    ] as const) {
      for (const [name, s] of slots) out.set(prefix + name, { shape: shapeOf(name), data: s.slice() });
    }
    return out;
  }

  import(tensors: Map<string, WeightData>): void {
    this.clear();
    for (const [key, w] of tensors) {
      const slots = key.startsWith('optimizer/m/') ? this.m : key.startsWith('optimizer/v/') ? this.v : null;
      if (slots) slots.set(key.slice('optimizer/m/'.length), Float32Array.from(w.data));
    }
  }

  clear(): void {
    this.m.clear();
    this.v.clear();
  }
}
