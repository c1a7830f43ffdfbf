import { describe, expect, it } from 'vitest';
import {
  makeSchedule,
  PipelineScheduleSchema,
  pruneSteps,
  scheduleForSteps,
  scheduleRegistry,
  ScheduleConfigError,
  validateSchedule,
  type CubicScheduleConfig,
  type ScheduleConfig,
} from '../../src/prune/schedules.js';

const cubic: CubicScheduleConfig = {
  kind: 'cubic',
  initialSparsity: 0,
  finalSparsity: 0.9,
  beginStep: 0,
  endStep: 100,
  frequency: 30,
};

/** Zhu & Gupta's (2017) cubic, eq. 1, written independently of the implementation. */
function formula(c: CubicScheduleConfig, t: number): number {
  const tc = Math.min(Math.max(t, c.beginStep), c.endStep);
  const frac = (tc - c.beginStep) / (c.endStep - c.beginStep);
  return c.finalSparsity + (c.initialSparsity - c.finalSparsity) * (1 - frac) ** 3;
}

describe('cubic schedule', () => {
  it('hits s_i at t0, the formula at the midpoint and s_f at t1', () => {
    const s = makeSchedule(cubic);
    expect(s(0)).toEqual({ prune: true, sparsity: 0 });
    expect(s(50).sparsity).toBeCloseTo(0.7875, 12); // 0.9 - 0.9 * 0.5^3
    expect(s(25).sparsity).toBeCloseTo(0.5203125, 12); // 0.9 * (1 - 0.75^3)
    expect(s(100)).toEqual({ prune: true, sparsity: 0.9 });
    for (const t of [0, 1, 17, 30, 50, 99, 100]) expect(s(t).sparsity).toBeCloseTo(formula(cubic, t), 12);
  });

  it('is dense before t0, ramps from s_i at t0 and holds s_f after t1', () => {
    const c: CubicScheduleConfig = { ...cubic, initialSparsity: 0.2, finalSparsity: 0.8, beginStep: 10, endStep: 110 };
    const s = makeSchedule(c);
    expect(s(0)).toEqual({ prune: false, sparsity: 0 });
    expect(s(9)).toEqual({ prune: false, sparsity: 0 });
    expect(s(10)).toEqual({ prune: true, sparsity: 0.2 });
    expect(s(60).sparsity).toBeCloseTo(0.725, 12); // 0.8 - 0.6 * 0.125
    expect(s(110)).toEqual({ prune: true, sparsity: 0.8 });
    expect(s(111)).toEqual({ prune: false, sparsity: 0.8 });
    expect(s(10_000)).toEqual({ prune: false, sparsity: 0.8 });
  });

  it('prunes every `frequency` steps from t0 and always at t1 when frequency does not divide t1 - t0', () => {
    expect(pruneSteps(makeSchedule(cubic), 200)).toEqual([0, 30, 60, 90, 100]);
    const shifted = makeSchedule({ ...cubic, beginStep: 5, endStep: 50, frequency: 20 });
    expect(pruneSteps(shifted, 100)).toEqual([5, 25, 45, 50]);
  });

  it('does not prune twice at t1 when frequency divides t1 - t0', () => {
    expect(pruneSteps(makeSchedule({ ...cubic, frequency: 25 }), 200)).toEqual([0, 25, 50, 75, 100]);
  });

  it('is non-decreasing over the run', () => {
    const s = makeSchedule(cubic);
    for (let t = 1; t <= 150; t++) expect(s(t).sparsity).toBeGreaterThanOrEqual(s(t - 1).sparsity);
  });

  it('rejects non-integer steps', () => {
    expect(() => makeSchedule(cubic)(1.5)).toThrowError('schedule step must be an integer; got 1.5');
  });
});

describe('one-shot schedule (constant: the same kind under its older name)', () => {
  it('constant prunes once at step (default 0) and holds', () => {
    const s0 = makeSchedule({ kind: 'constant', sparsity: 0.5 });
    expect(s0(0)).toEqual({ prune: true, sparsity: 0.5 });
    expect(s0(1)).toEqual({ prune: false, sparsity: 0.5 });
    const s = makeSchedule({ kind: 'constant', sparsity: 0.7, step: 3 });
    expect(s(2)).toEqual({ prune: false, sparsity: 0 });
    expect(pruneSteps(s, 50)).toEqual([3]);
    expect(s(50)).toEqual({ prune: false, sparsity: 0.7 });
  });

  it('one-shot prunes once at `step`', () => {
    const s = makeSchedule({ kind: 'one-shot', sparsity: 0.9, step: 40 });
    expect(pruneSteps(s, 100)).toEqual([40]);
    expect(s(39)).toEqual({ prune: false, sparsity: 0 });
    expect(s(40)).toEqual({ prune: true, sparsity: 0.9 });
    expect(s(41)).toEqual({ prune: false, sparsity: 0.9 });
  });
});

describe('schedule configs', () => {
  it('round-trip through JSON to the same schedule', () => {
    const configs: ScheduleConfig[] = [cubic, { kind: 'constant', sparsity: 0.5, step: 2 }, { kind: 'one-shot', sparsity: 0.9, step: 7 }];
    for (const c of configs) {
      const back = JSON.parse(JSON.stringify(c)) as ScheduleConfig;
      expect(back).toEqual(c);
      const [a, b] = [makeSchedule(c), makeSchedule(back)];
      for (let t = 0; t <= 120; t++) expect(b(t)).toEqual(a(t));
    }
  });

  it('registers the kinds by their config names', () => {
    expect(scheduleRegistry.names()).toEqual(['polynomial', 'cubic', 'linear', 'one-shot', 'constant']);
  });

  it('accepts valid configs and returns them', () => {
    expect(validateSchedule(cubic)).toEqual(cubic);
    expect(validateSchedule({ ...cubic, initialSparsity: 0.9 })).toEqual({ ...cubic, initialSparsity: 0.9 }); // s_i == s_f is allowed
    expect(validateSchedule({ kind: 'one-shot', sparsity: 0, step: 100 })).toEqual({ kind: 'one-shot', sparsity: 0, step: 100 });
  });

  const issuesOf = (config: Record<string, unknown>): string[] => {
    try {
      validateSchedule(config);
      return [];
    } catch (e) {
      expect(e).toBeInstanceOf(ScheduleConfigError);
      return (e as ScheduleConfigError).issues;
    }
  };

  it('names the field, the problem and the value found', () => {
    expect(issuesOf({ ...cubic, beginStep: 100 })).toEqual(['endStep: must be > beginStep; found 100']);
    expect(issuesOf({ ...cubic, beginStep: -1 })).toEqual([expect.stringMatching(/^beginStep: must be an integer from 0 to 10000000; found -1$/)]);
    expect(issuesOf({ ...cubic, beginStep: 2.5 })).toEqual([expect.stringMatching(/^beginStep: must be an integer from 0 to 10000000; found 2.5$/)]);
    expect(issuesOf({ ...cubic, finalSparsity: 1 })).toEqual([expect.stringMatching(/^finalSparsity: must be a number in \[0, 1\) .*; found 1$/)]);
    expect(issuesOf({ ...cubic, initialSparsity: 0.95 })).toEqual(['finalSparsity: must be >= initialSparsity; found 0.9']);
    expect(issuesOf({ ...cubic, frequency: 0 })).toEqual([expect.stringMatching(/^frequency: must be an integer from 1 to 1000000 .*; found 0$/)]);
    expect(issuesOf({ ...cubic, frequency: undefined })).toEqual([expect.stringMatching(/^frequency: .*; found nothing \(missing\)$/)]);
    expect(issuesOf({ ...cubic, finalSparsity: '0.9' })).toEqual([expect.stringMatching(/^finalSparsity: must be a number in \[0, 1\).*; found "0.9"$/)]);
  });

  it('reports unknown fields and unknown kinds', () => {
    expect(issuesOf({ ...cubic, freq: 10 })).toEqual(["freq: unknown field for kind 'cubic'"]);
    expect(issuesOf({ kind: 'quadratic' })).toEqual(['kind: found "quadratic"; allowed: polynomial, cubic, linear, one-shot, constant']);
    expect(issuesOf({})).toEqual(['kind: found nothing; allowed: polynomial, cubic, linear, one-shot, constant']);
  });

  it('lists every problem in one error', () => {
    expect(() => makeSchedule({ ...cubic, frequency: 0, endStep: 0 })).toThrowError(
      /^invalid pruning schedule: frequency: .*; endStep: must be > beginStep; found 0$/,
    );
  });
});

describe('polynomial schedule: cubic and linear are its presets', () => {
  it('at power 3 is the cubic preset and at power 1 the linear one, step for step', () => {
    for (const [preset, power] of [
      ['cubic', 3],
      ['linear', 1],
    ] as const) {
      const a = makeSchedule({ ...cubic, kind: preset });
      const b = makeSchedule({ ...cubic, kind: 'polynomial', power });
      for (let t = 0; t <= 120; t++) expect(b(t)).toEqual(a(t));
    }
  });

  it('takes any positive power, 3 by default in a pipeline', () => {
    const half = makeSchedule({ ...cubic, kind: 'polynomial', power: 0.5 });
    expect(half(25).sparsity).toBeCloseTo(0.9 - 0.9 * Math.sqrt(0.75), 12);
    expect(scheduleForSteps(PipelineScheduleSchema.parse({ kind: 'polynomial' }), 40)).toEqual({
      kind: 'polynomial',
      power: 3,
      initialSparsity: 0,
      finalSparsity: 0.9,
      beginStep: 0,
      endStep: 20,
      frequency: 10,
    });
    expect(PipelineScheduleSchema.safeParse({ kind: 'polynomial', power: 0 }).success).toBe(false);
  });
});

describe('linear schedule (a preset of the polynomial ramp)', () => {
  const linear = { ...cubic, kind: 'linear' as const };
  it("ramps linearly from s_i to s_f with the cubic kind's prune steps", () => {
    const s = makeSchedule(linear);
    expect(s(0)).toEqual({ prune: true, sparsity: 0 });
    expect(s(25).sparsity).toBeCloseTo(0.225, 12);
    expect(s(50).sparsity).toBeCloseTo(0.45, 12);
    expect(s(100)).toEqual({ prune: true, sparsity: 0.9 });
    expect(pruneSteps(s, 200)).toEqual(pruneSteps(makeSchedule(cubic), 200));
  });

  it('is a pipeline kind with the ramp fields', () => {
    expect(PipelineScheduleSchema.parse({ kind: 'linear', frequency: 5 })).toEqual({
      kind: 'linear',
      initialSparsity: 0,
      finalSparsity: 0.9,
      beginFraction: 0,
      endFraction: 0.5,
      frequency: 5,
    });
    expect(scheduleForSteps(PipelineScheduleSchema.parse({ kind: 'linear' }), 40)).toEqual({
      kind: 'linear',
      initialSparsity: 0,
      finalSparsity: 0.9,
      beginStep: 0,
      endStep: 20,
      frequency: 10,
    });
  });
});

describe('pipeline form', () => {
  it('fills the defaults of each kind and converts fractions of the stage to steps', () => {
    const c = PipelineScheduleSchema.parse({ kind: 'cubic', finalSparsity: 0.8, beginFraction: 0.1, endFraction: 0.55, frequency: 3 });
    expect(scheduleForSteps(c, 240)).toEqual({ kind: 'cubic', initialSparsity: 0, finalSparsity: 0.8, beginStep: 24, endStep: 132, frequency: 3 });
    // The ramp is at least one step long.
    expect(scheduleForSteps(PipelineScheduleSchema.parse({ kind: 'cubic', beginFraction: 0.5, endFraction: 0.5 }), 10)).toMatchObject({
      beginStep: 5,
      endStep: 6,
    });
    expect(scheduleForSteps(PipelineScheduleSchema.parse({ kind: 'constant', beginFraction: 0.25 }), 40)).toEqual({
      kind: 'constant',
      sparsity: 0.9,
      step: 10,
    });
    expect(scheduleForSteps(PipelineScheduleSchema.parse({ kind: 'one-shot', finalSparsity: 0.7, beginFraction: 1 }), 40)).toEqual({
      kind: 'one-shot',
      sparsity: 0.7,
      step: 40,
    });
  });

  it('rejects fields of another kind and bad values', () => {
    expect(PipelineScheduleSchema.safeParse({ kind: 'constant', frequency: 3 }).success).toBe(false);
    expect(PipelineScheduleSchema.safeParse({ kind: 'cubic', initialSparsity: 0.5, finalSparsity: 0.4 }).success).toBe(false);
    expect(PipelineScheduleSchema.safeParse({ kind: 'cubic', endFraction: 1.5 }).success).toBe(false);
    expect(PipelineScheduleSchema.safeParse({ kind: 'torch-ref-ramp' }).success).toBe(false);
  });
});
