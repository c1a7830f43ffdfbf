/**
 * Masks as data: a Map from weight name to a 0/1 tensor of the weight's shape, owned by a hook (the
 * pruner, the pattern lock), not by layer subclasses. `apply` zeroes the pruned weights *and*
 * Adam's moments of those weights, so pruned weights stay exactly zero and carry no momentum that
 * could bring them back.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BertModel } from '../model/bert.js';
import type { HookState, LoopContext } from '../train/hooks.js';
import type { MaskMap, WeightTensor } from './masks.js';
import { countNonZeros, sparsityTotals, zeroFraction } from '../model/sparsity.js';

export interface PrunedSparsity {
  overall: number;
  params: number;
  nonZeros: number;
  perTensor: Record<string, number>;
}

export class MaskSet {
  readonly masks = new Map<string, tf.Tensor>();

  constructor(
    private readonly model: BertModel,
    /** The weights the masks may cover. */
    readonly weights: readonly string[],
    owner: string,
  ) {
    for (const w of weights) if (!model.params.has(w)) throw new Error(`${owner}: the model has no weight named '${w}'`);
  }

  /** The current values of `names` (default: all), for mask functions. */
  current(names: readonly string[] = this.weights): Map<string, WeightTensor> {
    return new Map(
      names.map((n) => {
        const v = this.model.params.get(n)!;
        return [n, { shape: [...v.shape], data: v.dataSync() as Float32Array }];
      }),
    );
  }

  /** Replaces the masks of the weights in `masks`; the others keep theirs. */
  set(masks: MaskMap): void {
    for (const [name, m] of masks) {
      this.masks.get(name)?.dispose();
      const v = this.model.params.get(name)!;
      this.masks.set(name, tf.tensor(Float32Array.from(m), v.shape, 'float32'));
    }
  }

  /** Zeroes pruned weights and their optimizer moments. */
  apply(ctx?: Pick<LoopContext, 'optimizer'>): void {
    for (const [name, mask] of this.masks) {
      const v = this.model.params.get(name)!;
      tf.tidy(() => v.assign(tf.mul(v, mask)));
      ctx?.optimizer?.maskMoments(name, mask);
    }
  }

  /** Per-tensor and overall sparsity of the weights, measured from the weights themselves. */
  sparsity(): PrunedSparsity {
    const perTensor: Record<string, number> = {};
    const counts = this.weights.map((name) => {
      const data = this.model.params.get(name)!.dataSync();
      const c = { params: data.length, nonZeros: countNonZeros(data) };
      perTensor[name] = zeroFraction(c.params, c.nonZeros);
      return c;
    });
    const { params, nonZeros, sparsity } = sparsityTotals(counts);
    return { overall: sparsity, params, nonZeros, perTensor };
  }

  saveTensors(): HookState['tensors'] {
    return new Map([...this.masks].map(([k, m]) => [k, { shape: [...m.shape], data: m.dataSync() as Float32Array }]));
  }

  loadTensors(tensors: HookState['tensors']): void {
    const masks: MaskMap = new Map();
    for (const [k, w] of tensors) masks.set(k, Uint8Array.from(w.data));
    this.set(masks);
  }

  dispose(): void {
    tf.dispose([...this.masks.values()]);
    this.masks.clear();
  }
}
