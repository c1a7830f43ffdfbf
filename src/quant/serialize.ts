/** ModelQuantization <-> JSON (typed arrays as plain arrays), for checkpoints and reports. */
import type { ModelQuantization, QuantParams } from './types.js';

type ParamsJson = { scale: number[]; zeroPoint: number[]; axis: number; dtype: QuantParams['dtype'] };

const toJson = (p: QuantParams): ParamsJson => ({ scale: Array.from(p.scale), zeroPoint: Array.from(p.zeroPoint), axis: p.axis, dtype: p.dtype });
const fromJson = (p: ParamsJson): QuantParams => ({ scale: Float32Array.from(p.scale), zeroPoint: Int32Array.from(p.zeroPoint), axis: p.axis, dtype: p.dtype });
const mapValues = <A, B>(o: Record<string, A>, f: (a: A) => B): Record<string, B> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

export function quantizationToJson(q: ModelQuantization): unknown {
  return { ...q, weights: mapValues(q.weights, toJson), inputs: mapValues(q.inputs, toJson), embeddings: mapValues(q.embeddings, toJson) };
}

export function quantizationFromJson(j: unknown): ModelQuantization {
  const o = j as ModelQuantization & { weights: Record<string, ParamsJson>; inputs: Record<string, ParamsJson>; embeddings: Record<string, ParamsJson> };
  return {
    ...o,
    weights: mapValues(o.weights as unknown as Record<string, ParamsJson>, fromJson),
    inputs: mapValues(o.inputs as unknown as Record<string, ParamsJson>, fromJson),
    embeddings: mapValues((o.embeddings ?? {}) as unknown as Record<string, ParamsJson>, fromJson),
  };
}
