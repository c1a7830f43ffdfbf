import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { alive } from '../../src/util/process.js';
import { lcg } from '../../src/util/rng.js';
import { argmax, argmaxRows, median, quantile } from '../../src/util/stats.js';

describe('order statistics', () => {
  it('takes the middle value, or the mean of the two middle ones, whatever the input order', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('gives the nearest-rank quantile: p90 of 1..10 is 9, of 1..20 is 18', () => {
    const upTo = (n: number) => Array.from({ length: n }, (_, i) => n - i);
    expect(quantile(upTo(10), 0.9)).toBe(9);
    expect(quantile(upTo(20), 0.9)).toBe(18);
    expect(quantile([3], 0.9)).toBe(3);
  });

  it('does not reorder the caller’s array', () => {
    const xs = [3, 1, 2];
    median(xs);
    quantile(xs, 0.9);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe('argmax', () => {
  it('takes the first of tied maxima, per row of a row-major matrix', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(Array.from(argmaxRows(Float32Array.from([0, 1, 1, 5, 2, 5, -1, -2, -3]), 3))).toEqual([1, 0, 0]);
  });
});

describe('lcg', () => {
  it('is the Numerical Recipes LCG, fixed by its seed', () => {
    const next = lcg(1);
    expect([next(), next()]).toEqual([1015568748, 1586005467]);
    const [a, b] = [lcg(42), lcg(42)];
    for (let i = 0; i < 5; i++) expect(a()).toBe(b());
  });
});

describe('alive', () => {
  it('is true for this process and false for one that has exited', () => {
    expect(alive(process.pid)).toBe(true);
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    expect(alive(Number(child.stdout))).toBe(false);
  });
});
