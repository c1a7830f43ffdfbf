/** What the rest of the project needs from a tokenizer. */
export interface Tokenizer {
  /** Number of entries in the vocabulary (the model's vocab_size). */
  readonly vocabSize: number;
  /** Ids of the special tokens. */
  readonly special: { pad: number; unk: number; cls: number; sep: number; mask: number };
  /** Text -> WordPiece tokens (no [CLS]/[SEP]). */
  tokenize(text: string): string[];
  /** Text -> ids (no [CLS]/[SEP]). */
  encode(text: string): number[];
  /** Ids -> tokens. */
  idsToTokens(ids: number[]): string[];
  /** Settings a consumer needs to reproduce the tokenizer (written into ONNX metadata and reports). */
  describe(): { kind: 'wordpiece'; lowercase: boolean; vocabSize: number; vocabSource: string };
}
