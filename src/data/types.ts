/**
 * The data shapes shared by the loaders, the batchers and the training objectives.
 * All batch arrays are row-major [batchSize, seqLen].
 */

/** One unit of pre-training text. `group` is what a train/held-out split must never cut (an address, a file). */
export interface Document {
  id: string;
  text: string;
  group: string;
}

/** Packed, tokenized pre-training text: each sequence is `[CLS] tokens… [SEP]`, at most `seqLen` ids. */
export interface MlmCorpus {
  seqLen: number;
  sequences: Int32Array[];
  /** What masking needs from the tokenizer, carried along so batchers need no tokenizer. */
  special: SpecialIds;
  vocabSize: number;
}

export interface SpecialIds {
  pad: number;
  unk: number;
  cls: number;
  sep: number;
  mask: number;
}

export interface MlmBatch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Float32Array;
  /** Flat indices b * seqLen + s of the masked positions, ascending. */
  maskedPositions: Int32Array;
  /** The original ids at those positions. */
  maskedLabels: Int32Array;
}

export interface Example {
  text: string;
  textPair?: string;
  label: number;
  /** What splits must not cut (an address, a message, a file line). */
  group: string;
}

export interface TaskData {
  name: string;
  labels: string[];
  train: Example[];
  dev: Example[];
  test: Example[];
  /** How the data was made and split, with counts per split and label. */
  description: string;
}

/** One tokenized example: `[CLS] a [SEP] (b [SEP])`, unpadded. */
export interface EncodedExample {
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  label: number;
}

export interface EncodedExamples {
  seqLen: number;
  padId: number;
  examples: EncodedExample[];
  /** How many examples were truncated to fit seqLen. */
  truncated: number;
}

export interface ClsBatch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Float32Array;
  labels: Int32Array;
  /**
   * Training batches: each row's index in the split it was drawn from, so per-example tables (the
   * fine-tuned teacher's stored logits) can be looked up.
   */
  rows?: Int32Array;
}

/** How a batch is padded: to the full seqLen, or to its longest row rounded up to a multiple of 8. */
export type Padding = 'max' | 'longest';
