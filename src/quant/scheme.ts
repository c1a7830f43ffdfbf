/**
 * The quantization scheme in words, from the parameters themselves (not from the settings that
 * produced them): one module for the wording the report (per field) and the int8 ONNX file's
 * `quantization` metadata entry (one line) use.
 */
import { embeddingSpecOf, qRange } from './quantize.js';
import type { ModelQuantization, QuantizerSpec } from './types.js';

export interface SchemeWords {
  weights: string;
  activations: string;
  biases: string;
  embeddings: string;
}

const range = (spec: QuantizerSpec) => {
  const { qmin, qmax } = qRange(spec);
  return `[${qmin}, ${qmax}]`;
};
const weightRange = (q: ModelQuantization) => range(q.weightSpec);
const hasEmbeddings = (q: ModelQuantization) => Object.keys(q.embeddings).length > 0;
/** 'int8', 'int4', ...: the tables' integer width (stored in int8; 4 bits packed two a byte). */
const tableType = (q: ModelQuantization) => `int${embeddingSpecOf(q).bits}`;
const tableAxis = (q: ModelQuantization) => (embeddingSpecOf(q).perChannel ? 'per row' : 'per tensor');

/** Per field, for reports. `observers` says how activation ranges were found (QAT: moving averages). */
export function describeQuantization(q: ModelQuantization, observers?: string): SchemeWords {
  return {
    weights: `int8 symmetric ${q.weightSpec.perChannel ? 'per output channel' : 'per tensor'} ${weightRange(q)}`,
    activations: `uint8 asymmetric per tensor${observers ? `, ${observers}` : ''}`,
    biases: q.bias,
    embeddings: hasEmbeddings(q) ? `${tableType(q)} symmetric ${tableAxis(q)} ${range(embeddingSpecOf(q))}` : 'float32',
  };
}

/** One line, as the int8 ONNX file's `quantization` metadata entry. */
export function quantizationSchemeLine(q: ModelQuantization): string {
  const embeddings = hasEmbeddings(q) ? `${tableType(q)} ${tableAxis(q).replace(' ', '-')} embeddings` : 'float32 embeddings';
  return `QDQ int8 weights (${q.weightSpec.perChannel ? 'per-channel' : 'per-tensor'} symmetric, ${weightRange(q)}), uint8 activations (per-tensor asymmetric), ${q.bias} biases, ${embeddings}`;
}
