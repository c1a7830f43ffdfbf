/**
 * The quantization scheme in words, from the parameters themselves (not from the settings that
 * produced them): one module for the wording the report (per field) and the int8 ONNX file's
 * `quantization` metadata entry (one line) use.
 */
import type { ModelQuantization } from './types.js';

export interface SchemeWords {
  weights: string;
  activations: string;
  biases: string;
  embeddings: string;
}

const weightRange = (q: ModelQuantization) => (q.weightSpec.narrowRange ? '[-127, 127]' : '[-128, 127]');
const hasEmbeddings = (q: ModelQuantization) => Object.keys(q.embeddings).length > 0;

/** Per field, for reports. `observers` says how activation ranges were found (QAT: moving averages). */
export function describeQuantization(q: ModelQuantization, observers?: string): SchemeWords {
  return {
    weights: `int8 symmetric ${q.weightSpec.perChannel ? 'per output channel' : 'per tensor'} ${weightRange(q)}`,
    activations: `uint8 asymmetric per tensor${observers ? `, ${observers}` : ''}`,
    biases: q.bias,
    embeddings: hasEmbeddings(q) ? 'int8 symmetric per row' : 'float32',
  };
}

/** One line, as the int8 ONNX file's `quantization` metadata entry. */
export function quantizationSchemeLine(q: ModelQuantization): string {
  const embeddings = hasEmbeddings(q) ? 'int8 per-row embeddings' : 'float32 embeddings';
  return `QDQ int8 weights (${q.weightSpec.perChannel ? 'per-channel' : 'per-tensor'} symmetric, ${weightRange(q)}), uint8 activations (per-tensor asymmetric), ${q.bias} biases, ${embeddings}`;
}
