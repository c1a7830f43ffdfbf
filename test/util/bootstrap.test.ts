import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import { accuracyInterval, groupBootstrapInterval, pairedDifferenceInterval } from '../../src/util/stats.js';

/** 40 groups of 10 examples; each group is all right or all wrong (internally correlated), ~75% right. */
function correlated(): { correct: boolean[]; groups: string[] } {
  const rng = new Rng(7);
  const correct: boolean[] = [];
  const groups: string[] = [];
  for (let g = 0; g < 40; g++) {
    const right = rng.next() < 0.75;
    for (let k = 0; k < 10; k++) {
      correct.push(right);
      groups.push(`g${g}`);
    }
  }
  return { correct, groups };
}
const accuracy = (c: boolean[]) => c.filter(Boolean).length / c.length;

describe('group bootstrap intervals', () => {
  it('contains the point estimate, within [0, 1]', () => {
    const { correct, groups } = correlated();
    const [lo, hi] = accuracyInterval(correct, groups);
    expect(lo).toBeLessThanOrEqual(accuracy(correct));
    expect(hi).toBeGreaterThanOrEqual(accuracy(correct));
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi - lo).toBeGreaterThan(0.05);
  });

  it('is wider resampling by group than by example when groups are internally correlated', () => {
    const { correct, groups } = correlated();
    const [glo, ghi] = accuracyInterval(correct, groups);
    const [elo, ehi] = accuracyInterval(
      correct,
      groups.map((_, i) => `e${i}`),
    );
    // 40 independent draws against 400: about sqrt(10) ~ 3 times wider.
    expect(ghi - glo).toBeGreaterThan(2 * (ehi - elo));
  });

  it('gives exactly [0, 0] as the paired interval of identical predictions', () => {
    const { correct, groups } = correlated();
    expect(pairedDifferenceInterval(correct, [...correct], groups)).toEqual([0, 0]);
  });

  it('pairs the resamples: a model one example better everywhere has a difference interval near +1/n, not the spread of two accuracies', () => {
    const { correct, groups } = correlated();
    const better = [...correct];
    better[better.indexOf(false)] = true;
    const [lo, hi] = pairedDifferenceInterval(better, correct, groups);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(0.01);
  });

  it('is deterministic for a seed', () => {
    const { correct, groups } = correlated();
    expect(accuracyInterval(correct, groups, { seed: 3 })).toEqual(accuracyInterval(correct, groups, { seed: 3 }));
  });

  it('refuses values and groups of different lengths', () => {
    expect(() => groupBootstrapInterval([1, 0], ['a'])).toThrow(/2 values but 1 groups/);
  });
});
