/**
 * Baselines a fine-tuned model must beat to earn its keep, on the same splits and the same
 * WordPiece ids as the model: the majority class, and a multinomial naive Bayes over the bag of
 * word pieces (add-alpha smoothing).
 */
import type { EncodedExample, EncodedExamples } from '../data/types.js';

export interface Baseline {
  /** Class index predicted for one example. */
  predict(example: EncodedExample): number;
}

export function accuracy(baseline: Baseline, split: EncodedExamples): number {
  if (split.examples.length === 0) return NaN;
  let ok = 0;
  for (const e of split.examples) if (baseline.predict(e) === e.label) ok++;
  return ok / split.examples.length;
}

/** The most frequent training class (the lowest index on ties). */
export function majorityClass(train: EncodedExamples, numLabels: number): Baseline & { label: number } {
  const counts = new Array<number>(numLabels).fill(0);
  for (const e of train.examples) counts[e.label]++;
  const label = counts.indexOf(Math.max(...counts));
  return { label, predict: () => label };
}

export interface NaiveBayesOptions {
  numLabels: number;
  vocabSize: number;
  /** Ids not counted as words ([CLS], [SEP], [PAD]). */
  ignoreIds: readonly number[];
  /** Add-alpha (Laplace for 1) smoothing of the word counts. */
  alpha?: number;
}

/**
 * Multinomial naive Bayes: argmax_c log P(c) + sum over word pieces w of log P(w | c), with
 * P(w | c) = (n(w, c) + alpha) / (n(c) + alpha * V). The lowest class index wins ties.
 */
export function naiveBayes(train: EncodedExamples, opts: NaiveBayesOptions): Baseline & { logPrior: Float64Array; logLikelihood: Float64Array[] } {
  const { numLabels, vocabSize } = opts;
  const alpha = opts.alpha ?? 1;
  if (!(alpha > 0)) throw new Error(`naive Bayes smoothing alpha must be > 0; got ${alpha}`);
  const ignore = new Set(opts.ignoreIds);
  const docs = new Float64Array(numLabels);
  const words = Array.from({ length: numLabels }, () => new Float64Array(vocabSize));
  const totals = new Float64Array(numLabels);
  for (const e of train.examples) {
    docs[e.label]++;
    for (const id of e.inputIds) {
      if (ignore.has(id)) continue;
      if (id < 0 || id >= vocabSize) throw new Error(`naive Bayes: token id ${id} is outside the vocabulary of ${vocabSize}`);
      words[e.label][id]++;
      totals[e.label]++;
    }
  }
  const n = train.examples.length;
  const logPrior = docs.map((d) => Math.log(d / n));
  const logLikelihood = words.map((w, c) => w.map((k) => Math.log((k + alpha) / (totals[c] + alpha * vocabSize))));
  return {
    logPrior,
    logLikelihood,
    predict(example) {
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < numLabels; c++) {
        let score = logPrior[c];
        for (const id of example.inputIds) if (!ignore.has(id)) score += logLikelihood[c][id];
        if (score > bestScore) {
          bestScore = score;
          best = c;
        }
      }
      return best;
    },
  };
}

export interface TaskBaselines {
  majority_label: number;
  majority_dev_accuracy: number;
  majority_test_accuracy: number;
  naive_bayes_dev_accuracy: number;
  naive_bayes_test_accuracy: number;
}

/** Both baselines, fitted on train, measured on dev and test. */
export function taskBaselines(
  splits: { train: EncodedExamples; dev: EncodedExamples; test: EncodedExamples },
  opts: Omit<NaiveBayesOptions, 'alpha'>,
): TaskBaselines {
  const majority = majorityClass(splits.train, opts.numLabels);
  const nb = naiveBayes(splits.train, opts);
  return {
    majority_label: majority.label,
    majority_dev_accuracy: accuracy(majority, splits.dev),
    majority_test_accuracy: accuracy(majority, splits.test),
    naive_bayes_dev_accuracy: accuracy(nb, splits.dev),
    naive_bayes_test_accuracy: accuracy(nb, splits.test),
  };
}
