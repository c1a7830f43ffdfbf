/**
 * Pruning schedules: *when* to recompute masks and to what sparsity. This module owns the schedule
 * kinds: each kind is one entry of `scheduleRegistry` holding its config schemas (zod), the
 * conversion from the pipeline's form to steps, and the schedule function. The pipeline's
 * `pruning.schedule` is parsed by `PipelineScheduleSchema`, derived from the registry, so adding a
 * kind touches this module (and its test) only.
 *
 * Two forms of a config, both plain data that round-trip through JSON/YAML (as tfmot's schedules):
 * - the pipeline form, in fractions of the stage's steps (`beginFraction`, `endFraction`), with
 *   defaults, as written in a pipeline file;
 * - the step form (`beginStep`, `endStep`), what the pruner runs and the report shows.
 *
 * Step convention: `step` counts completed optimizer steps. Step 0 is the state before training
 * (a pruner evaluates it in its `init` hook); step k is right after the k-th optimizer step
 * (`afterStep`), up to `totalSteps`. A schedule that prunes at step 0 therefore prunes before the
 * first update, and one that prunes at `totalSteps` prunes after the last one (post-training).
 *
 * `prune` means "recompute the masks now, to `sparsity`". Between prune steps the masks are only
 * re-applied (by the pruner, after every optimizer step), never recomputed.
 */
import { z } from 'zod';
import { intIn, numIn } from '../util/ranges.js';
import { Registry } from '../util/registry.js';

export interface ScheduleStep {
  /** Recompute the masks at this step. */
  prune: boolean;
  /** The schedule's target sparsity at this step, in [0, 1). */
  sparsity: number;
}

export type Schedule = (step: number) => ScheduleStep;

// ---------------------------------------------------------------------------------------------
// Field schemas shared by the kinds

const sparsity = numIn('[0, 1)', 'the fraction of weights set to zero');
const step = intIn(0, 10_000_000);
const fraction = numIn('[0, 1]', "a fraction of the stage's steps");
const frequency = intIn(1, 1_000_000, 'steps between mask updates');
/** The ramp's exponent: 3 is Zhu & Gupta's cubic, 1 a straight line. */
const power = numIn('(0, 100]', "the ramp's exponent: 3 is the cubic, 1 a straight line");

const rampOrder = (c: { initialSparsity: number; finalSparsity: number }) => c.finalSparsity >= c.initialSparsity;
const rampOrderError = { message: 'must be >= initialSparsity', path: ['finalSparsity'] };

/** Pipeline form of the polynomial ramp: Prune OFA's defaults, 0 -> 90% over the first half. */
function rampPipelineSchema<K extends string>(kind: K) {
  return z.strictObject({
    kind: z.literal(kind),
    initialSparsity: sparsity.default(0),
    finalSparsity: sparsity.default(0.9),
    /** Fractions of the stage's steps (Prune OFA: 0 -> 0.5, then hold). */
    beginFraction: fraction.default(0),
    endFraction: fraction.default(0.5),
    /** Recompute masks every N steps while ramping. */
    frequency: frequency.default(10),
  });
}
const polynomialPipelineSchema = rampPipelineSchema('polynomial')
  .extend({ power: power.default(3) })
  .refine(rampOrder, rampOrderError);
const presetPipelineSchema = (kind: string) => rampPipelineSchema(kind).refine(rampOrder, rampOrderError);
type RampPipelineConfig = z.infer<ReturnType<typeof rampPipelineSchema>> & { power?: number };

/** Pipeline form of the one-shot schedule: prune at beginFraction, then hold. */
function oncePipelineSchema<K extends string>(kind: K) {
  return z.strictObject({ kind: z.literal(kind), finalSparsity: sparsity.default(0.9), beginFraction: fraction.default(0) });
}
type OncePipelineConfig = z.infer<ReturnType<typeof oncePipelineSchema>>;

/** Steps of a ramp from fractions of `totalSteps`; the ramp is at least one step long. */
function rampSteps(c: { beginFraction: number; endFraction: number }, totalSteps: number): { beginStep: number; endStep: number } {
  const beginStep = Math.round(c.beginFraction * totalSteps);
  const endStep = Math.max(beginStep + 1, Math.round(c.endFraction * totalSteps));
  return { beginStep, endStep };
}

// ---------------------------------------------------------------------------------------------
// Schedule functions

/** Schedules are defined on integer steps only; anything else is a caller bug worth surfacing. */
function assertStep(t: number): void {
  if (!Number.isInteger(t)) throw new Error(`schedule step must be an integer; got ${t}`);
}

interface RampConfig {
  initialSparsity: number;
  finalSparsity: number;
  beginStep: number;
  endStep: number;
  frequency: number;
}

/**
 * Polynomial ramp: s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (t1 - t0))^power, t clamped to [t0, t1].
 * - t < t0: sparsity 0, no pruning (the model trains dense).
 * - t0 <= t < t1: prune when (t - t0) % frequency == 0.
 * - t == t1: always prune, so s_f is reached exactly even when frequency does not divide t1 - t0
 *   (TF-MOT's PolynomialDecay skips t1 in that case and ends below s_f).
 * - t > t1: hold s_f, no pruning. (The IntelLabs reference keeps recomputing at s_f after t1 by
 *   default; with frozen zeros that re-selects the same mask, so we stop instead.)
 * Between prune steps `sparsity` follows the curve; the masks stay at the last prune step's value.
 */
function rampSchedule(c: RampConfig, power: number): Schedule {
  const { initialSparsity: si, finalSparsity: sf, beginStep: t0, endStep: t1, frequency: every } = c;
  return (t) => {
    assertStep(t);
    if (t < t0) return { prune: false, sparsity: 0 };
    if (t >= t1) return { prune: t === t1, sparsity: sf };
    // Return s_i exactly at t0 (s_f + (s_i - s_f) need not round back to s_i).
    const remaining = 1 - (t - t0) / (t1 - t0);
    const s = t === t0 ? si : sf + (si - sf) * remaining ** power;
    return { prune: (t - t0) % every === 0, sparsity: s };
  };
}

/** Prune once at `at` to `target`; dense before, held after. */
function pruneOnceAt(at: number, target: number): Schedule {
  return (t) => {
    assertStep(t);
    if (t < at) return { prune: false, sparsity: 0 };
    return { prune: t === at, sparsity: target };
  };
}

// ---------------------------------------------------------------------------------------------
// The kinds

/** What the registry holds per kind. */
export interface ScheduleKind<S extends { kind: string } = { kind: string }, P = never> {
  /** The step form (strict; `kind` included): what `makeSchedule` accepts. */
  schema: z.ZodType<S>;
  /**
   * The pipeline form (without `kind`) and its conversion to steps; absent for kinds a pipeline
   * file cannot name (e.g. the train-step bench's ramp, registered at run time).
   */
  pipeline?: { schema: z.ZodObject; toSteps(config: P, totalSteps: number): S };
  build(config: S): Schedule;
}

const rampStepFields = { initialSparsity: sparsity, finalSparsity: sparsity, beginStep: step, endStep: step, frequency };
const endAfterBegin = (c: { beginStep: number; endStep: number }) => c.endStep > c.beginStep;
const endAfterBeginError = { message: 'must be > beginStep', path: ['endStep'] };

/** Gradual magnitude pruning on the polynomial ramp (`rampSchedule`) at any power. */
export const PolynomialScheduleSchema = z
  .strictObject({ kind: z.literal('polynomial'), power, ...rampStepFields })
  .refine(endAfterBegin, endAfterBeginError)
  .refine(rampOrder, rampOrderError);
export type PolynomialScheduleConfig = z.infer<typeof PolynomialScheduleSchema>;

/** A preset of the polynomial ramp: its power fixed by the kind's name. */
function presetSchema<K extends string>(kind: K) {
  return z
    .strictObject({ kind: z.literal(kind), ...rampStepFields })
    .refine(endAfterBegin, endAfterBeginError)
    .refine(rampOrder, rampOrderError);
}
/** The polynomial ramp at power 3: the cubic of Zhu & Gupta (2017), Prune OFA's schedule. */
export const CubicScheduleSchema = presetSchema('cubic');
export type CubicScheduleConfig = z.infer<typeof CubicScheduleSchema>;
/** The polynomial ramp at power 1 (e.g. for a short stage where the cubic front-loads too much). */
export const LinearScheduleSchema = presetSchema('linear');
export type LinearScheduleConfig = z.infer<typeof LinearScheduleSchema>;

/** Prune once at `step` (default 0, before the first update) to `sparsity`, then hold. */
function oneShotSchema<K extends string>(kind: K) {
  return z.strictObject({ kind: z.literal(kind), sparsity, step: step.default(0) });
}
export const OneShotScheduleSchema = oneShotSchema('one-shot');
export type OneShotScheduleConfig = z.input<typeof OneShotScheduleSchema>;
/** `constant` (tfmot's ConstantSparsity): the one-shot schedule under the name older pipelines use. */
export const ConstantScheduleSchema = oneShotSchema('constant');
export type ConstantScheduleConfig = z.input<typeof ConstantScheduleSchema>;

export type ScheduleConfig = PolynomialScheduleConfig | CubicScheduleConfig | LinearScheduleConfig | OneShotScheduleConfig | ConstantScheduleConfig;

/** A config of any registered kind, also one registered at run time (checked by its kind's schema). */
export type RegisteredScheduleConfig = ScheduleConfig | { kind: string; [field: string]: unknown };

const rampStepsOf = (c: RampPipelineConfig, n: number) => ({
  initialSparsity: c.initialSparsity,
  finalSparsity: c.finalSparsity,
  ...rampSteps(c, n),
  frequency: c.frequency,
});

const polynomialKind: ScheduleKind<PolynomialScheduleConfig, RampPipelineConfig> = {
  schema: PolynomialScheduleSchema,
  pipeline: {
    schema: polynomialPipelineSchema as unknown as z.ZodObject,
    toSteps: (c, n) => ({ kind: 'polynomial', power: c.power ?? 3, ...rampStepsOf(c, n) }),
  },
  build: (c) => rampSchedule(c, c.power),
};

/** A named preset of the polynomial kind: the same ramp, its power fixed. */
function polynomialPreset(kind: 'cubic' | 'linear', power: number): ScheduleKind<CubicScheduleConfig | LinearScheduleConfig, RampPipelineConfig> {
  return {
    schema: presetSchema(kind) as z.ZodType<CubicScheduleConfig | LinearScheduleConfig>,
    pipeline: { schema: presetPipelineSchema(kind) as unknown as z.ZodObject, toSteps: (c, n) => ({ kind, ...rampStepsOf(c, n) }) },
    build: (c) => rampSchedule(c, power),
  };
}

function oneShotKind(kind: 'one-shot' | 'constant'): ScheduleKind<OneShotScheduleConfig | ConstantScheduleConfig, OncePipelineConfig> {
  const schema = oneShotSchema(kind);
  return {
    schema: schema as z.ZodType<OneShotScheduleConfig | ConstantScheduleConfig>,
    pipeline: { schema: oncePipelineSchema(kind), toSteps: (c, n) => ({ kind, sparsity: c.finalSparsity, step: Math.round(c.beginFraction * n) }) },
    build: (c) => {
      const { step: at, sparsity: target } = schema.parse(c);
      return pruneOnceAt(at, target);
    },
  };
}

/** Schedule kinds by the `kind` name used in config files. */
// Kinds differ in their config types; the registry holds them side by side (each kind's zod schema checks its own).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const scheduleRegistry = new Registry<ScheduleKind<any, any>>('pruning schedule')
  .register('polynomial', polynomialKind)
  .register('cubic', polynomialPreset('cubic', 3))
  .register('linear', polynomialPreset('linear', 1))
  .register('one-shot', oneShotKind('one-shot'))
  .register('constant', oneShotKind('constant'));

// ---------------------------------------------------------------------------------------------
// The pipeline form

/** The kinds a pipeline file can name (those registered with a pipeline form when this module loaded). */
export const PIPELINE_SCHEDULE_KINDS = scheduleRegistry.names().filter((k) => scheduleRegistry.get(k).pipeline);

/** A pipeline's `pruning.schedule`: `kind` plus that kind's pipeline fields, defaults filled in. */
export type PipelineScheduleConfig = RampPipelineConfig | OncePipelineConfig;
export const PipelineScheduleSchema = z.discriminatedUnion(
  'kind',
  PIPELINE_SCHEDULE_KINDS.map((kind) => scheduleRegistry.get(kind).pipeline!.schema) as unknown as [z.ZodObject, ...z.ZodObject[]],
) as unknown as z.ZodType<PipelineScheduleConfig, PipelineScheduleConfig>;

/** The step form of a pipeline schedule for a stage of `totalSteps` steps. */
export function scheduleForSteps(config: PipelineScheduleConfig, totalSteps: number): ScheduleConfig {
  return scheduleRegistry.get(config.kind).pipeline!.toSteps(config, totalSteps);
}

// ---------------------------------------------------------------------------------------------
// Building schedules

/** Thrown for an invalid step-form schedule config; `issues` holds one message per problem. */
export class ScheduleConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid pruning schedule: ${issues.join('; ')}`);
    this.name = 'ScheduleConfigError';
  }
}

/** Checks a step-form config against its kind's schema; returns it typed or throws listing every problem. */
export function validateSchedule(config: unknown): ScheduleConfig {
  const kind = (config as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string' || !scheduleRegistry.has(kind)) {
    throw new ScheduleConfigError([`kind: found ${JSON.stringify(kind) ?? 'nothing'}; allowed: ${scheduleRegistry.names().join(', ')}`]);
  }
  const r = scheduleRegistry.get(kind).schema.safeParse(config);
  if (!r.success) {
    throw new ScheduleConfigError(
      r.error.issues.map((i) => {
        const field = i.path.length ? i.path.join('.') : kind;
        if (i.code === 'unrecognized_keys') return `${i.keys.join(', ')}: unknown field for kind '${kind}'`;
        return `${field}: ${i.message}; found ${JSON.stringify((config as Record<PropertyKey, unknown>)[i.path[0] as PropertyKey]) ?? 'nothing (missing)'}`;
      }),
    );
  }
  return r.data as ScheduleConfig;
}

/** Builds the schedule function for a step-form config, after checking it. */
export function makeSchedule(config: RegisteredScheduleConfig): Schedule {
  validateSchedule(config);
  return scheduleRegistry.get(config.kind).build(config);
}

/** The steps in [firstStep, lastStep] at which `schedule` recomputes masks (for logs and tests). */
export function pruneSteps(schedule: Schedule, lastStep: number, firstStep = 0): number[] {
  const steps: number[] = [];
  for (let t = firstStep; t <= lastStep; t++) if (schedule(t).prune) steps.push(t);
  return steps;
}
