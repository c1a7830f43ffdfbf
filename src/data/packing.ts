/**
 * Packing pre-training text into fixed-length sequences `[CLS] t1 … tk [SEP]`, k <= seqLen - 2.
 *
 * Documents are tokenized and concatenated in the given order into one stream, with a [SEP] between
 * consecutive documents, and the stream is cut into chunks of seqLen - 2 tokens. A chunk may therefore
 * cross a document boundary (RoBERTa's FULL-SENTENCES packing): with short documents (a paragraph per
 * line) it wastes no compute on padding, and it cannot leak across a split because packing runs on
 * each side of `splitDocuments` separately. A chunk never starts with the separator. Only the last
 * chunk of the stream can be short; it is kept (padded at batch time), so even a tiny corpus gives
 * at least one sequence.
 */
import type { Tokenizer } from '../tokenizer/types.js';
import type { Document, MlmCorpus } from './types.js';

export function packSequences(tokenizer: Tokenizer, docs: Document[], seqLen: number): MlmCorpus {
  if (!Number.isInteger(seqLen) || seqLen < 3) throw new Error(`seqLen must be an integer >= 3; got ${seqLen}`);
  const { cls, sep } = tokenizer.special;
  const body = seqLen - 2;
  const sequences: Int32Array[] = [];
  let chunk: number[] = [];
  const emit = () => {
    const seq = new Int32Array(chunk.length + 2);
    seq[0] = cls;
    seq.set(chunk, 1);
    seq[chunk.length + 1] = sep;
    sequences.push(seq);
    chunk = [];
  };
  for (const doc of docs) {
    const ids = tokenizer.encode(doc.text);
    if (ids.length === 0) continue;
    if (chunk.length > 0) {
      chunk.push(sep);
      if (chunk.length === body) emit();
    }
    for (const id of ids) {
      chunk.push(id);
      if (chunk.length === body) emit();
    }
  }
  if (chunk.length > 0) emit();
  if (sequences.length === 0) throw new Error(`no tokens to pack: ${docs.length} document(s) gave no tokens`);
  return { seqLen, sequences, special: { ...tokenizer.special }, vocabSize: tokenizer.vocabSize };
}
