/**
 * Masked-LM batches. Training batches use dynamic masking (RoBERTa): a sequence gets fresh masks every
 * time it is visited, and the visiting order is reshuffled every epoch. Evaluation batches use fixed
 * masks so held-out accuracy and perplexity are comparable between evaluations and between models.
 */
import { Rng } from '../util/rng.js';
import { EpochOrder, type EpochState } from './epochs.js';
import { maskSequence, type MaskOptions } from './masking.js';
import { padRows } from './padding.js';
import type { MlmBatch, MlmCorpus } from './types.js';

export interface MlmBatchOptions {
  batchSize: number;
  seed: number;
  /** Reshuffle the sequences every epoch (default true). */
  shuffle?: boolean;
  /** Masking probability (default 0.15). */
  probability?: number;
}

/** Everything needed to resume exactly: JSON-serialisable. */
export interface MlmBatchState extends EpochState {
  kind: 'mlm';
  sequences: number;
  rng: number;
}

/** An endless source of full MLM batches; `getState`/`setState` make training resumable. */
export class MlmBatches {
  private readonly order: EpochOrder;
  private readonly rng: Rng;
  private readonly mask: MaskOptions;

  constructor(
    private readonly corpus: MlmCorpus,
    private readonly opts: MlmBatchOptions,
  ) {
    checkBatchSize(opts.batchSize);
    this.order = new EpochOrder(corpus.sequences.length, opts.seed, opts.shuffle ?? true);
    this.rng = new Rng(opts.seed);
    this.mask = { special: corpus.special, vocabSize: corpus.vocabSize, probability: opts.probability };
  }

  next(): MlmBatch {
    const rows = this.order.take(this.opts.batchSize).map((i) => this.corpus.sequences[i]);
    return maskedBatch(rows, this.corpus, this.rng, this.mask);
  }

  getState(): MlmBatchState {
    return { kind: 'mlm', sequences: this.corpus.sequences.length, ...this.order.state, rng: this.rng.getState() };
  }

  setState(state: unknown): void {
    const s = state as MlmBatchState;
    if (s?.kind !== 'mlm' || s.sequences !== this.corpus.sequences.length) {
      throw new Error(
        `cannot resume MLM batches from state ${JSON.stringify(state)}: expected kind "mlm" over ${this.corpus.sequences.length} sequences (was the corpus or seqLen changed?)`,
      );
    }
    this.order.state = s;
    this.rng.setState(s.rng);
  }
}

export function mlmBatches(corpus: MlmCorpus, opts: MlmBatchOptions): MlmBatches {
  return new MlmBatches(corpus, opts);
}

/**
 * Every sequence once, in corpus order, with masks drawn from `seed` alone: the same masks at every
 * evaluation. The last batch may be smaller.
 */
export function* mlmEvalBatches(corpus: MlmCorpus, opts: { batchSize: number; seed: number; probability?: number }): Generator<MlmBatch> {
  checkBatchSize(opts.batchSize);
  const rng = new Rng(opts.seed);
  const mask: MaskOptions = { special: corpus.special, vocabSize: corpus.vocabSize, probability: opts.probability };
  for (let i = 0; i < corpus.sequences.length; i += opts.batchSize) {
    yield maskedBatch(corpus.sequences.slice(i, i + opts.batchSize), corpus, rng, mask);
  }
}

function maskedBatch(rows: Int32Array[], corpus: MlmCorpus, rng: Rng, mask: MaskOptions): MlmBatch {
  const masked = rows.map((ids) => maskSequence(ids, rng, mask));
  const padded = padRows(
    masked.map((m) => ({ inputIds: m.input })),
    corpus.seqLen,
    corpus.special.pad,
  );
  const total = masked.reduce((n, m) => n + m.positions.length, 0);
  const maskedPositions = new Int32Array(total);
  const maskedLabels = new Int32Array(total);
  let k = 0;
  masked.forEach((m, b) => {
    for (let j = 0; j < m.positions.length; j++, k++) {
      maskedPositions[k] = b * corpus.seqLen + m.positions[j];
      maskedLabels[k] = m.labels[j];
    }
  });
  return { ...padded, maskedPositions, maskedLabels };
}

export function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer; got ${batchSize}`);
}
