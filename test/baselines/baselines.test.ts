import { describe, expect, it } from 'vitest';
import { accuracy, majorityClass, naiveBayes, taskBaselines } from '../../src/baselines/index.js';
import type { EncodedExamples } from '../../src/data/types.js';

/** Examples from id lists; 0 plays [PAD], 1 [CLS], 2 [SEP]. */
function split(rows: Array<[number[], number]>): EncodedExamples {
  return {
    seqLen: 16,
    padId: 0,
    truncated: 0,
    examples: rows.map(([ids, label]) => ({ inputIds: Int32Array.from([1, ...ids, 2]), tokenTypeIds: new Int32Array(ids.length + 2), label })),
  };
}

describe('majority class', () => {
  it('predicts the most frequent training class, the lowest index on ties', () => {
    expect(
      majorityClass(
        split([
          [[3], 1],
          [[4], 1],
          [[5], 0],
        ]),
        2,
      ).label,
    ).toBe(1);
    expect(
      majorityClass(
        split([
          [[3], 1],
          [[5], 0],
        ]),
        2,
      ).label,
    ).toBe(0);
    const m = majorityClass(
      split([
        [[3], 2],
        [[3], 2],
        [[3], 0],
      ]),
      3,
    );
    expect(
      accuracy(
        m,
        split([
          [[9], 2],
          [[9], 1],
          [[9], 2],
          [[9], 0],
        ]),
      ),
    ).toBe(0.5);
  });
});

describe('multinomial naive Bayes', () => {
  const train = split([
    [[3, 3, 4], 0],
    [[3, 5], 0],
    [[6, 6, 5], 1],
  ]);
  const opts = { numLabels: 2, vocabSize: 7, ignoreIds: [0, 1, 2], alpha: 1 };

  it('computes smoothed log priors and word likelihoods by hand', () => {
    const nb = naiveBayes(train, opts);
    expect(nb.logPrior[0]).toBeCloseTo(Math.log(2 / 3), 12);
    expect(nb.logPrior[1]).toBeCloseTo(Math.log(1 / 3), 12);
    // class 0 counts: 3 x3, 4 x1, 5 x1 (5 words); V = 7
    expect(nb.logLikelihood[0][3]).toBeCloseTo(Math.log(4 / 12), 12);
    expect(nb.logLikelihood[0][6]).toBeCloseTo(Math.log(1 / 12), 12);
    // class 1 counts: 6 x2, 5 x1 (3 words); [CLS]/[SEP] not counted
    expect(nb.logLikelihood[1][6]).toBeCloseTo(Math.log(3 / 10), 12);
    expect(nb.logLikelihood[1][1]).toBeCloseTo(Math.log(1 / 10), 12);
  });

  it('predicts the class with the larger posterior', () => {
    const nb = naiveBayes(train, opts);
    const test = split([
      [[3], 0],
      [[6], 1],
      [[5], 0], // log(2/3)+log(2/12) = -2.20 > log(1/3)+log(2/10) = -2.71
    ]);
    expect(test.examples.map((e) => nb.predict(e))).toEqual([0, 1, 0]);
    expect(accuracy(nb, test)).toBe(1);
  });

  it('rejects ids outside the vocabulary and bad smoothing', () => {
    expect(() => naiveBayes(split([[[9], 0]]), opts)).toThrow(/token id 9 is outside the vocabulary of 7/);
    expect(() => naiveBayes(train, { ...opts, alpha: 0 })).toThrow(/alpha must be > 0/);
  });

  it('gives both baselines on dev and test', () => {
    const dev = split([
      [[6, 6], 1],
      [[3], 0],
    ]);
    const test = split([
      [[6], 1],
      [[6], 1],
      [[4], 0],
    ]);
    const b = taskBaselines({ train, dev, test }, { numLabels: 2, vocabSize: 7, ignoreIds: [0, 1, 2] });
    expect(b).toEqual({
      majority_label: 0,
      majority_dev_accuracy: 0.5,
      majority_test_accuracy: 1 / 3,
      naive_bayes_dev_accuracy: 1,
      naive_bayes_test_accuracy: 1,
    });
  });
});
