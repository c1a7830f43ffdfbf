/**
 * Recomputation (activation checkpointing, Chen et al. 2016): a block's forward runs as one custom
 * op that keeps only its inputs for the backward pass; when the gradient is needed, the block runs
 * again under a fresh gradient tape and is differentiated there. Memory for a block's activations
 * is then held for one block at a time (in the backward), at the cost of a second forward.
 *
 * tfjs specifics this relies on (tfjs-core engine.ts):
 * - a custom op's forward runs with kernelDepth > 0, so the ops inside are not taped and their
 *   intermediates are freed when the op returns; only what `save` keeps survives;
 * - the tape links a custom op to its *inputs* only, so the variables the block reads are passed as
 *   inputs too, and the gradient function returns their gradients, in input order;
 * - `save` copies a tensor (a memcpy on wasm), so the variables are not saved: they are persistent
 *   and unchanged between the forward and the backward of a step, and are read from the closure;
 * - a tf.grads inside a gradient function, at gradient depth 0, starts a new tape and, when done,
 *   sets the engine's activeTape to null, which the outer backward pass still needs to free its
 *   saved tensors: the outer tape is put back afterwards.
 */
import * as tf from '@tensorflow/tfjs-core';

/** How much of the encoder is recomputed in the backward pass. */
export type RecomputeMode = 'none' | 'layers';
export const RECOMPUTE_MODES: readonly RecomputeMode[] = ['none', 'layers'];

let replaying = 0;

/**
 * True while a block is being recomputed for its gradient. Forward code with side effects (QAT's
 * activation-range observers) skips them then, so the replay computes exactly what the forward did.
 */
export function isRecomputing(): boolean {
  return replaying > 0;
}

/**
 * Dropout seeds drawn by a block's forward, replayed by its recomputation so that the same
 * elements are dropped (tf.dropout with a seed is deterministic on every backend).
 */
export class SeedTape {
  private readonly seeds: number[] = [];
  private next = 0;
  constructor(private readonly draw: () => number) {}
  /** Records a fresh seed in the forward; returns the recorded ones, in order, in a replay. */
  seed(): number {
    if (isRecomputing()) {
      if (this.next >= this.seeds.length) throw new Error('recompute: the replay drew more dropout seeds than the forward');
      return this.seeds[this.next++];
    }
    const s = this.draw();
    this.seeds.push(s);
    return s;
  }
  rewind(): void {
    this.next = 0;
  }
}

interface EngineTape {
  state: { activeTape: unknown };
}

/**
 * `block(inputs)` with its activations recomputed in the backward pass. `block` must be a pure
 * function of `inputs` and `weights` (draw random seeds through a SeedTape); `weights` are every
 * variable it reads that needs a gradient. Returns the block's output.
 */
export function checkpoint(block: (inputs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], weights: tf.Variable[]): tf.Tensor {
  const n = inputs.length;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const xs = args.slice(0, n) as tf.Tensor[];
    save(xs);
    return {
      value: block(xs),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const engine = tf.engine() as unknown as EngineTape;
        const outerTape = engine.state.activeTape;
        replaying++;
        try {
          const targets = [...saved, ...weights];
          const { value, grads } = tf.engine().gradients(() => block(saved), targets, dy, true);
          value.dispose();
          return grads.map((g, i) => g ?? tf.zerosLike(targets[i]));
        } finally {
          replaying--;
          engine.state.activeTape = outerTape;
        }
      },
    };
  });
  return op(...inputs, ...weights);
}
