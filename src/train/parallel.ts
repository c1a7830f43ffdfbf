/**
 * Data-parallel gradients over worker threads. The tfjs wasm backend is single-threaded in Node, so
 * the other cores idle; each of `threads - 1` worker threads, with its own wasm instance, computes
 * the gradients of its share of each batch while the main thread computes its own. The parts'
 * results are combined with row weights (exactly the full-batch mean loss) and the main thread
 * takes one optimizer step, so the result equals the single-threaded step up to float summation
 * order.
 *
 * Only hooks that can describe themselves to a worker (`workerRecipe`, see hooks.ts) allow this; a
 * hook that changes the forward pass or owns trainable variables (QAT, hidden-state distillation)
 * keeps the loop on one thread.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../backend/select.js';
import type { BertConfig } from '../model/config.js';
import type { RecomputeMode } from '../model/recompute.js';
import type { ClsBatch } from '../data/types.js';
import type { HookRecipe } from './hooks.js';
import type { Batch, EvalBatchResult } from './tasks.js';

/**
 * Threads per step for a `threads` setting: a number is taken as is; 'auto' means one per core (at
 * most 4) on wasm and cpu, which run single-threaded in Node, and 1 on the native backends, which
 * are multi-threaded already.
 */
export function resolveThreads(setting: 'auto' | number, backend: BackendName): number {
  if (setting !== 'auto') return setting;
  return backend === 'wasm' || backend === 'cpu' ? Math.max(1, Math.min(4, availableParallelism())) : 1;
}

export interface WorkerRecipe {
  objective: 'mlm' | 'classification';
  config: BertConfig;
  hooks: HookRecipe[];
  /** Gradient accumulation within the worker's share (0: all at once). */
  microBatch: number;
  recompute: RecomputeMode;
}

export interface WorkerResult {
  /** The worker's wasm heap after the step, MB (its own heap: each thread has one). */
  heapMb?: number;
  loss: number;
  grads: Array<[string, Float32Array]>;
  metrics: Array<[string, number]>;
}

/**
 * Evaluation batches run on another thread with the model's current weights (eval mode, plain
 * forward): what a worker idle between training steps offers an evaluation pass.
 */
export type RemoteForward = (batches: ClsBatch[]) => Promise<EvalBatchResult[]>;

/** dist/train/grad-worker.js, also when this module runs from the TypeScript sources (tests). */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  const sibling = join(dirname(here), 'grad-worker.js');
  if (!here.endsWith('.ts') && existsSync(sibling)) return sibling;
  const built = resolve(dirname(here), '../../dist/train/grad-worker.js');
  if (!existsSync(built)) throw new Error(`${built} not found: build the project (npm run build) to use parallel training workers`);
  return built;
}

/**
 * The built JavaScript of a module given by its import.meta.url: a source file (tests run the .ts
 * sources; the worker runs dist/) maps to its counterpart under dist/.
 */
export function builtModule(url: string): string {
  const path = fileURLToPath(url);
  if (!path.endsWith('.ts')) return url;
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const rel = path.slice(join(root, 'src').length + 1);
  const built = join(root, 'dist', rel.replace(/\.ts$/, '.js'));
  if (!existsSync(built)) throw new Error(`${built} not found: build the project (npm run build) to use parallel training workers`);
  return pathToFileURL(built).href;
}

export class GradientWorker {
  private readonly worker: Worker;
  /** Resolves once the worker has built its models; await it before the first compute(). */
  readonly ready: Promise<void>;
  private pending: { resolve: (r: never) => void; reject: (e: Error) => void } | null = null;

  constructor(recipe: WorkerRecipe) {
    this.worker = new Worker(workerScript(), { workerData: recipe });
    this.ready = new Promise((resolveReady, rejectReady) => {
      const onMessage = (m: { type: string; error?: string }) => {
        if (m.type === 'ready') {
          this.worker.off('message', onMessage);
          this.worker.on('message', (r: { type: string; result?: unknown; error?: string }) => this.settle(r));
          resolveReady();
        } else if (m.type === 'error') rejectReady(new Error(`gradient worker failed to start: ${m.error}`));
      };
      this.worker.on('message', onMessage);
      this.worker.once('error', (e) => {
        rejectReady(e);
        this.pending?.reject(e);
      });
    });
  }

  private settle(m: { type: string; result?: unknown; error?: string }): void {
    const p = this.pending;
    this.pending = null;
    if (!p) return;
    if (m.type === 'result' && m.result) p.resolve(m.result as never);
    else p.reject(new Error(`gradient worker: ${m.error ?? 'unexpected message'}`));
  }

  /**
   * Posts the step at once (synchronously: the caller then computes its own share while the worker
   * runs) and resolves when the worker is done. Call only after `ready` has resolved.
   */
  compute(weights: Array<[string, Float32Array]>, batch: Batch, dropoutSeed: number): Promise<WorkerResult> {
    return this.post<WorkerResult>({ type: 'step', weights, batch, dropoutSeed }, weights);
  }

  /**
   * Classification batches forward in eval mode with these weights (the worker's own student, no
   * hook): the same code as the main thread's evaluation, so the same logits to the bit.
   */
  forward(weights: Array<[string, Float32Array]>, batches: ClsBatch[]): Promise<EvalBatchResult[]> {
    return this.post<EvalBatchResult[]>({ type: 'forward', weights, batches }, weights);
  }

  private post<R>(message: object, weights: Array<[string, Float32Array]>): Promise<R> {
    if (this.pending) throw new Error('gradient worker is busy');
    const done = new Promise<R>((resolveResult, reject) => {
      this.pending = { resolve: resolveResult as (r: never) => void, reject };
    });
    this.worker.postMessage(
      message,
      weights.map(([, d]) => d.buffer as ArrayBuffer),
    );
    return done;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
