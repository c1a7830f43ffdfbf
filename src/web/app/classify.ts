/**
 * Text -> model inputs and logits -> probabilities, with the same encoding the pipeline evaluates
 * with (`encodeExamples`: [CLS] text [SEP], truncated to the model's sequence length). Runs in the
 * browser and in Node, so tests can check it against the pipeline's own encoding.
 */
import { encodeExamples } from '../../data/encode.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import { WordPieceTokenizer } from '../../tokenizer/wordpiece.js';

export interface EncodedText {
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  /** The text was longer than the model's sequence length and was cut. */
  truncated: boolean;
}

export function encodeText(tokenizer: Tokenizer, text: string, seqLen: number): EncodedText {
  const enc = encodeExamples(tokenizer, [{ text, label: 0, group: '' }], seqLen);
  const { inputIds, tokenTypeIds } = enc.examples[0];
  return { inputIds, tokenTypeIds, truncated: enc.truncated > 0 };
}

/** A vocab.txt's text -> the project's WordPiece tokenizer (line N = id N-1). */
export function tokenizerFromVocabText(text: string, opts: { lowercase: boolean; source: string }): WordPieceTokenizer {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return new WordPieceTokenizer(
    lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)),
    { lowercase: opts.lowercase, vocabSource: opts.source },
  );
}

export { argmax, softmax } from '../../util/stats.js';

/**
 * onnxruntime-web's wasm threads for a page: `asked` (the page's ?threads=N) when it is a positive
 * integer, else onnxruntime-web's own default, half the cores (rounded up) and at most 4, which
 * leaves the page's main thread a core. Threads need a cross-origin-isolated page: 1 otherwise.
 */
export function threadCount(crossOriginIsolated: boolean, cores: number, asked: string | null): number {
  if (!crossOriginIsolated) return 1;
  const n = Number(asked);
  if (asked !== null && Number.isInteger(n) && n >= 1) return n;
  return Math.min(4, Math.ceil(Math.max(1, cores || 1) / 2));
}
