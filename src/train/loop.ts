/**
 * The one training loop every stage uses. Compression plugs in through hooks (the contract is in
 * hooks.ts): distillation adds a loss term, pruning and pattern lock act after the optimizer step,
 * QAT replaces the Linear layers' forward. No stage owns a copy of the loop.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BertModel, ForwardOptions } from '../model/bert.js';
import type { RecomputeMode } from '../model/recompute.js';
import type { WeightData } from '../model/snapshot.js';
import { Rng } from '../util/rng.js';
import { startProgress } from '../util/progress.js';
import { AdamW, clipByGlobalNorm, clipFactor, linearWarmupDecay, type AdamWSettings } from './optimizer.js';
import { accumulateGradients } from './gradients.js';
import { checkHookKeys, hookKey, type HookRecipe, type HookState, type LoopContext, type TrainHook } from './hooks.js';
import { GradientWorker, type RemoteForward, type WorkerRecipe } from './parallel.js';
import { lossRows, splitBatch } from './split.js';
import { MemoryWatch, type TrainMemory } from './memory-watch.js';
import type { Batch, Objective } from './tasks.js';

export interface BatchSource<B> {
  next(): B;
  getState(): unknown;
  setState(state: unknown): void;
}

export interface LoopSettings {
  steps: number;
  learningRate: number;
  warmupSteps: number;
  clipNorm: number;
  optimizer?: Partial<AdamWSettings>;
  seed: number;
  /** Evaluate every N steps (0: only at the end). */
  evalEvery: number;
  /** Write a resume checkpoint every N steps (0: never). */
  checkpointEvery: number;
  label?: string;
  quiet?: boolean;
  /** Split each batch over this many threads (main + workers); 1 = no workers. */
  threads?: number;
  /**
   * Rows per forward/backward within each thread's share (0: all at once). Lower it when a batch
   * does not fit in memory: the micro-batches' gradients are summed into one optimizer step.
   */
  microBatch?: number;
  /** 'layers': recompute each encoder layer in the backward pass instead of keeping its activations. */
  recompute?: RecomputeMode;
  /**
   * Stop once `metric` has not improved for `patience` evaluations in a row (evaluations run every
   * evalEvery steps), then put back the weights of its best evaluation. Only for training whose
   * hooks do not change the weights on a schedule (no pruning, no QAT): the stages check it.
   */
  earlyStopping?: EarlyStopping;
}

export interface EarlyStopping {
  patience: number;
  metric: string;
  higherIsBetter: boolean;
}

/** Early stopping's state in a resume checkpoint (the best weights are tensors `best/<name>`). */
export interface EarlyStoppingState {
  bestStep: number;
  bestValue: number;
  bestMetrics: Record<string, number>;
  sinceBest: number;
  stopped: boolean;
}

export interface LoopState {
  step: number;
  rng: number;
  data: unknown;
  optimizerStep: number;
  hooks: Record<string, unknown>;
  history: LogEntry[];
  earlyStopping?: EarlyStoppingState;
}

export interface LogEntry {
  step: number;
  loss?: number;
  lr?: number;
  [metric: string]: number | undefined;
}

export interface LoopResult {
  history: LogEntry[];
  evaluations: Array<{ step: number; metrics: Record<string, number> }>;
  tokensPerSecond: number;
  seconds: number;
  /** Peak wasm heap per thread and peak RSS (memory-watch.ts). */
  memory: TrainMemory;
  /** With early stopping: the step training stopped at, and the step whose weights were put back. */
  stoppedAt?: number;
  /** What LoopIo.finish returned. */
  final?: Record<string, number>;
  restoredStep?: number;
}

export class TrainingDivergedError extends Error {}

export interface ResumePoint {
  state: LoopState;
  tensors: Map<string, WeightData>;
}

export interface LoopIo {
  /** Called every checkpointEvery steps and after the last step: persist the model and this state. */
  saveResume?(state: LoopState, tensors: Map<string, WeightData>): void;
  /**
   * The task evaluation (dev accuracy, held-out MLM accuracy...), merged with the hooks' figures.
   * `remote`: the gradient workers, idle during an evaluation, offered for classification batches
   * in eval mode when the evaluation's forward is the plain one (empty otherwise).
   */
  evaluate?(model: BertModel, forward: Partial<ForwardOptions>, remote: RemoteForward[]): Record<string, number> | Promise<Record<string, number>>;
  /**
   * After the last evaluation (and early stopping's restore): figures of the weights the stage
   * keeps (e.g. the teacher's logits on the training split), with the workers still up; returned as LoopResult.final.
   */
  finish?(model: BertModel, forward: Partial<ForwardOptions>, remote: RemoteForward[]): Promise<Record<string, number>>;
}

/** Optimizer moments and hook tensors, keyed so they can share one checkpoint with the weights. */
function collectTensors<B extends Batch>(optimizer: AdamW, hooks: TrainHook<B>[]): { tensors: Map<string, WeightData>; hookJson: Record<string, unknown> } {
  const tensors = new Map(optimizer.exportState().tensors);
  const hookJson: Record<string, unknown> = {};
  for (const h of hooks) {
    if (!h.saveState) continue;
    const s = h.saveState();
    hookJson[hookKey(h)] = s.json;
    for (const [k, v] of s.tensors) tensors.set(`hook/${hookKey(h)}/${k}`, v);
  }
  return { tensors, hookJson };
}

function hookTensors(all: Map<string, WeightData>, hook: string): Map<string, WeightData> {
  const prefix = `hook/${hook}/`;
  return new Map([...all].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

/** A hook's saved state in a resume point: under its key, else under its former key (older checkpoints). */
function savedHookState<B extends Batch>(resume: ResumePoint, h: TrainHook<B>): HookState {
  const key = hookKey(h);
  const saved = { tensors: hookTensors(resume.tensors, key), json: resume.state.hooks[key] };
  if (saved.tensors.size > 0 || saved.json !== undefined || h.formerKey === undefined) return saved;
  return { tensors: hookTensors(resume.tensors, h.formerKey), json: resume.state.hooks[h.formerKey] };
}

function mergeForward<B extends Batch>(ctx: LoopContext<B>, hooks: TrainHook<B>[], training: boolean): Partial<ForwardOptions> {
  return Object.assign({}, ...hooks.map((h) => h.forwardOptions?.(ctx, training) ?? {}));
}

export async function trainLoop<B extends Batch>(
  model: BertModel,
  objective: Objective<B>,
  data: BatchSource<B>,
  settings: LoopSettings,
  hooks: TrainHook<B>[],
  io: LoopIo = {},
  resume?: ResumePoint,
): Promise<LoopResult> {
  checkHookKeys(hooks);
  const optimizer = new AdamW(settings.optimizer);
  const rng = new Rng(settings.seed);
  const ctx: LoopContext<B> = { model, objective, optimizer, step: 0, totalSteps: settings.steps, rng };
  let history: LogEntry[] = [];
  const evaluations: LoopResult['evaluations'] = [];

  const stopping = settings.earlyStopping ? new EarlyStopper(settings.earlyStopping, model) : null;
  if (resume) {
    ctx.step = resume.state.step;
    if (stopping && resume.state.earlyStopping) stopping.load(resume.state.earlyStopping, resume.tensors);
    rng.setState(resume.state.rng);
    data.setState(resume.state.data);
    optimizer.importState(resume.state.optimizerStep, resume.tensors);
    history = resume.state.history ?? [];
    for (const h of hooks) h.loadState?.(savedHookState(resume, h));
  }
  for (const h of hooks) h.init?.(ctx);

  const trainable = new Map<string, tf.Variable>(model.params);
  for (const h of hooks) for (const [k, v] of h.variables?.() ?? []) trainable.set(`hook/${hookKey(h)}/${k}`, v);
  const microBatch = settings.microBatch ?? 0;
  const recompute = settings.recompute ?? 'none';
  const workers = startWorkers(model, objective, hooks, settings.threads ?? 1, microBatch, recompute);
  try {
    await Promise.all(workers.map((w) => w.ready));
    return await loopWithWorkers();
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }

  async function loopWithWorkers(): Promise<LoopResult> {
    // The workers as evaluation helpers: classification batches, plain eval-mode forward only.
    const remoteFor = (fwd: Partial<ForwardOptions>): RemoteForward[] =>
      objective.kind === 'classification' && Object.keys(fwd).length === 0 ? workers.map((w) => (batches) => w.forward(currentWeights(model), batches)) : [];

    const runEvaluation = async () => {
      const fwd = mergeForward(ctx, hooks, false);
      const metrics: Record<string, number> = { ...((await io.evaluate?.(model, fwd, remoteFor(fwd))) ?? {}) };
      for (const h of hooks) Object.assign(metrics, h.evaluate?.(ctx) ?? {});
      evaluations.push({ step: ctx.step, metrics });
      return metrics;
    };

    const saveResume = () => {
      if (!io.saveResume) return;
      const { tensors, hookJson } = collectTensors(optimizer, hooks);
      const es = stopping?.save(tensors);
      io.saveResume(
        {
          step: ctx.step,
          rng: rng.getState(),
          data: data.getState(),
          optimizerStep: optimizer.step,
          hooks: hookJson,
          history,
          ...(es ? { earlyStopping: es } : {}),
        },
        tensors,
      );
    };

    const progress = startProgress(settings.label ?? 'train', settings.steps, { quiet: settings.quiet });
    const memory = new MemoryWatch({ recompute, microBatch }, (m) => {
      if (!settings.quiet) process.stderr.write(`${settings.label ?? 'train'}: ${m}\n`);
    });
    const started = performance.now();
    let tokens = 0;
    const startStep = ctx.step;
    try {
      while (ctx.step < settings.steps && !stopping?.stopped) {
        const batch = data.next();
        const lr = linearWarmupDecay(ctx.step, settings.learningRate, settings.warmupSteps, settings.steps);
        const fwd = (r: Rng): ForwardOptions => ({ training: true, rng: r, recompute, ...mergeForward(ctx, hooks, true) });
        const {
          loss: value,
          grads: named,
          metrics,
        } = workers.length
          ? await parallelGradients(ctx, batch, hooks, fwd, trainable, workers, microBatch, memory)
          : accumulateGradients(ctx, batch, hooks, fwd(rng), trainable, microBatch);
        // Moments on the host: the optimizer scales each gradient as it reads it, no clipped copies.
        const clipped = optimizer.hostState
          ? { ...clipFactor(named, settings.clipNorm), grads: named }
          : { ...clipByGlobalNorm(named, settings.clipNorm), factor: 1 };
        const loss = value.dataSync()[0];
        const gradNorm = clipped.norm.dataSync()[0];
        if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
          tf.dispose([value, ...named.values(), clipped.norm, ...clipped.grads.values(), ...metrics.values()]);
          throw new TrainingDivergedError(
            `training diverged at step ${ctx.step + 1}: loss=${loss}, gradient norm=${gradNorm}. ` +
              'The last good checkpoint is kept; lower the learning rate (learningRate) or raise warmupSteps and rerun.',
          );
        }
        optimizer.apply(trainable, clipped.grads, lr, clipped.factor);
        tf.dispose([value, ...named.values(), clipped.norm, ...clipped.grads.values()]);
        ctx.step += 1;
        for (const h of hooks) h.afterStep?.(ctx);

        const entry: LogEntry = { step: ctx.step, loss, lr, grad_norm: gradNorm };
        for (const [k, t] of metrics) {
          entry[k] = t.dataSync()[0];
          t.dispose();
        }
        history.push(entry);
        tokens += objective.tokens(batch);
        const secs = (performance.now() - started) / 1000;
        memory.check();
        const heap = memory.progressField();
        progress.update(ctx.step, { loss: loss.toFixed(4), tps: Math.round(tokens / secs), ...(heap ? { heap } : {}) });

        const last = ctx.step === settings.steps;
        if (settings.evalEvery > 0 && ctx.step % settings.evalEvery === 0 && !last) {
          const metrics = await runEvaluation();
          stopping?.judge(ctx.step, metrics);
        }
        if (stopping?.stopped) break;
        if (settings.checkpointEvery > 0 && ctx.step % settings.checkpointEvery === 0 && !last) saveResume();
        // Let the event loop turn once per step, so Ctrl-C (the run lock's SIGINT handler) is handled
        // between steps rather than only when the stage ends.
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      progress.stop();
    }
    for (const h of hooks) h.finalize?.(ctx);
    // A stop right after an evaluation of these very weights needs no second one.
    if (evaluations.at(-1)?.step !== ctx.step || !stopping) {
      const final = await runEvaluation();
      stopping?.judge(ctx.step, final, true);
    }
    const restored = stopping?.restoreBest(ctx.step);
    if (restored) evaluations.push(restored);
    const finalFwd = mergeForward(ctx, hooks, false);
    const final = io.finish ? await io.finish(model, finalFwd, remoteFor(finalFwd)) : undefined;
    saveResume();
    const seconds = (performance.now() - started) / 1000;
    optimizer.dispose();
    const steps = ctx.step - startStep;
    return {
      history,
      evaluations,
      tokensPerSecond: steps > 0 ? tokens / seconds : 0,
      seconds,
      memory: memory.snapshot(),
      ...(stopping ? { stoppedAt: ctx.step, restoredStep: restored ? restored.step : ctx.step } : {}),
      ...(final ? { final } : {}),
    };
  }
}

/** A copy of the model's weights for a worker (posting transfers the buffers). */
function currentWeights(model: BertModel): Array<[string, Float32Array]> {
  return [...model.params].map(([k, v]) => [k, (v.dataSync() as Float32Array).slice()]);
}

/** Early stopping: the best evaluation so far, a copy of its weights, and the patience left. */
class EarlyStopper {
  private best: { step: number; value: number; metrics: Record<string, number>; weights: Map<string, Float32Array> } | null = null;
  private sinceBest = 0;
  stopped = false;

  constructor(
    private readonly settings: EarlyStopping,
    private readonly model: BertModel,
  ) {}

  private better(v: number, than: number): boolean {
    return this.settings.higherIsBetter ? v > than : v < than;
  }

  /** Records an evaluation; `last`: the final one, which can become the best but never stops anything. */
  judge(step: number, metrics: Record<string, number>, last = false): void {
    const v = metrics[this.settings.metric];
    if (typeof v !== 'number' || Number.isNaN(v)) {
      throw new Error(
        `train.earlyStopping.metric '${this.settings.metric}' is not among this stage's evaluation figures (${Object.keys(metrics).join(', ') || 'none'}); choose one of them`,
      );
    }
    if (!this.best || this.better(v, this.best.value)) {
      const weights = new Map([...this.model.params].map(([k, p]) => [k, (p.dataSync() as Float32Array).slice()]));
      this.best = { step, value: v, metrics: { ...metrics }, weights };
      this.sinceBest = 0;
    } else if (!last && ++this.sinceBest >= this.settings.patience) this.stopped = true;
  }

  /** Puts the best weights back when the best evaluation is not the current step's; returns it. */
  restoreBest(step: number): { step: number; metrics: Record<string, number> } | null {
    const b = this.best;
    if (!b || b.step === step) return null;
    for (const [k, data] of b.weights) {
      const p = this.model.params.get(k)!;
      tf.tidy(() => p.assign(tf.tensor(data, p.shape)));
    }
    return { step: b.step, metrics: b.metrics };
  }

  save(tensors: Map<string, WeightData>): EarlyStoppingState | undefined {
    const b = this.best;
    if (!b) return undefined;
    for (const [k, data] of b.weights) tensors.set(`best/${k}`, { shape: [...this.model.params.get(k)!.shape], data });
    return { bestStep: b.step, bestValue: b.value, bestMetrics: b.metrics, sinceBest: this.sinceBest, stopped: this.stopped };
  }

  load(state: EarlyStoppingState, tensors: Map<string, WeightData>): void {
    const weights = new Map<string, Float32Array>();
    for (const k of this.model.params.keys()) {
      const t = tensors.get(`best/${k}`);
      if (!t) throw new Error(`resume checkpoint: early stopping's best weights lack '${k}'`);
      weights.set(k, t.data);
    }
    this.best = { step: state.bestStep, value: state.bestValue, metrics: state.bestMetrics, weights };
    this.sinceBest = state.sinceBest;
    this.stopped = state.stopped;
  }
}

/** Workers for data-parallel steps, when asked for and when every hook can run in a worker. */
function startWorkers<B extends Batch>(
  model: BertModel,
  objective: Objective<B>,
  hooks: TrainHook<B>[],
  threads: number,
  microBatch: number,
  recompute: RecomputeMode,
): GradientWorker[] {
  if (threads <= 1) return [];
  const recipes: HookRecipe[] = [];
  for (const h of hooks) {
    const affectsGradients = h.prepare || h.loss || h.forwardOptions || h.variables;
    if (!affectsGradients) continue;
    const r = h.workerRecipe?.() ?? null;
    if (!r) return [];
    recipes.push(r);
  }
  const recipe: WorkerRecipe = { objective: objective.kind, config: model.config, hooks: recipes, microBatch, recompute };
  return Array.from({ length: threads - 1 }, () => new GradientWorker(recipe));
}

/**
 * Splits the batch row-wise over the main thread and the workers, then combines: the loss and every
 * gradient are the row-weighted mean of the parts', which is exactly the full batch's mean.
 */
async function parallelGradients<B extends Batch>(
  ctx: LoopContext<B>,
  batch: B,
  hooks: TrainHook<B>[],
  fwd: (rng: Rng) => ForwardOptions,
  trainable: Map<string, tf.Variable>,
  workers: GradientWorker[],
  microBatch: number,
  memory: MemoryWatch,
): Promise<{ loss: tf.Scalar; grads: Map<string, tf.Tensor>; metrics: Map<string, tf.Scalar> }> {
  const n = Math.min(workers.length + 1, batch.batchSize);
  const parts: B[] = [];
  let rest = batch;
  for (let i = n; i > 1; i--) {
    const [head, tail] = splitBatch(rest, Math.floor(rest.batchSize / i));
    parts.push(head);
    rest = tail;
  }
  parts.push(rest);
  const weights: Array<[string, Float32Array]> = [...ctx.model.params].map(([k, v]) => [k, (v.dataSync() as Float32Array).slice()]);
  const seeds = parts.slice(1).map(() => ctx.rng.int(2 ** 31));
  // Send the workers their parts first (each gets its own copy of the weights), then compute ours.
  // Each worker gets its own copy, made before any is posted (posting transfers, detaching the buffers).
  const copies = parts.slice(1).map((_, i) => (i === 0 ? weights : weights.map(([k, d]): [string, Float32Array] => [k, d.slice()])));
  const remote = parts.slice(1).map((p, i) => workers[i].compute(copies[i], p, seeds[i]));
  const local = accumulateGradients(ctx, parts[0], hooks, fwd(ctx.rng), trainable, microBatch);
  const results = await Promise.all(remote);
  results.forEach((r, i) => memory.worker(i, r.heapMb));
  const rows = parts.map(lossRows);
  const total = rows.reduce((a, b) => a + b, 0);
  const w0 = rows[0] / total;
  const grads = new Map<string, tf.Tensor>();
  for (const [k, g] of local.grads) {
    grads.set(
      k,
      tf.tidy(() => {
        let acc = tf.mul(g, w0);
        results.forEach((r, i) => {
          const remoteGrad = r.grads.find(([name]) => name === k);
          if (!remoteGrad) throw new Error(`gradient worker returned no gradient for '${k}'`);
          acc = tf.add(acc, tf.mul(tf.tensor(remoteGrad[1], g.shape), rows[i + 1] / total));
        });
        return acc;
      }),
    );
    // Free each local gradient once combined: two full sets of gradients never coexist.
    g.dispose();
  }
  const combine = (mine: tf.Scalar, key: string | null) =>
    tf.tidy(() => {
      let acc = tf.mul(mine, w0);
      results.forEach((r, i) => {
        const v = key === null ? r.loss : (r.metrics.find(([m]) => m === key)?.[1] ?? 0);
        acc = tf.add(acc, v * (rows[i + 1] / total));
      });
      return acc as tf.Scalar;
    });
  const metrics = new Map<string, tf.Scalar>();
  for (const [k, t] of local.metrics) metrics.set(k, combine(t, k));
  const loss = combine(local.loss, null);
  tf.dispose([local.loss, ...local.grads.values(), ...local.metrics.values()]);
  return { loss, grads, metrics };
}
