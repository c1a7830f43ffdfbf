/** Order statistics, bootstrap intervals and row argmax, for latencies and predictions measured in several places. */
import { Rng } from './rng.js';

/** The median: the middle value, or the mean of the two middle ones. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The p-quantile by nearest rank (p90: the smallest value >= 90% of the values). */
export function quantile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
}

/** Index of the largest value; the first one on ties (as tf.argMax in the pipeline's evaluation). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** argmax of each row of a row-major [rows, width] matrix. */
export function argmaxRows(values: ArrayLike<number>, width: number): Int32Array {
  const rows = values.length / width;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < width; c++) if (values[r * width + c] > values[r * width + best]) best = c;
    out[r] = best;
  }
  return out;
}

/** Softmax of one row of logits, computed stably in float64. */
export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** A 95% percentile interval [lo, hi] from a bootstrap. */
export type Interval = readonly [lo: number, hi: number];

/** How a bootstrap resamples: how many resamples, from which seed (fixed: the figures are deterministic). */
export interface BootstrapOptions {
  resamples?: number;
  seed?: number;
}
export const BOOTSTRAP_DEFAULTS = { resamples: 2000, seed: 1 } as const;

/**
 * Cluster bootstrap of the mean of per-example values: each resample draws the split's G groups
 * with replacement and takes sum(values) / count over the drawn groups' examples. Examples of one
 * group (an address, a message) are not independent, so resampling them one by one would give too
 * narrow an interval. The draws depend only on G and the seed, so two calls with the same groups
 * and options use the same resamples (what makes a paired interval paired).
 */
export function groupBootstrapInterval(values: ArrayLike<number>, groups: readonly string[], opts: BootstrapOptions = {}): Interval {
  const { resamples, seed } = { ...BOOTSTRAP_DEFAULTS, ...opts };
  if (values.length !== groups.length) throw new Error(`bootstrap: ${values.length} values but ${groups.length} groups; give one group per example`);
  if (!values.length) return [NaN, NaN];
  const index = new Map<string, number>();
  const sums: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    let g = index.get(groups[i]);
    if (g === undefined) {
      g = sums.push(0) - 1;
      counts.push(0);
      index.set(groups[i], g);
    }
    sums[g] += values[i];
    counts[g]++;
  }
  const G = sums.length;
  const rng = new Rng(seed);
  const means: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    let count = 0;
    for (let k = 0; k < G; k++) {
      const g = rng.int(G);
      sum += sums[g];
      count += counts[g];
    }
    means.push(sum / count);
  }
  return [quantile(means, 0.025), quantile(means, 0.975)];
}

/** 95% interval of an accuracy, resampling by group: `correct[i]` is whether example i was predicted right. */
export function accuracyInterval(correct: ArrayLike<boolean>, groups: readonly string[], opts?: BootstrapOptions): Interval {
  return groupBootstrapInterval(
    Array.from(correct, (c) => (c ? 1 : 0)),
    groups,
    opts,
  );
}

/** Paired 95% interval of accuracy(a) - accuracy(b) on the same examples and the same resamples. */
export function pairedDifferenceInterval(a: ArrayLike<boolean>, b: ArrayLike<boolean>, groups: readonly string[], opts?: BootstrapOptions): Interval {
  if (a.length !== b.length) throw new Error(`paired bootstrap: ${a.length} against ${b.length} predictions; both models must predict the same examples`);
  return groupBootstrapInterval(
    Array.from(a, (c, i) => (c ? 1 : 0) - (b[i] ? 1 : 0)),
    groups,
    opts,
  );
}
