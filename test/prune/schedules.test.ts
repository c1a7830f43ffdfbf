import { describe, expect, it } from 'vitest';
import {
  makeSchedule,
  pruneSteps,
  scheduleIssues,
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

/** The formula from DESIGN.md §2, written independently of the implementation. */
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

describe('constant and one-shot schedules', () => {
  it('constant prunes once at beginStep (default 0) and holds', () => {
    const s0 = makeSchedule({ kind: 'constant', sparsity: 0.5 });
    expect(s0(0)).toEqual({ prune: true, sparsity: 0.5 });
    expect(s0(1)).toEqual({ prune: false, sparsity: 0.5 });
    const s = makeSchedule({ kind: 'constant', sparsity: 0.7, beginStep: 3 });
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
    const configs: ScheduleConfig[] = [
      cubic,
      { kind: 'constant', sparsity: 0.5, beginStep: 2 },
      { kind: 'one-shot', sparsity: 0.9, step: 7 },
    ];
    for (const c of configs) {
      const back = JSON.parse(JSON.stringify(c)) as ScheduleConfig;
      expect(back).toEqual(c);
      const [a, b] = [makeSchedule(c), makeSchedule(back)];
      for (let t = 0; t <= 120; t++) expect(b(t)).toEqual(a(t));
    }
  });

  it('registers the three kinds by their config names', () => {
    expect(scheduleRegistry.names()).toEqual(['cubic', 'constant', 'one-shot']);
  });

  it('accepts valid configs and returns them', () => {
    expect(validateSchedule(cubic, 100)).toBe(cubic);
    expect(scheduleIssues({ ...cubic, initialSparsity: 0.9 }, 100)).toEqual([]); // s_i == s_f is allowed
    expect(scheduleIssues({ kind: 'one-shot', sparsity: 0, step: 100 }, 100)).toEqual([]);
  });

  const issuesOf = (patch: Record<string, unknown>, totalSteps = 100) => scheduleIssues({ ...cubic, ...patch }, totalSteps);

  it('names the field, the value found and what is allowed', () => {
    expect(issuesOf({ endStep: 120 })).toEqual([
      'endStep: found 120; allowed: an integer > beginStep (0) and <= totalSteps (100)',
    ]);
    expect(issuesOf({ beginStep: 100 })).toEqual([
      'endStep: found 100; allowed: an integer > beginStep (100) and <= totalSteps (100)',
    ]);
    expect(issuesOf({ beginStep: -1 })).toEqual(['beginStep: found -1; allowed: an integer >= 0']);
    expect(issuesOf({ beginStep: 2.5 })).toEqual(['beginStep: found 2.5; allowed: an integer >= 0']);
    expect(issuesOf({ finalSparsity: 1 })).toEqual(['finalSparsity: found 1; allowed: a number with 0 <= value < 1']);
    expect(issuesOf({ initialSparsity: -0.1 })).toEqual([
      'initialSparsity: found -0.1; allowed: a number with 0 <= value < 1',
    ]);
    expect(issuesOf({ initialSparsity: 0.95 })).toEqual([
      'finalSparsity: found 0.9; allowed: a number with initialSparsity (0.95) <= value < 1',
    ]);
    expect(issuesOf({ frequency: 0 })).toEqual(['frequency: found 0; allowed: an integer >= 1']);
    expect(issuesOf({ frequency: 1.5 })).toEqual(['frequency: found 1.5; allowed: an integer >= 1']);
    expect(issuesOf({ frequency: undefined })).toEqual([
      'frequency: found nothing (missing); allowed: an integer >= 1',
    ]);
    expect(issuesOf({ finalSparsity: '0.9' })).toEqual([
      'finalSparsity: found "0.9"; allowed: a number with 0 <= value < 1',
    ]);
  });

  it('reports unknown fields, unknown kinds and non-objects', () => {
    expect(issuesOf({ freq: 10 })).toEqual([
      "freq: unknown field for kind 'cubic'; allowed fields: kind, initialSparsity, finalSparsity, beginStep, endStep, frequency",
    ]);
    expect(scheduleIssues({ kind: 'linear' })).toEqual(['kind: found "linear"; allowed: cubic, constant, one-shot']);
    expect(scheduleIssues({})).toEqual(['kind: found nothing (missing); allowed: cubic, constant, one-shot']);
    expect(scheduleIssues(null)).toEqual(["schedule: found null; allowed: an object with a 'kind' field"]);
  });

  it('checks constant and one-shot fields against the run length', () => {
    expect(scheduleIssues({ kind: 'constant', sparsity: 0.5, beginStep: 101 }, 100)).toEqual([
      'beginStep: found 101; allowed: an integer >= 0 and <= totalSteps (100)',
    ]);
    expect(scheduleIssues({ kind: 'one-shot', sparsity: 1.2 }, 100)).toEqual([
      'sparsity: found 1.2; allowed: a number with 0 <= value < 1',
      'step: found nothing (missing); allowed: an integer >= 0 and <= totalSteps (100)',
    ]);
  });

  it('throws one error listing every problem', () => {
    const bad = { ...cubic, frequency: 0, endStep: 500 };
    let err: unknown;
    try {
      validateSchedule(bad, 100);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScheduleConfigError);
    expect((err as ScheduleConfigError).issues).toHaveLength(2);
    expect((err as Error).message).toBe(
      'invalid pruning schedule: endStep: found 500; allowed: an integer > beginStep (0) and <= totalSteps (100); ' +
        'frequency: found 0; allowed: an integer >= 1',
    );
  });

  it('makeSchedule refuses an invalid config', () => {
    expect(() => makeSchedule({ ...cubic, endStep: 0 })).toThrowError(ScheduleConfigError);
  });
});
