/**
 * The hook contract of the training loop (SparseML-style modifier lifecycle): distillation adds a
 * loss term, pruning and pattern lock act after the optimizer step, QAT replaces the Linear layers'
 * forward. The loop (loop.ts), the gradient code (gradients.ts) and the gradient worker
 * (grad-worker.ts) all depend on this module, never on each other's hook types.
 *
 * Worker recipes: a hook that can run in a gradient worker describes itself as plain data
 * (`HookRecipe`) and registers, by kind, the function that rebuilds it from that data
 * (`registerWorkerHook`). The worker imports the module named in the recipe, which registers the
 * kind there too, so train/ never imports a hook's module (tfjs-core's kernel registry works the
 * same way).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BertModel, ForwardOptions } from '../model/bert.js';
import type { WeightData } from '../model/snapshot.js';
import { Registry } from '../util/registry.js';
import type { Rng } from '../util/rng.js';
import type { AdamW } from './optimizer.js';
import type { Batch, ForwardResult, Objective } from './tasks.js';

export interface LoopContext<B extends Batch = Batch> {
  model: BertModel;
  objective: Objective<B>;
  optimizer: AdamW;
  /** Steps completed so far (0 before the first). */
  step: number;
  totalSteps: number;
  rng: Rng;
}

/** What a hook checkpoints: tensors (stored beside the weights) and plain JSON. */
export interface HookState {
  tensors: Map<string, WeightData>;
  json: unknown;
}

/**
 * How to rebuild a hook in a gradient worker, as plain data (structured-cloneable): `kind` names
 * the registered rebuild function, `module` the module (its import.meta.url) that registers it.
 */
export interface HookRecipe {
  kind: string;
  module: string;
  data: unknown;
}

/** Hooks, called in the order they are given. */
export interface TrainHook<B extends Batch = Batch> {
  /** For people: logs and errors (e.g. 'pruner', 'pattern-lock'). */
  name: string;
  /**
   * Where the hook's state and variables live in a checkpoint (`hook/<key>/...`); defaults to
   * `name`. Unique among the hooks of one loop. Kept stable so old checkpoints still resume.
   */
  key?: string;
  /** A key older checkpoints hold this hook's state under: read on resume when `key` holds none. */
  formerKey?: string;
  /** Once before the first step (also after a resume, with ctx.step > 0). */
  init?(ctx: LoopContext<B>): void;
  /** Before the gradient tape, e.g. the frozen teacher's forward. */
  prepare?(ctx: LoopContext<B>, batch: B): void;
  /** Overrides merged into the student forward's options (QAT supplies `linear`). */
  forwardOptions?(ctx: LoopContext<B>, training: boolean): Partial<ForwardOptions>;
  /** Inside the tape: returns the new total loss given the current one; may record metrics. */
  loss?(ctx: LoopContext<B>, batch: B, out: ForwardResult, total: tf.Scalar, metrics: Map<string, tf.Scalar>): tf.Scalar;
  /** Extra trainable variables owned by the hook (e.g. a distillation projection). */
  variables?(): Map<string, tf.Variable>;
  /** Frees per-step tensors once the gradients are computed (e.g. the teacher's logits). */
  release?(): void;
  /**
   * How to rebuild this hook in a gradient worker, or null if it cannot run there. Hooks with
   * prepare/loss/forwardOptions/variables and no recipe keep the loop on one thread.
   */
  workerRecipe?(): HookRecipe | null;
  /** After every optimizer step (pruning masks, pattern lock). */
  afterStep?(ctx: LoopContext<B>): void;
  /** Extra figures at each evaluation (e.g. sparsity). */
  evaluate?(ctx: LoopContext<B>): Record<string, number>;
  /** Once after the last step. */
  finalize?(ctx: LoopContext<B>): void;
  /** State to checkpoint, and to restore on resume. */
  saveState?(): HookState;
  loadState?(state: HookState): void;
}

/** The checkpoint key of a hook. */
export function hookKey(h: Pick<TrainHook, 'name' | 'key'>): string {
  return h.key ?? h.name;
}

/** Throws if two hooks of one loop would write their state under the same key. */
export function checkHookKeys(hooks: ReadonlyArray<Pick<TrainHook, 'name' | 'key'>>): void {
  const seen = new Map<string, string>();
  for (const h of hooks) {
    const k = hookKey(h);
    const other = seen.get(k);
    if (other !== undefined) {
      throw new Error(`hooks '${other}' and '${h.name}' share the checkpoint key '${k}'; give one of them another \`key\``);
    }
    seen.set(k, h.name);
  }
}

/** Rebuilds a hook inside a gradient worker from its recipe's data. */
export type WorkerHookFactory = (data: unknown) => TrainHook<Batch>;

/** Worker hook factories by recipe kind (filled by the hooks' own modules on import). */
export const workerHooks = new Registry<WorkerHookFactory>('worker hook recipe');

/** Registers `factory` for `kind` unless the module was already imported (idempotent). */
export function registerWorkerHook(kind: string, factory: WorkerHookFactory): void {
  if (!workerHooks.has(kind)) workerHooks.register(kind, factory);
}
