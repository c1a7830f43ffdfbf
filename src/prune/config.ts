/**
 * A pipeline's `pruning` block: the mask method, which weights, and the schedule (whose kinds and
 * fields belong to schedules.ts). This module turns it into the pruner's settings for a stage of a
 * given length; the pipeline schema embeds `PruningSchema` as is.
 *
 * The schedule is written either as an object, `schedule: { kind: cubic, finalSparsity: 0.9, ... }`,
 * or in the flat form older pipelines use, `schedule: cubic` with the kind's fields beside it
 * (`finalSparsity`, `endFraction`, ...); both parse to the same config.
 */
import { z } from 'zod';
import { intIn, numIn } from '../util/ranges.js';
import { maskRegistry } from './masks.js';
import type { PrunerSettings } from './pruner.js';
import { PipelineScheduleSchema, scheduleForSteps, type ScheduleConfig } from './schedules.js';
import { DEFAULT_INCLUDE } from './select.js';

const blockSide = intIn(1, 4096, 'rows or columns of a block');

/** Fields of `pruning` itself; in the flat form every other field belongs to the schedule. */
const OWN_FIELDS = ['method', 'block', 'include', 'exclude', 'overrides', 'schedule'];

/** The flat form (`schedule: <kind>` or none, the kind's fields beside it) as the object form. */
function nestSchedule(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const r = raw as Record<string, unknown>;
  if (typeof r.schedule === 'object' && r.schedule !== null) {
    return 'kind' in r.schedule ? r : { ...r, schedule: { kind: 'cubic', ...r.schedule } };
  }
  if (r.schedule !== undefined && typeof r.schedule !== 'string') return r;
  const own: Record<string, unknown> = {};
  const schedule: Record<string, unknown> = { kind: r.schedule ?? 'cubic' };
  for (const [k, v] of Object.entries(r)) (OWN_FIELDS.includes(k) ? own : schedule)[k] = v;
  return { ...own, schedule };
}

const methods = maskRegistry.names() as [string, ...string[]];

export const PruningSchema = z.preprocess(
  nestSchedule,
  z
    .strictObject({
      /** Mask function: per tensor (magnitude, block) or one threshold over the weights (global-magnitude). */
      method: z.enum(methods).default('magnitude'),
      /** Block shape [rows, cols] over a [in, out] kernel; required by method: block. */
      block: z.tuple([blockSide, blockSide]).optional(),
      /** When and how much (schedules.ts): kind cubic (default), linear, constant or one-shot. */
      schedule: PipelineScheduleSchema.default(PipelineScheduleSchema.parse({ kind: 'cubic' })),
      include: z.array(z.string()).optional(),
      exclude: z.array(z.string()).default([]),
      /** Weights matching `match` get their own schedule: the stage's, ending at this finalSparsity. */
      overrides: z.array(z.strictObject({ match: z.string(), finalSparsity: numIn('[0, 1)', 'the fraction of weights set to zero') })).default([]),
    })
    .refine((p) => p.method !== 'block' || p.block !== undefined, {
      path: ['block'],
      message: 'method: block needs the block shape, e.g. block: [1, 4] (rows, cols of a [in, out] kernel)',
    }),
);

export type PruningConfig = z.infer<typeof PruningSchema>;

/** The default group's schedule in steps, for a stage of `steps` steps. */
export function pruningSchedule(p: PruningConfig, steps: number): ScheduleConfig {
  return scheduleForSteps(p.schedule, steps);
}

/**
 * The pruner's settings for a stage of `steps` steps: the schedule in steps, and one group per
 * override, following the same schedule kind to the override's final sparsity.
 */
export function prunerSettings(p: PruningConfig, steps: number): PrunerSettings {
  const schedule = p.schedule;
  const groups = p.overrides.map((o, i) => {
    const own = { ...schedule, finalSparsity: o.finalSparsity };
    const parsed = PipelineScheduleSchema.safeParse(own);
    if (!parsed.success) {
      throw new Error(`pruning.overrides[${i}] (${o.match}): ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
    }
    return { match: o.match, schedule: scheduleForSteps(parsed.data, steps) };
  });
  return { method: p.method, schedule: pruningSchedule(p, steps), block: p.block, groups };
}

/** The weight globs a `pruning` block selects. */
export function pruningInclude(p: PruningConfig): string[] {
  return p.include ?? DEFAULT_INCLUDE;
}
