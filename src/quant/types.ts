/**
 * A quantizer is plain settings. Training's fake quantization and the exporter call the same
 * functions in ./quantize.ts with these, so the exported integers are the trained integers.
 */
export interface QuantizerSpec {
  bits: 8;
  /** symmetric: zero point 0, int8; asymmetric: uint8 with a zero point. */
  symmetric: boolean;
  /** One scale per output channel (last axis of a [in, out] kernel; first axis of an embedding table). */
  perChannel: boolean;
  /** Symmetric range [-127, 127] instead of [-128, 127]. */
  narrowRange: boolean;
}

/** Quantization parameters of one tensor: scale per channel (length 1 when per-tensor). */
export interface QuantParams {
  scale: Float32Array;
  zeroPoint: Int32Array;
  /** Axis the scales run along, or -1 for per-tensor. */
  axis: number;
  /** 'int8' for weights (symmetric), 'uint8' for activations (asymmetric). */
  dtype: 'int8' | 'uint8';
}

/** Everything a quantized model carries besides its float weights. */
export interface ModelQuantization {
  weightSpec: QuantizerSpec;
  activationSpec: QuantizerSpec;
  /** Per quantized kernel name (e.g. encoder/layer_0/attention/query/kernel). */
  weights: Record<string, QuantParams>;
  /** Per quantized kernel name: the params of that Linear layer's input activation. */
  inputs: Record<string, QuantParams>;
  /** Embedding tables quantized to int8 (per row), if that option was on. */
  embeddings: Record<string, QuantParams>;
  /** How biases are stored in the int8 export. */
  bias: 'float32' | 'int32';
}
