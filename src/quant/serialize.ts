/** ModelQuantization <-> JSON (typed arrays as plain arrays; the JSON's schema is checkpoint/state.ts's), for checkpoints and reports. */
import type { QuantizationJson, QuantParamsJson } from '../checkpoint/state.js';
import type { ModelQuantization, QuantParams } from './types.js';

const toJson = (p: QuantParams): QuantParamsJson => ({ scale: Array.from(p.scale), zeroPoint: Array.from(p.zeroPoint), axis: p.axis, dtype: p.dtype });
const fromJson = (p: QuantParamsJson): QuantParams => ({
  scale: Float32Array.from(p.scale),
  zeroPoint: Int32Array.from(p.zeroPoint),
  axis: p.axis,
  dtype: p.dtype,
});
const mapValues = <A, B>(o: Record<string, A>, f: (a: A) => B): Record<string, B> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

export function quantizationToJson(q: ModelQuantization): QuantizationJson {
  return { ...q, weights: mapValues(q.weights, toJson), inputs: mapValues(q.inputs, toJson), embeddings: mapValues(q.embeddings, toJson) };
}

export function quantizationFromJson(j: QuantizationJson): ModelQuantization {
  return { ...j, weights: mapValues(j.weights, fromJson), inputs: mapValues(j.inputs, fromJson), embeddings: mapValues(j.embeddings, fromJson) };
}
