/**
 * Training-step benchmark: one prune-and-distill pre-training step, the same work as the PyTorch
 * peer `shared/peers/torch_ref.py` given the same arguments, run through the project's real
 * `trainLoop` with the real distillation and pruner hooks, so the number is what the pipeline gets.
 *
 * The work per step (as torch_ref):
 * - one fixed batch of random ids in [5, vocab), ~15% of positions selected for MLM (labels = the
 *   ids there; torch_ref does not replace them with [MASK], neither do we);
 * - the frozen teacher (heads = hidden/64, intermediate = 4 * hidden) forward only;
 * - student forward + backward, loss = CE(MLM) + T^2 KL(teacher/T || student/T), T = 2, on the
 *   selected positions only (torch_ref weights both terms 1; the pipeline default is 0.5 / 0.5:
 *   the weights do not change the work);
 * - AdamW, no dropout, no gradient clipping;
 * - magnitude masks of the encoder Linear kernels recomputed and re-applied after every step, to
 *   target sparsity * min(1, i / 10) at step i (i = 1 is the first step, the warm-up one).
 *
 * Known differences from torch_ref (small next to the matmuls, listed so the comparison is honest):
 * - torch_ref's QKV is one fused [H, 3H] Linear pruned with one threshold; here Q, K, V are three
 *   kernels, each pruned to the target on its own.
 * - the pruner also zeroes Adam's moments of pruned weights (the pipeline does; torch_ref does not),
 *   and computes masks on the host (weights read back, exact radix select, masks uploaded) where
 *   torch_ref runs kthvalue on the tensors.
 * - the embeddings add a 2-row token-type table (all zeros here), which torch_ref has not.
 * - the loop computes the global gradient norm every step (for its divergence check) even with
 *   clipping off.
 * - AdamW's learning rate follows the loop's linear decay (torch_ref: constant) and skips weight
 *   decay on biases and LayerNorm (torch_ref: decays all); neither changes the work.
 */
import * as tf from '@tensorflow/tfjs-core';
import { availableParallelism } from 'node:os';
import { selectBackend, type BackendName } from '../backend/select.js';
import type { MlmBatch } from '../data/types.js';
import { distillationHook } from '../distill/hook.js';
import { defaultConfig, type BertConfig } from '../model/config.js';
import { createModel, disposeModel, type BertModel } from '../model/bert.js';
import { PrunerHook } from '../prune/pruner.js';
import { scheduleRegistry, type Schedule, type ScheduleConfig, type ScheduleKind } from '../prune/schedules.js';
import { selectWeights } from '../prune/select.js';
import { trainLoop, type BatchSource, type TrainHook } from '../train/loop.js';
import { resolveThreads } from '../train/parallel.js';
import { mlmObjective } from '../train/tasks.js';
import { Rng } from '../util/rng.js';
import { RECOMPUTE_MODES, type RecomputeMode } from '../model/recompute.js';
import type { TrainMemory } from '../train/memory-watch.js';
import { runTorchPeer, type PeerResult, type StepShape } from './peer.js';
import { machineFacts, rssPeakMb, round, tfjsTensorMb, wasmHeapMb, type MachineFacts } from './memory.js';

export interface TrainStepBenchOptions extends StepShape {
  /** Final sparsity of the ramp (default 0.9, as torch_ref). */
  sparsity?: number;
  /** Backend name as for --backend (default: the best that loads). */
  backend?: string;
  /** Untimed steps first: kernels compile, the wasm heap grows, optimizer slots are made. Default 1. */
  warmupSteps?: number;
  /** Also profile one steady-state step (kernel times by kernel name). */
  profile?: boolean;
  /** Threads sharing each batch, as the pipeline's train.threads (default 'auto': one per core on wasm). */
  threads?: 'auto' | number;
  /** Gradient accumulation: rows per forward/backward within a thread's share (0: all at once). */
  microBatch?: number;
  // ---- recompute (issue 18) ----
  /** 'layers': recompute each encoder layer in the backward pass (train.recompute). Default 'none'. */
  recompute?: RecomputeMode;
  // ---- end recompute ----
  /** Path of shared/peers/torch_ref.py: run it first with the same arguments, one thread per core. */
  peer?: string;
  seed?: number;
}

/** torch_ref's defaults: the configuration the peer number is quoted for. */
export const TRAIN_STEP_DEFAULTS = {
  studentLayers: 2,
  studentHidden: 128,
  teacherLayers: 4,
  teacherHidden: 256,
  vocab: 30522,
  seq: 128,
  batch: 32,
  steps: 10,
  sparsity: 0.9,
  warmupSteps: 1,
} as const;

/** torch_ref reaches the final sparsity at step 10. */
export const RAMP_STEPS = 10;
/** torch_ref's learning rate (constant there; here the loop's linear decay, which costs the same). */
const LEARNING_RATE = 1e-4;
const MASK_FRACTION = 0.15;

export interface KernelTime {
  kernel: string;
  ms: number;
  calls: number;
  /** Share of the summed kernel time of the step. */
  share: number;
}

export interface TrainStepProfile {
  /** Wall-clock time of the profiled step (profiling adds some overhead per kernel). */
  step_ms: number;
  /** Sum of the kernel times; the rest of step_ms is JavaScript outside kernels (and readbacks). */
  kernel_ms: number;
  /** Top-level kernels only, so the times add up. */
  kernels: KernelTime[];
  /**
   * Copies of tensors saved for the backward pass (Identity kernels the tape runs inside other
   * kernels): already included in those kernels' times, shown apart because on wasm they are memcpys.
   */
  saved_for_backward: { ms: number; calls: number };
  /** The slowest single calls, with their input shapes (which matmul is the expensive one). */
  slowest: Array<{ kernel: string; ms: number; input_shapes: number[][] }>;
  /** The step's phases in the order the loop runs them (summed over micro-batches). */
  phases: PhaseTime[];
}

/** The parts of a step, in loop order; each ends at a hook call of the loop. */
export const STEP_PHASES = ['teacher forward', 'student forward + losses', 'backward', 'clip + optimizer', 'masks'] as const;
export type StepPhase = (typeof STEP_PHASES)[number];

export interface PhaseTime {
  phase: StepPhase;
  /** Wall-clock time, profiling overhead included. */
  wall_ms: number;
  /** Summed time of the phase's top-level kernels. */
  kernel_ms: number;
}

export interface TrainStepBenchResult extends MachineFacts {
  bench: 'train-step';
  tokens_per_s: number;
  /** Mean wall-clock time of a timed step. */
  step_ms: number;
  /** Each timed step's time, in order. */
  step_ms_each: number[];
  backend: string;
  steps: number;
  warmup_steps: number;
  student_layers: number;
  student_hidden: number;
  teacher_layers: number;
  teacher_hidden: number;
  vocab: number;
  seq: number;
  batch: number;
  /** Threads that shared each batch (main + gradient workers). */
  threads: number;
  /** Rows per forward/backward (0: each thread's share at once). */
  micro_batch: number;
  /** 'layers' when the encoder layers were recomputed in the backward pass. */
  recompute: RecomputeMode;
  sparsity: number;
  /** MLM positions per batch (the rows of the vocabulary projection and of the KD loss). */
  masked_positions: number;
  /** The ramp's target after the last step, and the sparsity measured on the student's kernels. */
  target_sparsity: number;
  final_sparsity: number;
  rss_peak_mb: number;
  /** Only on wasm: the heap's size at the end (= its peak; it never shrinks). */
  wasm_heap_mb?: number;
  /** Only on wasm: each gradient worker's own heap at its peak (each thread has a 4096 MB heap of its own). */
  worker_wasm_heap_mb?: number[];
  /** Live tfjs tensors at the end of the timed steps (both models, masks, optimizer moments). */
  tfjs_tensor_mb: number;
  tfjs_version: string;
  wasm_simd?: boolean;
  wasm_threads?: number;
  profile?: TrainStepProfile;
  /** The PyTorch peer's figures, measured just before, and tokens_per_s / the peer's. */
  peer?: PeerResult;
  ratio_to_peer?: number;
}

type Resolved = Required<Omit<TrainStepBenchOptions, 'backend' | 'threads' | 'peer'>> & { backend?: string; threads: number; peer?: string };

const INTEGER_OPTIONS = ['studentLayers', 'studentHidden', 'teacherLayers', 'teacherHidden', 'vocab', 'seq', 'batch', 'steps'] as const;

/**
 * Problems with the options, one message each. `flag` renders an option's name, so the CLI can
 * name its flags (`--student-hidden`) and the library its fields (`studentHidden`).
 */
export function trainStepIssues(o: Partial<TrainStepBenchOptions>, flag: (key: string) => string = (k) => k): string[] {
  const out: string[] = [];
  for (const k of INTEGER_OPTIONS) {
    const v = o[k];
    if (!Number.isInteger(v) || (v as number) < 1) out.push(`${flag(k)} must be a positive integer, got ${v}`);
  }
  for (const k of ['studentHidden', 'teacherHidden'] as const) {
    const h = o[k];
    if (Number.isInteger(h) && (h as number) >= 64 && (h as number) % headsOf(h as number) !== 0) {
      out.push(`${flag(k)} must be divisible by its head count hidden/64 = ${headsOf(h as number)} (e.g. a multiple of 64), got ${h}`);
    }
  }
  if (Number.isInteger(o.vocab) && (o.vocab as number) < 6) out.push(`${flag('vocab')} must be at least 6 (ids are drawn from [5, vocab)), got ${o.vocab}`);
  if (o.sparsity !== undefined && !(o.sparsity >= 0 && o.sparsity < 1)) out.push(`${flag('sparsity')} must be a number in [0, 1), got ${o.sparsity}`);
  if (o.threads !== undefined && o.threads !== 'auto' && !(Number.isInteger(o.threads) && o.threads >= 1)) {
    out.push(`${flag('threads')} must be 'auto' or a positive integer, got ${o.threads}`);
  }
  if (o.microBatch !== undefined && !(Number.isInteger(o.microBatch) && o.microBatch >= 0)) {
    out.push(`${flag('microBatch')} must be an integer >= 0 (0: no accumulation), got ${o.microBatch}`);
  }
  if (o.recompute !== undefined && !RECOMPUTE_MODES.includes(o.recompute)) out.push(`${flag('recompute')} must be one of ${RECOMPUTE_MODES.join(', ')}, got ${o.recompute}`);
  if (o.warmupSteps !== undefined && !(Number.isInteger(o.warmupSteps) && o.warmupSteps >= 0)) {
    out.push(`${flag('warmupSteps')} must be an integer >= 0, got ${o.warmupSteps}`);
  }
  return out;
}

function resolve(opts: TrainStepBenchOptions, backend: BackendName): Resolved {
  const threads = resolveThreads(opts.threads ?? 'auto', backend);
  return { sparsity: TRAIN_STEP_DEFAULTS.sparsity, warmupSteps: TRAIN_STEP_DEFAULTS.warmupSteps, profile: false, seed: 0, microBatch: 0, recompute: 'none', ...opts, threads };
}

/** torch_ref's heads: max(1, hidden // 64). */
export function headsOf(hidden: number): number {
  return Math.max(1, Math.floor(hidden / 64));
}

/** A model of torch_ref's shape: A = H/64, I = 4H, positions = seq, no dropout. */
export function benchConfig(layers: number, hidden: number, vocab: number, seq: number): BertConfig {
  return defaultConfig({
    vocabSize: vocab,
    hiddenSize: hidden,
    numLayers: layers,
    numHeads: headsOf(hidden),
    intermediateSize: 4 * hidden,
    maxPositions: seq,
    hiddenDropout: 0,
    attentionDropout: 0,
  });
}

/** torch_ref's batch: ids in [5, vocab), each position selected with probability 0.15 (at least one). */
export function randomMlmBatch(vocab: number, batchSize: number, seqLen: number, seed: number): MlmBatch {
  const rng = new Rng(seed);
  const n = batchSize * seqLen;
  const inputIds = Int32Array.from({ length: n }, () => 5 + rng.int(vocab - 5));
  const positions: number[] = [];
  for (let i = 0; i < n; i++) if (rng.next() < MASK_FRACTION) positions.push(i);
  if (positions.length === 0) positions.push(0);
  const maskedPositions = Int32Array.from(positions);
  return {
    batchSize,
    seqLen,
    inputIds,
    tokenTypeIds: new Int32Array(n),
    attentionMask: new Float32Array(n).fill(1),
    maskedPositions,
    maskedLabels: Int32Array.from(maskedPositions, (p) => inputIds[p]),
  };
}

/** The same batch every step, as torch_ref. */
function repeat<B>(batch: B): BatchSource<B> {
  let served = 0;
  return {
    next: () => (served++, batch),
    getState: () => served,
    setState: (s) => {
      served = s as number;
    },
  };
}

// ---- the ramp schedule -------------------------------------------------------------------------

/** The schedule kind name; registered on first use, so configs never see it unless a bench ran. */
export const TORCH_REF_RAMP = 'torch-ref-ramp';

export interface TorchRefRampConfig {
  kind: typeof TORCH_REF_RAMP;
  finalSparsity: number;
  rampSteps: number;
}

/**
 * torch_ref's ramp: after step i (1-based) the masks are recomputed to final * min(1, i / ramp),
 * every step, also after the ramp ends. None of the registered kinds does this (cubic has another
 * curve and stops recomputing at its end step), so the bench adds it to the schedule registry, the
 * extension point schedules have.
 */
export function torchRefRamp(finalSparsity: number, rampSteps = RAMP_STEPS): Schedule {
  return (step) => (step < 1 ? { prune: false, sparsity: 0 } : { prune: true, sparsity: finalSparsity * Math.min(1, step / rampSteps) });
}

const rampKind: ScheduleKind<TorchRefRampConfig> = {
  fields: ['finalSparsity', 'rampSteps'],
  issues(c) {
    const out: string[] = [];
    const f = c.finalSparsity;
    if (typeof f !== 'number' || !(f >= 0 && f < 1)) out.push(`finalSparsity: found ${JSON.stringify(f)}; allowed: a number with 0 <= value < 1`);
    if (!Number.isInteger(c.rampSteps) || (c.rampSteps as number) < 1) out.push(`rampSteps: found ${JSON.stringify(c.rampSteps)}; allowed: an integer >= 1`);
    return out;
  },
  build: (c) => torchRefRamp(c.finalSparsity, c.rampSteps),
};

function rampSchedule(finalSparsity: number): ScheduleConfig {
  if (!scheduleRegistry.has(TORCH_REF_RAMP)) scheduleRegistry.register(TORCH_REF_RAMP, rampKind);
  const config: TorchRefRampConfig = { kind: TORCH_REF_RAMP, finalSparsity, rampSteps: RAMP_STEPS };
  // ScheduleConfig is the closed union of the built-in kinds; the registry accepts any registered one.
  return config as unknown as ScheduleConfig;
}

// ---- hooks that observe the loop -----------------------------------------------------------------

// While tf.profile runs, the engine appends each kernel to activeProfile.kernels: its length at
// each mark splits the profile into steps and phases.
const profiledKernels = (): number => tf.engine().state.activeProfile.kernels?.length ?? 0;

/** Marks the time after init and after every step (last hook: after pruning, so pruning is timed). */
function stepClock(): TrainHook<MlmBatch> & { marks: number[]; kernelMarks: number[] } {
  const marks: number[] = [];
  const kernelMarks: number[] = [];
  const kernels = profiledKernels;
  return {
    name: 'bench-clock',
    marks,
    kernelMarks,
    init() {
      marks.push(performance.now());
      kernelMarks.push(kernels());
    },
    afterStep() {
      marks.push(performance.now());
      kernelMarks.push(kernels());
    },
  };
}

interface PhaseMark {
  phase: StepPhase;
  t: number;
  /** Kernels recorded by tf.profile so far. */
  k: number;
}

/**
 * Marks the end of each phase of a step at the hook calls that bound it: `prepare` after the
 * teacher's forward, `loss` at the end of the student's forward (inside the tape), `release` once
 * the gradients are out, `afterStep` before the pruner (optimizer done) and after it (masks done).
 * Profiling only: hooks with prepare/loss keep the loop on one thread.
 */
function phaseClock(): { marks: PhaseMark[]; beforePruner: TrainHook<MlmBatch>; afterPruner: TrainHook<MlmBatch> } {
  const marks: PhaseMark[] = [];
  const mark = (phase: StepPhase) => marks.push({ phase, t: performance.now(), k: profiledKernels() });
  return {
    marks,
    beforePruner: { name: 'bench-phase-optimizer', afterStep: () => mark('clip + optimizer') },
    afterPruner: {
      name: 'bench-phases',
      prepare: () => mark('teacher forward'),
      loss: (_ctx, _batch, _out, total) => {
        mark('student forward + losses');
        return total;
      },
      release: () => mark('backward'),
      afterStep: () => mark('masks'),
    },
  };
}

interface Run {
  /** Peak heap per thread (recompute, issue 18). */
  memory: TrainMemory;
  clock: ReturnType<typeof stepClock>;
  pruner: PrunerHook<MlmBatch>;
  phases?: PhaseMark[];
}

/** One trainLoop run of `steps` steps of the bench's work on (student, teacher). */
async function runSteps(student: BertModel, teacher: BertModel, batch: MlmBatch, o: Resolved, steps: number, withPhases = false): Promise<Run> {
  const pruner = new PrunerHook<MlmBatch>(student, selectWeights(student.params.keys()), { method: 'magnitude', schedule: rampSchedule(o.sparsity) });
  const distill = distillationHook<MlmBatch>(teacher, { temperature: 2, alphaTask: 1, alphaKd: 1 });
  const clock = stepClock();
  const phases = withPhases ? phaseClock() : undefined;
  const hooks: TrainHook<MlmBatch>[] = phases ? [distill, phases.beforePruner, pruner, phases.afterPruner, clock] : [distill, pruner, clock];
  let memory: TrainMemory;
  try {
    ({ memory } = await trainLoop(
      student,
      mlmObjective,
      repeat(batch),
      {
        steps,
        learningRate: LEARNING_RATE,
        warmupSteps: 0,
        clipNorm: 0,
        seed: o.seed,
        evalEvery: 0,
        checkpointEvery: 0,
        quiet: true,
        label: 'bench',
        threads: o.threads,
        microBatch: o.microBatch,
        recompute: o.recompute,
      },
      hooks,
    ));
  } catch (e) {
    pruner.dispose();
    throw explainFailure(e as Error, Math.max(1, clock.marks.length), o);
  }
  return { clock, pruner, phases: phases?.marks, memory };
}

/**
 * The wasm build addresses 32 bits: when its heap cannot grow past 4 GB, an allocation inside a
 * kernel fails as a bare "memory access out of bounds". Say what happened and what to change.
 */
function explainFailure(e: Error, step: number, o: Resolved): Error {
  const heap = wasmHeapMb();
  const oom = /memory access out of bounds|out of memory|cannot enlarge memory|allocation failed|Aborted\(/i.test(e.message);
  if (heap === undefined || !oom) return e;
  const live = tfjsTensorMb();
  const err = new Error(
    `step ${step} failed on wasm with "${e.message}": the wasm heap is ${heap} MB, its 32-bit limit is 4096 MB ` +
      `(live tensors: ${live} MB; the rest is freed memory the allocator could not reuse for this request). The vocabulary-sized tensors of the MLM and KD ` +
      `losses grow with batch x seq x 15% x vocab (${o.batch} x ${o.seq} x 0.15 x ${o.vocab}), the activations with batch x seq x layers: ` +
      `${o.recompute === 'none' ? 'add --recompute layers, ' : ''}set --micro-batch (rows per forward/backward), or lower --batch, --seq or --vocab.`,
  );
  err.stack = `${err.message}\n${e.stack ?? ''}`;
  return err;
}

/**
 * Sums `kernelTimeMs` per kernel name, largest first. `isKernel` tells kernels from op scopes: a
 * custom-gradient op (e.g. `logSoftmax__op`) is recorded too, with a time that includes the kernels
 * it ran, which are recorded on their own; leave scopes out so nothing is counted twice.
 */
export async function aggregateKernels(
  kernels: ReadonlyArray<{ name: string; kernelTimeMs: unknown }>,
  isKernel: (name: string) => boolean = () => true,
): Promise<KernelTime[]> {
  const byName = new Map<string, { ms: number; calls: number }>();
  for (const k of kernels) {
    if (!isKernel(k.name)) continue;
    // tfjs resolves kernelTimeMs before tf.profile returns, but its type still allows a promise,
    // and a backend without a timer reports { error }.
    const t = await k.kernelTimeMs;
    const ms = typeof t === 'number' ? t : 0;
    const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls += 1;
    byName.set(k.name, e);
  }
  const total = [...byName.values()].reduce((a, e) => a + e.ms, 0);
  return [...byName]
    .map(([kernel, e]) => ({ kernel, ms: round(e.ms, 2), calls: e.calls, share: total > 0 ? round(e.ms / total, 4) : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

/**
 * Tags each Identity call as nested or not. While the gradient tape records, tfjs copies (clones)
 * the tensors a kernel saves for the backward pass from inside that kernel's run: those Identity
 * kernels are timed within their parent as well, and on wasm each is a real memcpy. The flags come
 * in call order, which is the order of the Identity entries in the profile.
 */
function tagNestedCopies(): { nested: boolean[]; restore(): void } {
  const backend = tf.getBackend();
  const original = tf.getKernel('Identity', backend);
  const nested: boolean[] = [];
  if (!original) return { nested, restore() {} };
  tf.unregisterKernel('Identity', backend);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      nested.push(tf.engine().state.kernelDepth > 1);
      return original.kernelFunc(args);
    },
  });
  return {
    nested,
    restore() {
      tf.unregisterKernel('Identity', backend);
      tf.registerKernel(original);
    },
  };
}

/**
 * Profiles one steady-state step: a fresh two-step run inside tf.profile, keeping only the kernels
 * of the second step (the first one makes the optimizer's moment slots).
 */
async function profileStep(student: BertModel, teacher: BertModel, batch: MlmBatch, o: Resolved): Promise<TrainStepProfile> {
  let run: Run | null = null;
  const copies = tagNestedCopies();
  let info: Awaited<ReturnType<typeof tf.profile>>;
  try {
    info = await tf.profile(async () => {
      // One thread: tf.profile sees only this thread's kernels, so the profile is of the whole step.
      run = await runSteps(student, teacher, batch, { ...o, threads: 1 }, 2, true);
      return [];
    });
  } finally {
    copies.restore();
  }
  const { clock, pruner, phases } = run!;
  pruner.dispose();
  const backend = tf.getBackend();
  let identity = 0;
  const tagged = info.kernels.map((k) => ({ k, nested: k.name === 'Identity' && copies.nested[identity++] === true }));
  const step = tagged.slice(clock.kernelMarks[1], clock.kernelMarks[2]);
  // Top level only: op scopes (not registered kernels) and nested copies are inside other entries.
  const top = step.filter((e) => !e.nested && tf.getKernel(e.k.name, backend) !== undefined).map((e) => e.k);
  const kernels = await aggregateKernels(top);
  const [saved] = await aggregateKernels(step.filter((e) => e.nested).map((e) => e.k));
  const calls = await Promise.all(top.map(async (k) => {
    const t = await k.kernelTimeMs;
    return { kernel: k.name, ms: typeof t === 'number' ? round(t, 2) : 0, input_shapes: k.inputShapes };
  }));
  return {
    step_ms: round(clock.marks[2] - clock.marks[1], 1),
    kernel_ms: round(kernels.reduce((a, k) => a + k.ms, 0), 1),
    kernels,
    saved_for_backward: { ms: saved?.ms ?? 0, calls: saved?.calls ?? 0 },
    slowest: calls.sort((a, b) => b.ms - a.ms).slice(0, 10),
    phases: await phaseTimes(phases ?? [], clock, tagged.map((e) => ({ k: e.k, top: !e.nested && tf.getKernel(e.k.name, backend) !== undefined }))),
  };
}

/**
 * Wall and kernel time per phase of the profiled (second) step: each stretch from one mark to the
 * next is the phase the later mark ends; a phase that recurs (one per micro-batch) is summed.
 */
async function phaseTimes(
  marks: PhaseMark[],
  clock: { marks: number[]; kernelMarks: number[] },
  kernels: Array<{ k: { kernelTimeMs: unknown }; top: boolean }>,
): Promise<PhaseTime[]> {
  const totals = new Map<StepPhase, { wall: number; kernel: number }>(STEP_PHASES.map((p) => [p, { wall: 0, kernel: 0 }]));
  let prev = { t: clock.marks[1], k: clock.kernelMarks[1] };
  for (const m of marks.filter((x) => x.t > clock.marks[1] && x.t <= clock.marks[2])) {
    let kernel = 0;
    for (const e of kernels.slice(prev.k, m.k)) {
      const t = e.top ? await e.k.kernelTimeMs : 0;
      kernel += typeof t === 'number' ? t : 0;
    }
    const sum = totals.get(m.phase)!;
    sum.wall += m.t - prev.t;
    sum.kernel += kernel;
    prev = m;
  }
  return STEP_PHASES.map((phase) => ({ phase, wall_ms: round(totals.get(phase)!.wall, 1), kernel_ms: round(totals.get(phase)!.kernel, 1) }));
}

async function wasmFacts(): Promise<Pick<TrainStepBenchResult, 'wasm_simd' | 'wasm_threads'>> {
  if (tf.getBackend() !== 'wasm') return {};
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  return { wasm_simd: simd, wasm_threads: wasm.getThreadsCount() };
}

/** Runs the bench: warm-up steps, then `steps` timed steps (and, with `profile`, one profiled step). */
export async function runTrainStepBench(options: TrainStepBenchOptions): Promise<TrainStepBenchResult> {
  const issues = trainStepIssues(options);
  if (issues.length) throw new Error(`train-step bench: ${issues.join('; ')}`);
  // The peer first, while this process holds no models: the two runs never overlap.
  const peer = options.peer
    ? await runTorchPeer(options.peer, { ...TRAIN_STEP_DEFAULTS, ...options, threads: availableParallelism() })
    : undefined;
  const info = await selectBackend(options.backend);
  const o = resolve(options, info.name);
  const student = createModel(benchConfig(o.studentLayers, o.studentHidden, o.vocab, o.seq), o.seed + 1);
  const teacher = createModel(benchConfig(o.teacherLayers, o.teacherHidden, o.vocab, o.seq), o.seed + 2);
  const batch = randomMlmBatch(o.vocab, o.batch, o.seq, o.seed + 3);
  try {
    const total = o.warmupSteps + o.steps;
    const { clock, pruner, memory } = await runSteps(student, teacher, batch, o, total);
    const each = clock.marks.slice(o.warmupSteps + 1).map((t, i) => t - clock.marks[o.warmupSteps + i]);
    const seconds = (clock.marks[total] - clock.marks[o.warmupSteps]) / 1000;
    const finalSparsity = pruner.sparsity().overall;
    const tensorMb = tfjsTensorMb();
    pruner.dispose();
    const profile = o.profile ? await profileStep(student, teacher, batch, o) : undefined;
    return {
      bench: 'train-step',
      tokens_per_s: Math.round((o.batch * o.seq * o.steps) / seconds),
      step_ms: round((seconds * 1000) / o.steps, 1),
      step_ms_each: each.map((t) => round(t, 1)),
      backend: info.name,
      steps: o.steps,
      warmup_steps: o.warmupSteps,
      student_layers: o.studentLayers,
      student_hidden: o.studentHidden,
      teacher_layers: o.teacherLayers,
      teacher_hidden: o.teacherHidden,
      vocab: o.vocab,
      seq: o.seq,
      batch: o.batch,
      threads: o.threads,
      micro_batch: o.microBatch,
      recompute: o.recompute,
      sparsity: o.sparsity,
      masked_positions: batch.maskedPositions.length,
      target_sparsity: round(torchRefRamp(o.sparsity)(total).sparsity, 4),
      final_sparsity: round(finalSparsity, 4),
      rss_peak_mb: rssPeakMb(),
      ...(info.name === 'wasm' ? { wasm_heap_mb: wasmHeapMb(), worker_wasm_heap_mb: memory.workerWasmHeapMb } : {}),
      tfjs_tensor_mb: tensorMb,
      tfjs_version: info.tfjsVersion,
      ...(await wasmFacts()),
      ...machineFacts(),
      ...(profile ? { profile } : {}),
      ...(peer ? { peer, ratio_to_peer: round((o.batch * o.seq * o.steps) / seconds / peer.tokens_per_s, 3) } : {}),
    };
  } finally {
    disposeModel(student);
    disposeModel(teacher);
  }
}

/** The profile as an aligned text table (top `limit` kernels, then the rest summed). */
export function formatProfile(p: TrainStepProfile, limit = 20): string {
  const rows = p.kernels.slice(0, limit).map((k) => [k.kernel, k.ms.toFixed(1), String(k.calls), `${(k.share * 100).toFixed(1)}%`]);
  const rest = p.kernels.slice(limit);
  if (rest.length) {
    const ms = rest.reduce((a, k) => a + k.ms, 0);
    const share = rest.reduce((a, k) => a + k.share, 0);
    rows.push([`(${rest.length} others)`, ms.toFixed(1), String(rest.reduce((a, k) => a + k.calls, 0)), `${(share * 100).toFixed(1)}%`]);
  }
  const head = ['kernel', 'ms', 'calls', 'share'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const slow = p.slowest.map((c) => `  ${c.ms.toFixed(1).padStart(8)} ms  ${c.kernel} ${c.input_shapes.map((x) => `[${x?.join(',') ?? ''}]`).join(' ')}`);
  const phaseHead = ['phase', 'wall ms', 'kernel ms'];
  const phaseRows = p.phases.map((x) => [x.phase, x.wall_ms.toFixed(1), x.kernel_ms.toFixed(1)]);
  const phaseWidths = phaseHead.map((h, i) => Math.max(h.length, ...phaseRows.map((r) => r[i].length)));
  const phaseLine = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(phaseWidths[i]) : c.padStart(phaseWidths[i]))).join('  ');
  return [
    `one step, profiled: ${p.step_ms} ms wall, ${p.kernel_ms} ms in kernels, of which ${p.saved_for_backward.ms} ms copying ${p.saved_for_backward.calls} tensors saved for the backward pass`,
    phaseLine(phaseHead),
    ...phaseRows.map(phaseLine),
    '',
    line(head),
    ...rows.map(line),
    'slowest calls:',
    ...slow,
  ].join('\n');
}

/** A few readable lines for a terminal (the JSON line has everything). */
export function formatTrainStepResult(r: TrainStepBenchResult): string {
  const workers = r.worker_wasm_heap_mb?.length ? ` (main thread; workers: ${r.worker_wasm_heap_mb.map((h) => `${h} MB`).join(', ')})` : '';
  const heap = r.wasm_heap_mb !== undefined ? `, peak wasm heap ${r.wasm_heap_mb} MB${workers}` : '';
  return [
    `train-step on ${r.backend} (tfjs ${r.tfjs_version}, node ${r.node_version}, ${r.cpu_count} x ${r.cpu_model}, load ${r.load_avg_1m})`,
    `student L${r.student_layers}-H${r.student_hidden}, teacher L${r.teacher_layers}-H${r.teacher_hidden}, vocab ${r.vocab}, batch ${r.batch} x seq ${r.seq} (${r.masked_positions} MLM positions)`,
    `${r.tokens_per_s} tokens/s, ${r.step_ms} ms/step over ${r.steps} steps after ${r.warmup_steps} warm-up, ${r.threads} thread(s)${r.micro_batch ? `, micro-batches of ${r.micro_batch} rows` : ''}${r.recompute === 'layers' ? ', layers recomputed' : ''}`,
    `sparsity ${r.final_sparsity} (ramp target ${r.target_sparsity} of ${r.sparsity}), peak RSS ${r.rss_peak_mb} MB${heap}`,
    ...(r.peer
      ? [`PyTorch peer (torch ${r.peer.torch_version}, ${r.peer.threads} threads): ${r.peer.tokens_per_s} tokens/s, ${r.peer.step_ms} ms/step; ratio ${r.ratio_to_peer}x`, `  ${r.peer.command}`]
      : []),
  ].join('\n');
}
