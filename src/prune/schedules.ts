/**
 * Pruning schedules: *when* to recompute masks and to what sparsity. A schedule is a pure function of
 * the step built from a plain-data config (a discriminated union on `kind`) that round-trips
 * through JSON/YAML, so a run's schedule is fully described by its config file.
 *
 * Step convention: `step` counts completed optimizer steps. Step 0 is the state before training
 * (a pruner evaluates it in its `init` hook); step k is right after the k-th optimizer step
 * (`afterStep`), up to `totalSteps`. A schedule that prunes at step 0 therefore prunes before the
 * first update, and one that prunes at `totalSteps` prunes after the last one (post-training).
 *
 * `prune` means "recompute the masks now, to `sparsity`". Between prune steps the masks are only
 * re-applied (by the pruner, after every optimizer step), never recomputed.
 */
import { Registry } from '../util/registry.js';

export interface ScheduleStep {
  /** Recompute the masks at this step. */
  prune: boolean;
  /** The schedule's target sparsity at this step, in [0, 1). */
  sparsity: number;
}

export type Schedule = (step: number) => ScheduleStep;

/** Gradual magnitude pruning with the cubic ramp of Zhu & Gupta (2017). */
export interface CubicScheduleConfig {
  kind: 'cubic';
  initialSparsity: number;
  finalSparsity: number;
  beginStep: number;
  endStep: number;
  frequency: number;
}

/** Prune once at `beginStep` (default 0) to `sparsity`, then hold. */
export interface ConstantScheduleConfig {
  kind: 'constant';
  sparsity: number;
  beginStep?: number;
}

/** Prune once at `step` to `sparsity`, then hold. */
export interface OneShotScheduleConfig {
  kind: 'one-shot';
  sparsity: number;
  step: number;
}

export type ScheduleConfig = CubicScheduleConfig | ConstantScheduleConfig | OneShotScheduleConfig;

/** What the registry holds per kind: how to check a raw config and how to build the function. */
export interface ScheduleKind<C extends { kind: string } = ScheduleConfig> {
  /** Fields besides `kind`; anything else is reported as unknown (catches typos like `freq`). */
  fields: readonly string[];
  /** Human-readable problems with `config`; `totalSteps` adds the bounds that depend on the run. */
  issues(config: Record<string, unknown>, totalSteps?: number): string[];
  build(config: C): Schedule;
}

/** Thrown for an invalid schedule config; `issues` holds one message per problem. */
export class ScheduleConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid pruning schedule: ${issues.join('; ')}`);
    this.name = 'ScheduleConfigError';
  }
}

// ---------------------------------------------------------------------------------------------
// Schedule functions

/** Schedules are defined on integer steps only; anything else is a caller bug worth surfacing. */
function assertStep(step: number): void {
  if (!Number.isInteger(step)) throw new Error(`schedule step must be an integer; got ${step}`);
}

/**
 * Cubic GMP: s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (t1 - t0))^3, t clamped to [t0, t1].
 * - t < t0: sparsity 0, no pruning (the model trains dense).
 * - t0 <= t < t1: prune when (t - t0) % frequency == 0.
 * - t == t1: always prune, so s_f is reached exactly even when frequency does not divide t1 - t0
 *   (TF-MOT's PolynomialDecay skips t1 in that case and ends below s_f).
 * - t > t1: hold s_f, no pruning. (The IntelLabs reference keeps recomputing at s_f after t1 by
 *   default; with frozen zeros that re-selects the same mask, so we stop instead.)
 * Between prune steps `sparsity` follows the curve; the masks stay at the last prune step's value.
 */
export function cubicSchedule(c: CubicScheduleConfig): Schedule {
  const { initialSparsity: si, finalSparsity: sf, beginStep: t0, endStep: t1, frequency } = c;
  return (step) => {
    assertStep(step);
    if (step < t0) return { prune: false, sparsity: 0 };
    if (step >= t1) return { prune: step === t1, sparsity: sf };
    // Return s_i exactly at t0 (s_f + (s_i - s_f) need not round back to s_i).
    const remaining = 1 - (step - t0) / (t1 - t0);
    const sparsity = step === t0 ? si : sf + (si - sf) * remaining ** 3;
    return { prune: (step - t0) % frequency === 0, sparsity };
  };
}

/** Prune once at `at` to `sparsity`; dense before, held after. */
function pruneOnceAt(at: number, sparsity: number): Schedule {
  return (step) => {
    assertStep(step);
    if (step < at) return { prune: false, sparsity: 0 };
    return { prune: step === at, sparsity };
  };
}

export function constantSchedule(c: ConstantScheduleConfig): Schedule {
  return pruneOnceAt(c.beginStep ?? 0, c.sparsity);
}

export function oneShotSchedule(c: OneShotScheduleConfig): Schedule {
  return pruneOnceAt(c.step, c.sparsity);
}

// ---------------------------------------------------------------------------------------------
// Validation helpers: every message names the field, what was found and what is allowed.

function show(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  return JSON.stringify(value) ?? String(value);
}

function issue(field: string, found: unknown, allowed: string): string {
  return `${field}: found ${show(found)}; allowed: ${allowed}`;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isSparsity = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v < 1;

/** A step field: integer in [min, totalSteps] (upper bound only when totalSteps is known). */
function checkStep(
  out: string[],
  c: Record<string, unknown>,
  field: string,
  min: number,
  minText: string,
  totalSteps?: number,
): boolean {
  const v = c[field];
  const upper = totalSteps === undefined ? '' : ` and <= totalSteps (${totalSteps})`;
  if (!isInt(v) || v < min || (totalSteps !== undefined && v > totalSteps)) {
    out.push(issue(field, v, `an integer ${minText}${upper}`));
    return false;
  }
  return true;
}

function checkSparsity(out: string[], c: Record<string, unknown>, field: string): boolean {
  if (!isSparsity(c[field])) {
    out.push(issue(field, c[field], 'a number with 0 <= value < 1'));
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Registry of kinds

const cubicKind: ScheduleKind<CubicScheduleConfig> = {
  fields: ['initialSparsity', 'finalSparsity', 'beginStep', 'endStep', 'frequency'],
  issues(c, totalSteps) {
    const out: string[] = [];
    const siOk = checkSparsity(out, c, 'initialSparsity');
    if (checkSparsity(out, c, 'finalSparsity') && siOk) {
      const si = c.initialSparsity as number;
      if ((c.finalSparsity as number) < si) {
        out.push(issue('finalSparsity', c.finalSparsity, `a number with initialSparsity (${si}) <= value < 1`));
      }
    }
    // endStep's lower bound is beginStep + 1 when beginStep itself is valid.
    if (checkStep(out, c, 'beginStep', 0, '>= 0')) {
      const t0 = c.beginStep as number;
      checkStep(out, c, 'endStep', t0 + 1, `> beginStep (${t0})`, totalSteps);
    } else {
      checkStep(out, c, 'endStep', 1, '> beginStep', totalSteps);
    }
    if (!isInt(c.frequency) || c.frequency < 1) {
      out.push(issue('frequency', c.frequency, 'an integer >= 1'));
    }
    return out;
  },
  build: cubicSchedule,
};

const constantKind: ScheduleKind<ConstantScheduleConfig> = {
  fields: ['sparsity', 'beginStep'],
  issues(c, totalSteps) {
    const out: string[] = [];
    checkSparsity(out, c, 'sparsity');
    if (c.beginStep !== undefined) checkStep(out, c, 'beginStep', 0, '>= 0', totalSteps);
    return out;
  },
  build: constantSchedule,
};

const oneShotKind: ScheduleKind<OneShotScheduleConfig> = {
  fields: ['sparsity', 'step'],
  issues(c, totalSteps) {
    const out: string[] = [];
    checkSparsity(out, c, 'sparsity');
    checkStep(out, c, 'step', 0, '>= 0', totalSteps);
    return out;
  },
  build: oneShotSchedule,
};

/** Schedule kinds by the `kind` name used in config files. */
export const scheduleRegistry = new Registry<ScheduleKind<any>>('pruning schedule')
  .register('cubic', cubicKind)
  .register('constant', constantKind)
  .register('one-shot', oneShotKind);

// ---------------------------------------------------------------------------------------------
// Public entry points

/**
 * Every problem with a raw (e.g. freshly parsed) schedule config, as messages; empty when valid.
 * With `totalSteps`, steps must also fit in the run (`endStep`, `beginStep`, `step` <= totalSteps).
 */
export function scheduleIssues(config: unknown, totalSteps?: number): string[] {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    return [issue('schedule', config, "an object with a 'kind' field")];
  }
  const c = config as Record<string, unknown>;
  if (typeof c.kind !== 'string' || !scheduleRegistry.has(c.kind)) {
    return [issue('kind', c.kind, scheduleRegistry.names().join(', '))];
  }
  const kind = scheduleRegistry.get(c.kind);
  const unknown = Object.keys(c).filter((k) => k !== 'kind' && !kind.fields.includes(k));
  const out = unknown.map(
    (k) => `${k}: unknown field for kind '${c.kind}'; allowed fields: kind, ${kind.fields.join(', ')}`,
  );
  return out.concat(kind.issues(c, totalSteps));
}

/**
 * Checks a raw schedule config against the run length and returns it typed; throws a
 * ScheduleConfigError listing every problem otherwise.
 */
export function validateSchedule(config: unknown, totalSteps?: number): ScheduleConfig {
  const issues = scheduleIssues(config, totalSteps);
  if (issues.length > 0) throw new ScheduleConfigError(issues);
  return config as ScheduleConfig;
}

/** Builds the schedule function for a config, after checking it (without run-length bounds). */
export function makeSchedule(config: ScheduleConfig): Schedule {
  validateSchedule(config);
  return scheduleRegistry.get(config.kind).build(config);
}

/** The steps in [firstStep, lastStep] at which `schedule` recomputes masks (for logs and tests). */
export function pruneSteps(schedule: Schedule, lastStep: number, firstStep = 0): number[] {
  const steps: number[] = [];
  for (let t = firstStep; t <= lastStep; t++) if (schedule(t).prune) steps.push(t);
  return steps;
}
