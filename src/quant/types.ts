/**
 * A quantizer is plain settings. Training's fake quantization and the exporter call the same
 * functions in ./quantize.ts with these, so the exported integers are the trained integers.
 */
/** Integer widths a quantizer may use; the integers are stored in int8/uint8 (4 bits: packed two a byte, onnx/compact.ts). */
export type QuantBits = 4 | 5 | 6 | 7 | 8;

export interface QuantizerSpec {
  bits: QuantBits;
  /** symmetric: zero point 0, int8 (integers within the spec's bits); asymmetric: uint8 with a zero point. */
  symmetric: boolean;
  /** One scale per output channel (last axis of a [in, out] kernel; first axis of an embedding table). */
  perChannel: boolean;
  /** Symmetric range [-(2^(bits-1) - 1), 2^(bits-1) - 1] (8 bits: [-127, 127], 4 bits: [-7, 7]) instead of one more negative level. */
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
  /**
   * The embedding tables' quantizer (e.g. 4 bits, per row); absent = weightSpec, as in checkpoints
   * and quantization JSON written before it existed. Read it through `embeddingSpecOf`.
   */
  embeddingSpec?: QuantizerSpec;
  /** Per quantized kernel name (e.g. encoder/layer_0/attention/query/kernel). */
  weights: Record<string, QuantParams>;
  /** Per quantized kernel name: the params of that Linear layer's input activation. */
  inputs: Record<string, QuantParams>;
  /** Embedding tables quantized (per row, with embeddingSpec), if that option was on. */
  embeddings: Record<string, QuantParams>;
  /** How biases are stored in the int8 export. */
  bias: 'float32' | 'int32';
}
