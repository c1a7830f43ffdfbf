import type { BertConfig } from './config.js';

/** A weight as plain data: what checkpoints store and exporters consume (no tensors, no backend). */
export interface WeightData {
  shape: number[];
  data: Float32Array;
}

/** A model frozen to plain data. */
export interface ModelSnapshot {
  config: BertConfig;
  weights: Map<string, WeightData>;
}
