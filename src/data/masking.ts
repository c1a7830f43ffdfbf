/**
 * BERT's masked-LM corruption. Of the non-special tokens, round(15%) are chosen (at least one, as in
 * BERT's create_pretraining_data.py, which fixes the count rather than flipping a coin per token);
 * of those 80% become [MASK], 10% a random non-special id, 10% stay unchanged.
 */
import type { Rng } from '../util/rng.js';
import type { SpecialIds } from './types.js';

export interface MaskOptions {
  special: SpecialIds;
  vocabSize: number;
  /** Fraction of maskable tokens chosen for prediction (default 0.15). */
  probability?: number;
}

export interface MaskedSequence {
  /** The corrupted ids fed to the model. */
  input: Int32Array;
  /** Positions (within the sequence) chosen for prediction, ascending. */
  positions: Int32Array;
  /** The original ids at those positions. */
  labels: Int32Array;
}

/** Ids that are never chosen nor drawn as random replacements: [PAD] [UNK] [CLS] [SEP] [MASK]. */
export function specialIdSet(special: SpecialIds): Set<number> {
  return new Set([special.pad, special.unk, special.cls, special.sep, special.mask]);
}

export function maskSequence(ids: Int32Array, rng: Rng, opts: MaskOptions): MaskedSequence {
  const p = opts.probability ?? 0.15;
  if (!(p > 0 && p <= 1)) throw new Error(`masking probability must be in (0, 1]; got ${p}`);
  const specials = specialIdSet(opts.special);
  if (opts.vocabSize <= specials.size) throw new Error(`vocabSize ${opts.vocabSize} leaves no non-special ids`);
  const candidates: number[] = [];
  for (let i = 0; i < ids.length; i++) if (!specials.has(ids[i])) candidates.push(i);
  const count = candidates.length === 0 ? 0 : Math.max(1, Math.round(candidates.length * p));
  // Partial Fisher-Yates: the first `count` slots become a uniform random subset.
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(candidates.length - i);
    [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
  }
  const positions = Int32Array.from(candidates.slice(0, count)).sort();
  const input = ids.slice();
  const labels = new Int32Array(count);
  positions.forEach((pos, k) => {
    labels[k] = ids[pos];
    const r = rng.next();
    if (r < 0.8) input[pos] = opts.special.mask;
    else if (r < 0.9) input[pos] = randomNonSpecial(rng, opts.vocabSize, specials);
    // else: left unchanged, but still predicted
  });
  return { input, positions, labels };
}

function randomNonSpecial(rng: Rng, vocabSize: number, specials: Set<number>): number {
  for (;;) {
    const id = rng.int(vocabSize);
    if (!specials.has(id)) return id;
  }
}
