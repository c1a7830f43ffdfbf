/**
 * Pattern lock (transfer and QAT, Prune OFA): the weights that are zero when training starts stay
 * exactly zero. The masks are the non-zero pattern at `init`, re-applied to the weights and to
 * Adam's moments after every optimizer step; nothing is ever re-selected.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BertModel } from '../model/bert.js';
import type { HookState, LoopContext, TrainHook } from '../train/hooks.js';
import type { Batch } from '../train/tasks.js';
import { MaskSet, type PrunedSparsity } from './mask-set.js';
import { patternLockMask } from './masks.js';

export class PatternLockHook<B extends Batch = Batch> implements TrainHook<B> {
  readonly name = 'pattern-lock';
  /** Resume checkpoints written before pattern lock had its own key hold its masks under 'pruner'. */
  readonly formerKey = 'pruner';
  private readonly set: MaskSet;

  constructor(
    model: BertModel,
    /** The weights whose zeros are locked. */ readonly weights: string[],
  ) {
    this.set = new MaskSet(model, weights, 'pattern lock');
  }

  get masks(): ReadonlyMap<string, tf.Tensor> {
    return this.set.masks;
  }

  init(ctx: LoopContext<B>): void {
    if (this.set.masks.size === 0) this.set.set(patternLockMask(this.set.current(), 0));
    this.set.apply(ctx);
  }

  afterStep(ctx: LoopContext<B>): void {
    this.set.apply(ctx);
  }

  sparsity(): PrunedSparsity {
    return this.set.sparsity();
  }

  evaluate(): Record<string, number> {
    return { sparsity: this.set.sparsity().overall };
  }

  saveState(): HookState {
    return { tensors: this.set.saveTensors(), json: {} };
  }

  loadState(state: HookState): void {
    this.set.loadTensors(state.tensors);
  }

  dispose(): void {
    this.set.dispose();
  }
}
