/**
 * The pruner as a training hook. Masks are data (a Map from weight name to a 0/1 tensor) owned by
 * the hook, not layer subclasses: they are recomputed when the schedule says so and re-applied to
 * the weights *and* to Adam's moments after every optimizer step, so pruned weights stay exactly
 * zero and carry no momentum that could bring them back.
 *
 * Pattern lock (transfer and QAT) is the same hook with the `pattern-lock` mask function computed
 * once at the start: zeros stay zero.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BertModel } from '../model/bert.js';
import type { WeightData } from '../model/snapshot.js';
import type { LoopContext, TrainHook } from '../train/loop.js';
import type { Batch } from '../train/tasks.js';
import { maskRegistry, type MaskMap, type WeightTensor } from './masks.js';
import { makeSchedule, type Schedule, type ScheduleConfig } from './schedules.js';
import { matches } from './select.js';
import { countNonZeros } from './sparsity.js';

export interface PruneOverride {
  /** Glob over weight names. */
  match: string;
  /** This tensor's final sparsity instead of the schedule's (per-tensor methods only). */
  finalSparsity: number;
}

export interface PrunerSettings {
  /** Mask function name: magnitude, global-magnitude, block, pattern-lock. */
  method: string;
  /** When and how much; ignored by pattern-lock. */
  schedule?: ScheduleConfig;
  block?: [number, number];
  overrides?: PruneOverride[];
}

function finalOf(c: ScheduleConfig): number {
  return c.kind === 'cubic' ? c.finalSparsity : c.sparsity;
}

export class PrunerHook<B extends Batch = Batch> implements TrainHook<B> {
  readonly name = 'pruner';
  readonly masks = new Map<string, tf.Tensor>();
  private readonly schedule: Schedule | null;
  private lastTarget = 0;

  constructor(
    private readonly model: BertModel,
    /** The weights this hook prunes (see select.ts). */
    readonly weights: string[],
    readonly settings: PrunerSettings,
  ) {
    maskRegistry.get(settings.method); // throws on an unknown method, listing the known ones
    if (settings.method !== 'pattern-lock' && !settings.schedule) throw new Error(`pruning method '${settings.method}' needs a schedule`);
    if (settings.overrides?.length && settings.method === 'global-magnitude') {
      throw new Error('per-tensor overrides do not apply to global-magnitude pruning (one threshold for all tensors); use magnitude or block');
    }
    for (const w of weights) if (!model.params.has(w)) throw new Error(`pruner: the model has no weight named '${w}'`);
    this.schedule = settings.schedule ? makeSchedule(settings.schedule) : null;
  }

  private current(): Map<string, WeightTensor> {
    return new Map(this.weights.map((n) => {
      const v = this.model.params.get(n)!;
      return [n, { shape: [...v.shape], data: v.dataSync() as Float32Array }];
    }));
  }

  /** Recomputes the masks for a target sparsity from the current weights. */
  private recompute(target: number): void {
    const fn = maskRegistry.get(this.settings.method);
    const current = this.current();
    let masks: MaskMap;
    const overrides = this.settings.overrides ?? [];
    if (overrides.length && this.settings.schedule) {
      const final = finalOf(this.settings.schedule);
      masks = new Map();
      for (const [name, w] of current) {
        const o = overrides.find((x) => matches(name, x.match));
        const t = o ? (final > 0 ? (target * o.finalSparsity) / final : o.finalSparsity) : target;
        for (const [k, m] of fn(new Map([[name, w]]), Math.min(t, 0.999999), { block: this.settings.block })) masks.set(k, m);
      }
    } else {
      masks = fn(current, target, { block: this.settings.block });
    }
    this.setMasks(masks);
    this.lastTarget = target;
  }

  private setMasks(masks: MaskMap): void {
    for (const [name, m] of masks) {
      this.masks.get(name)?.dispose();
      const v = this.model.params.get(name)!;
      this.masks.set(name, tf.tensor(Float32Array.from(m), v.shape, 'float32'));
    }
  }

  /** Zeroes pruned weights and their optimizer moments. */
  apply(ctx?: LoopContext<B>): void {
    for (const [name, mask] of this.masks) {
      const v = this.model.params.get(name)!;
      tf.tidy(() => v.assign(tf.mul(v, mask)));
      ctx?.optimizer?.maskMoments(name, mask);
    }
  }

  init(ctx: LoopContext<B>): void {
    if (this.masks.size === 0) {
      if (this.settings.method === 'pattern-lock') this.recompute(0);
      else {
        const s = this.schedule!(ctx.step);
        if (s.prune) this.recompute(s.sparsity);
      }
    }
    this.apply(ctx);
  }

  afterStep(ctx: LoopContext<B>): void {
    if (this.schedule && this.settings.method !== 'pattern-lock') {
      const s = this.schedule(ctx.step);
      if (s.prune) this.recompute(s.sparsity);
    }
    this.apply(ctx);
  }

  /** Per-tensor and overall sparsity of the pruned weights, measured from the weights themselves. */
  sparsity(): { overall: number; params: number; nonZeros: number; perTensor: Record<string, number> } {
    let params = 0;
    let nonZeros = 0;
    const perTensor: Record<string, number> = {};
    for (const name of this.weights) {
      const data = this.model.params.get(name)!.dataSync();
      const nz = countNonZeros(data);
      perTensor[name] = 1 - nz / data.length;
      params += data.length;
      nonZeros += nz;
    }
    return { overall: params ? 1 - nonZeros / params : 0, params, nonZeros, perTensor };
  }

  evaluate(): Record<string, number> {
    return { sparsity: this.sparsity().overall, target_sparsity: this.lastTarget };
  }

  saveState(): { tensors: Map<string, WeightData>; json: unknown } {
    const tensors = new Map([...this.masks].map(([k, m]) => [k, { shape: [...m.shape], data: m.dataSync() as Float32Array }]));
    return { tensors, json: { lastTarget: this.lastTarget } };
  }

  loadState(state: { tensors: Map<string, WeightData>; json: unknown }): void {
    const masks: MaskMap = new Map();
    for (const [k, w] of state.tensors) masks.set(k, Uint8Array.from(w.data));
    this.setMasks(masks);
    this.lastTarget = (state.json as { lastTarget?: number })?.lastTarget ?? 0;
  }

  dispose(): void {
    tf.dispose([...this.masks.values()]);
    this.masks.clear();
  }
}
