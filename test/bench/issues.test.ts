import { describe, expect, it } from 'vitest';
import { fractionIssue, intIssue, issues } from '../../src/bench/issues.js';

describe('bench option checks', () => {
  it('accept integers from min to max and name the option, the bound and the value otherwise', () => {
    expect(issues(intIssue('--batch', 1, 1, 8), intIssue('--batch', 8, 1, 8), intIssue('--warmup', 0, 0))).toEqual([]);
    expect(issues(intIssue('--batch', 0, 1), intIssue('--batch', 2.5, 1), intIssue('--seq', NaN, 1))).toEqual([
      '--batch must be a positive integer, got 0',
      '--batch must be a positive integer, got 2.5',
      '--seq must be a positive integer, got NaN',
    ]);
    expect(intIssue('--warmup', -1, 0)).toBe('--warmup must be an integer >= 0, got -1');
    expect(intIssue('--threads', -1, 0, 4, '', "0: ORT's default")).toBe("--threads must be an integer >= 0 (0: ORT's default), got -1");
    expect(intIssue('--batch', 9, 1, 8, ' rows')).toBe('--batch must be at most 8 rows, got 9');
  });

  it('accept a fraction in [0, 1) only', () => {
    expect(issues(fractionIssue('--sparsity', 0), fractionIssue('--sparsity', 0.999))).toEqual([]);
    expect(issues(fractionIssue('--sparsity', 1), fractionIssue('--sparsity', -0.1), fractionIssue('--sparsity', NaN))).toEqual([
      '--sparsity must be in [0, 1), got 1',
      '--sparsity must be in [0, 1), got -0.1',
      '--sparsity must be in [0, 1), got NaN',
    ]);
  });
});
