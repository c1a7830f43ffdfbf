/**
 * Classification batches: an endless, reshuffled-per-epoch, resumable source for training and a
 * single ordered pass for evaluation. Padding is to seqLen, or ('longest') to the longest row of the
 * batch rounded up to a multiple of 8.
 */
import { EpochOrder, type EpochState } from './epochs.js';
import { checkBatchSize } from './mlm-batches.js';
import { batchWidth, padRows } from './padding.js';
import type { ClsBatch, EncodedExample, EncodedExamples, Padding } from './types.js';

export interface ClsBatchOptions {
  batchSize: number;
  seed: number;
  /** Reshuffle every epoch (default true). */
  shuffle?: boolean;
  /** Default 'max'. */
  padding?: Padding;
}

export interface ClsBatchState extends EpochState {
  kind: 'classification';
  examples: number;
}

export class ClsBatches {
  private readonly order: EpochOrder;

  constructor(
    private readonly data: EncodedExamples,
    private readonly opts: ClsBatchOptions,
  ) {
    checkBatchSize(opts.batchSize);
    this.order = new EpochOrder(data.examples.length, opts.seed, opts.shuffle ?? true);
  }

  next(): ClsBatch {
    const picked = this.order.take(this.opts.batchSize);
    const batch = clsBatch(
      picked.map((i) => this.data.examples[i]),
      this.data,
      this.opts.padding ?? 'max',
    );
    return { ...batch, rows: Int32Array.from(picked) };
  }

  getState(): ClsBatchState {
    return { kind: 'classification', examples: this.data.examples.length, ...this.order.state };
  }

  setState(state: unknown): void {
    const s = state as ClsBatchState;
    if (s?.kind !== 'classification' || s.examples !== this.data.examples.length) {
      throw new Error(
        `cannot resume classification batches from state ${JSON.stringify(state)}: expected kind "classification" over ${this.data.examples.length} examples`,
      );
    }
    this.order.state = s;
  }
}

export function clsBatches(data: EncodedExamples, opts: ClsBatchOptions): ClsBatches {
  return new ClsBatches(data, opts);
}

/** Every example once, in order; the last batch may be smaller. */
export function* clsEvalBatches(data: EncodedExamples, opts: { batchSize: number; padding?: Padding }): Generator<ClsBatch> {
  checkBatchSize(opts.batchSize);
  for (let i = 0; i < data.examples.length; i += opts.batchSize) {
    yield clsBatch(data.examples.slice(i, i + opts.batchSize), data, opts.padding ?? 'max');
  }
}

/**
 * Indices of the examples by length (stable), for evaluation passes: with 'longest' padding each
 * batch then pads to about its own length rather than to the longest of a random mix, a fifth to a
 * third less work on passages of mixed length. Accuracy does not depend on order; whoever compares
 * predictions row by row must use the same order.
 */
export function lengthOrder(data: EncodedExamples): number[] {
  return data.examples
    .map((e, i) => [e.inputIds.length, i] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map(([, i]) => i);
}

/** The split with its examples in `lengthOrder`. */
export function orderedByLength(data: EncodedExamples): EncodedExamples {
  return { ...data, examples: lengthOrder(data).map((i) => data.examples[i]) };
}

function clsBatch(rows: EncodedExample[], data: EncodedExamples, padding: Padding): ClsBatch {
  const padded = padRows(rows, batchWidth(rows, data.seqLen, padding), data.padId);
  return { ...padded, labels: Int32Array.from(rows, (r) => r.label) };
}
