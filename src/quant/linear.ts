import * as tf from '@tensorflow/tfjs-core';
import type { ForwardOptions, LinearFn } from '../model/bert.js';
import { denseLinear } from '../model/bert.js';
import { embeddingSpecOf, fakeQuantize } from './quantize.js';
import type { ModelQuantization } from './types.js';

/**
 * The forward of a quantized model with fixed quantization parameters: each quantized Linear layer
 * sees its input fake-quantized (uint8, asymmetric) and its kernel fake-quantized (int8, per
 * channel), exactly what the QDQ nodes of the int8 ONNX export compute. Layers without parameters
 * stay in float.
 */
export function quantizedLinear(q: ModelQuantization): LinearFn {
  return (name, x, kernel, bias) => {
    const wp = q.weights[name];
    const ip = q.inputs[name];
    if (!wp || !ip) return denseLinear(name, x, kernel, bias);
    const xq = fakeQuantize(x, ip, q.activationSpec) as tf.Tensor2D;
    const wq = fakeQuantize(kernel, wp, q.weightSpec) as tf.Tensor2D;
    return tf.add(tf.matMul(xq, wq), bias) as tf.Tensor2D;
  };
}

/** Forward options for a quantized model: quantized Linear layers and quantized embedding tables (with the embedding spec). */
export function quantizedForward(q: ModelQuantization): Partial<ForwardOptions> {
  const tableSpec = embeddingSpecOf(q);
  return {
    linear: quantizedLinear(q),
    embedding: (name, table) => {
      const p = q.embeddings[name];
      return p ? (fakeQuantize(table, p, tableSpec) as tf.Tensor2D) : table;
    },
  };
}
