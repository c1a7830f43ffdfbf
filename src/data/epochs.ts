/**
 * Endless visiting order over n items: a fresh seeded permutation per epoch, batches filled across
 * epoch boundaries (every batch is full, so training sees one shape). The state is two integers;
 * each epoch's order is recomputed from (seed, epoch), so resuming needs no stored permutation.
 */
import { Rng } from '../util/rng.js';

export interface EpochState {
  epoch: number;
  /** Items of the current epoch already visited. */
  cursor: number;
}

export class EpochOrder {
  private epoch = 0;
  private cursor = 0;
  private order: Int32Array;

  constructor(
    private readonly n: number,
    private readonly seed: number,
    private readonly shuffle: boolean,
  ) {
    if (n <= 0) throw new Error('cannot iterate over an empty set of sequences/examples');
    this.order = this.orderOf(0);
  }

  /** The next k item indices. */
  take(k: number): number[] {
    const out: number[] = [];
    while (out.length < k) {
      if (this.cursor === this.n) this.jump(this.epoch + 1, 0);
      out.push(this.order[this.cursor++]);
    }
    return out;
  }

  get state(): EpochState {
    return { epoch: this.epoch, cursor: this.cursor };
  }

  set state(s: EpochState) {
    if (!Number.isInteger(s?.epoch) || !Number.isInteger(s?.cursor) || s.epoch < 0 || s.cursor < 0 || s.cursor > this.n) {
      throw new Error(`invalid batch iterator state ${JSON.stringify(s)} for ${this.n} items`);
    }
    this.jump(s.epoch, s.cursor);
  }

  private jump(epoch: number, cursor: number): void {
    if (epoch !== this.epoch) this.order = this.orderOf(epoch);
    this.epoch = epoch;
    this.cursor = cursor;
  }

  private orderOf(epoch: number): Int32Array {
    const idx = Array.from({ length: this.n }, (_, i) => i);
    if (this.shuffle) new Rng((this.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0).shuffle(idx);
    return Int32Array.from(idx);
  }
}
