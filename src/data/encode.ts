/**
 * Classification inputs in BERT's layout: `[CLS] a [SEP]` (token type 0) then `b [SEP]` (type 1).
 * Pairs that do not fit are truncated one token at a time from the longer side (BERT's
 * `_truncate_seq_pair`), so a short hypothesis survives next to a long premise.
 */
import type { Tokenizer } from '../tokenizer/types.js';
import type { EncodedExample, EncodedExamples, Example } from './types.js';

export function encodeExamples(tokenizer: Tokenizer, examples: Example[], seqLen: number): EncodedExamples {
  if (!Number.isInteger(seqLen) || seqLen < 4) throw new Error(`seqLen must be an integer >= 4; got ${seqLen}`);
  const { cls, sep, pad } = tokenizer.special;
  let truncated = 0;
  const encoded = examples.map((ex): EncodedExample => {
    const a = tokenizer.encode(ex.text).slice(); // copies: truncation pops in place
    const b = ex.textPair !== undefined ? tokenizer.encode(ex.textPair).slice() : undefined;
    const budget = seqLen - (b ? 3 : 2);
    if (a.length + (b?.length ?? 0) > budget) truncated++;
    truncatePair(a, b ?? [], budget);
    const n = a.length + 2 + (b ? b.length + 1 : 0);
    const inputIds = new Int32Array(n);
    const tokenTypeIds = new Int32Array(n);
    inputIds[0] = cls;
    inputIds.set(a, 1);
    inputIds[a.length + 1] = sep;
    if (b) {
      inputIds.set(b, a.length + 2);
      inputIds[n - 1] = sep;
      tokenTypeIds.fill(1, a.length + 2);
    }
    return { inputIds, tokenTypeIds, label: ex.label };
  });
  return { seqLen, padId: pad, examples: encoded, truncated };
}

/** In place: pops from the longer list (b on ties, as BERT does) until both fit `budget`. */
export function truncatePair(a: number[], b: number[], budget: number): void {
  while (a.length + b.length > budget) {
    if (a.length > b.length) a.pop();
    else b.pop();
  }
}
