/**
 * A profiler for training steps: kernel times by kernel name, the slowest calls, the copies of
 * tensors saved for the backward pass, and the time of each phase of a step, from hooks that mark
 * the loop. It wraps tf.profile; for the duration of a profile it swaps the backend's global
 * `Identity` kernel for a tagging wrapper (restored afterwards), so run nothing else meanwhile.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MlmBatch } from '../data/types.js';
import type { TrainHook } from '../train/hooks.js';
import { round } from '../util/memory.js';

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

// While tf.profile runs, the engine appends each kernel to activeProfile.kernels: its length at
// each mark splits the profile into steps and phases.
const profiledKernels = (): number => tf.engine().state.activeProfile.kernels?.length ?? 0;

export type StepClock = TrainHook<MlmBatch> & { marks: number[]; kernelMarks: number[] };

/** Marks the time after init and after every step (last hook: after pruning, so pruning is timed). */
export function stepClock(): StepClock {
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

export interface PhaseMark {
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
export function phaseClock(): { marks: PhaseMark[]; beforePruner: TrainHook<MlmBatch>; afterPruner: TrainHook<MlmBatch> } {
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

/** What a profiled run must report: its step clock and, optionally, its phase marks. */
export interface ProfiledRun {
  clock: StepClock;
  phases?: PhaseMark[];
}

/**
 * Profiles one steady-state step: `run` trains two steps (on one thread: tf.profile sees only this
 * thread's kernels) inside tf.profile with a `stepClock()` (and optionally `phaseClock()`) among
 * its hooks; only the kernels of the second step are kept (the first one makes the optimizer's
 * moment slots). While it runs, the backend's Identity kernel is swapped for a tagging wrapper
 * (see tagNestedCopies) and restored afterwards, also on error.
 */
export async function profileStep(twoSteps: () => Promise<ProfiledRun>): Promise<TrainStepProfile> {
  let run: ProfiledRun | null = null;
  const copies = tagNestedCopies();
  let info: Awaited<ReturnType<typeof tf.profile>>;
  try {
    info = await tf.profile(async () => {
      run = await twoSteps();
      return [];
    });
  } finally {
    copies.restore();
  }
  const { clock, phases } = run!;
  const backend = tf.getBackend();
  let identity = 0;
  const tagged = info.kernels.map((k) => ({ k, nested: k.name === 'Identity' && copies.nested[identity++] === true }));
  const step = tagged.slice(clock.kernelMarks[1], clock.kernelMarks[2]);
  // Top level only: op scopes (not registered kernels) and nested copies are inside other entries.
  const top = step.filter((e) => !e.nested && tf.getKernel(e.k.name, backend) !== undefined).map((e) => e.k);
  const kernels = await aggregateKernels(top);
  const [saved] = await aggregateKernels(step.filter((e) => e.nested).map((e) => e.k));
  const calls = await Promise.all(
    top.map(async (k) => {
      const t = await k.kernelTimeMs;
      return { kernel: k.name, ms: typeof t === 'number' ? round(t, 2) : 0, input_shapes: k.inputShapes };
    }),
  );
  return {
    step_ms: round(clock.marks[2] - clock.marks[1], 1),
    kernel_ms: round(
      kernels.reduce((a, k) => a + k.ms, 0),
      1,
    ),
    kernels,
    saved_for_backward: { ms: saved?.ms ?? 0, calls: saved?.calls ?? 0 },
    slowest: calls.sort((a, b) => b.ms - a.ms).slice(0, 10),
    phases: await phaseTimes(
      phases ?? [],
      clock,
      tagged.map((e) => ({ k: e.k, top: !e.nested && tf.getKernel(e.k.name, backend) !== undefined })),
    ),
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
