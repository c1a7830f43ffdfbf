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
import { createModel, disposeModel, type BertModel } from '../model/bert.js';
import { MODEL_LIMITS } from '../model/config.js';
import { PrunerHook } from '../prune/pruner.js';
import { selectWeights } from '../prune/select.js';
import type { TrainHook } from '../train/hooks.js';
import { trainLoop } from '../train/loop.js';
import { resolveThreads } from '../train/parallel.js';
import { mlmObjective } from '../train/tasks.js';
import { benchConfig, headsOf, randomMlmBatch, repeatBatch, torchRefRamp, torchRefRampConfig } from './fixtures.js';
import { RECOMPUTE_MODES, type RecomputeMode } from '../model/recompute.js';
import type { TrainMemory } from '../train/memory-watch.js';
import { runTorchPeer, type PeerResult, type StepShape } from './peer.js';
import { phaseClock, profileStep, stepClock, type PhaseMark, type TrainStepProfile } from './profiler.js';
import { machineFacts, rssPeakMb, round, tfjsTensorMb, wasmHeapMb, type MachineFacts } from '../util/memory.js';
import { fractionIssue, intIssue, issues } from './issues.js';

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

/** torch_ref's learning rate (constant there; here the loop's linear decay, which costs the same). */
const LEARNING_RATE = 1e-4;

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
  measured_sparsity: number;
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

/** The largest values: the model limits (src/model/config.ts), the pipeline's batch limit, a million steps. */
const INTEGER_LIMITS: Record<(typeof INTEGER_OPTIONS)[number], number> = {
  studentLayers: MODEL_LIMITS.numLayers,
  studentHidden: MODEL_LIMITS.hiddenSize,
  teacherLayers: MODEL_LIMITS.numLayers,
  teacherHidden: MODEL_LIMITS.hiddenSize,
  vocab: MODEL_LIMITS.vocabSize,
  seq: MODEL_LIMITS.maxPositions,
  batch: 65536,
  steps: 1_000_000,
};

/**
 * Problems with the options, one message each. `flag` renders an option's name, so the CLI can
 * name its flags (`--student-hidden`) and the library its fields (`studentHidden`).
 */
export function trainStepIssues(o: Partial<TrainStepBenchOptions>, flag: (key: string) => string = (k) => k): string[] {
  const out = issues(...INTEGER_OPTIONS.map((k) => intIssue(flag(k), o[k], 1, INTEGER_LIMITS[k])));
  for (const k of ['studentHidden', 'teacherHidden'] as const) {
    const h = o[k];
    if (Number.isInteger(h) && (h as number) >= 64 && (h as number) % headsOf(h as number) !== 0) {
      out.push(`${flag(k)} must be divisible by its head count hidden/64 = ${headsOf(h as number)} (e.g. a multiple of 64), got ${h}`);
    }
  }
  if (Number.isInteger(o.vocab) && (o.vocab as number) < 6) out.push(`${flag('vocab')} must be at least 6 (ids are drawn from [5, vocab)), got ${o.vocab}`);
  if (o.sparsity !== undefined) out.push(...issues(fractionIssue(flag('sparsity'), o.sparsity)));
  if (o.threads !== undefined && o.threads !== 'auto' && !(Number.isInteger(o.threads) && o.threads >= 1)) {
    out.push(`${flag('threads')} must be 'auto' or a positive integer, got ${o.threads}`);
  }
  if (o.microBatch !== undefined && !(Number.isInteger(o.microBatch) && o.microBatch >= 0)) {
    out.push(`${flag('microBatch')} must be an integer >= 0 (0: no accumulation), got ${o.microBatch}`);
  }
  if (o.recompute !== undefined && !RECOMPUTE_MODES.includes(o.recompute))
    out.push(`${flag('recompute')} must be one of ${RECOMPUTE_MODES.join(', ')}, got ${o.recompute}`);
  if (o.warmupSteps !== undefined && !(Number.isInteger(o.warmupSteps) && o.warmupSteps >= 0)) {
    out.push(`${flag('warmupSteps')} must be an integer >= 0, got ${o.warmupSteps}`);
  }
  return out;
}

function resolve(opts: TrainStepBenchOptions, backend: BackendName): Resolved {
  const threads = resolveThreads(opts.threads ?? 'auto', backend);
  return {
    sparsity: TRAIN_STEP_DEFAULTS.sparsity,
    warmupSteps: TRAIN_STEP_DEFAULTS.warmupSteps,
    profile: false,
    seed: 0,
    microBatch: 0,
    recompute: 'none',
    ...opts,
    threads,
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
  const pruner = new PrunerHook<MlmBatch>(student, selectWeights(student.params.keys()), { method: 'magnitude', schedule: torchRefRampConfig(o.sparsity) });
  const distill = distillationHook<MlmBatch>(teacher, { temperature: 2, alphaTask: 1, alphaKd: 1 });
  const clock = stepClock();
  const phases = withPhases ? phaseClock() : undefined;
  const hooks: TrainHook<MlmBatch>[] = phases ? [distill, phases.beforePruner, pruner, phases.afterPruner, clock] : [distill, pruner, clock];
  let memory: TrainMemory;
  try {
    ({ memory } = await trainLoop(
      student,
      mlmObjective,
      repeatBatch(batch),
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
  const peer = options.peer ? await runTorchPeer(options.peer, { ...TRAIN_STEP_DEFAULTS, ...options, threads: availableParallelism() }) : undefined;
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
    const measuredSparsity = pruner.sparsity().overall;
    const tensorMb = tfjsTensorMb();
    pruner.dispose();
    // One thread: tf.profile sees only this thread's kernels, so the profile is of the whole step.
    const profile = o.profile
      ? await profileStep(async () => {
          const run = await runSteps(student, teacher, batch, { ...o, threads: 1 }, 2, true);
          run.pruner.dispose();
          return run;
        })
      : undefined;
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
      measured_sparsity: round(measuredSparsity, 4),
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

/** A few readable lines for a terminal (the JSON line has everything). */
export function formatTrainStepResult(r: TrainStepBenchResult): string {
  const workers = r.worker_wasm_heap_mb?.length ? ` (main thread; workers: ${r.worker_wasm_heap_mb.map((h) => `${h} MB`).join(', ')})` : '';
  const heap = r.wasm_heap_mb !== undefined ? `, peak wasm heap ${r.wasm_heap_mb} MB${workers}` : '';
  return [
    `train-step on ${r.backend} (tfjs ${r.tfjs_version}, node ${r.node_version}, ${r.cpu_count} x ${r.cpu_model}, load ${r.load_avg_1m})`,
    `student L${r.student_layers}-H${r.student_hidden}, teacher L${r.teacher_layers}-H${r.teacher_hidden}, vocab ${r.vocab}, batch ${r.batch} x seq ${r.seq} (${r.masked_positions} MLM positions)`,
    `${r.tokens_per_s} tokens/s, ${r.step_ms} ms/step over ${r.steps} steps after ${r.warmup_steps} warm-up, ${r.threads} thread(s)${r.micro_batch ? `, micro-batches of ${r.micro_batch} rows` : ''}${r.recompute === 'layers' ? ', layers recomputed' : ''}`,
    `sparsity ${r.measured_sparsity} (ramp target ${r.target_sparsity} of ${r.sparsity}), peak RSS ${r.rss_peak_mb} MB${heap}`,
    ...(r.peer
      ? [
          `PyTorch peer (torch ${r.peer.torch_version}, ${r.peer.threads} threads): ${r.peer.tokens_per_s} tokens/s, ${r.peer.step_ms} ms/step; ratio ${r.ratio_to_peer}x`,
          `  ${r.peer.command}`,
        ]
      : []),
  ].join('\n');
}
