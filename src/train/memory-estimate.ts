/**
 * How much memory one thread's forward/backward of a training step needs at least, from the model's
 * shape: the weights and their gradients, plus per row the activations the backward pass keeps
 * (per encoder layer: Q, K, V, context, outputs and LayerNorms ~8 x hidden, the FFN's 2 x
 * intermediate, the attention scores and probabilities 2 x heads x seq per token), the MLM logits
 * over the vocabulary at the masked 15% and, when distilling, the frozen teacher's forward. It
 * counts only what must be live at once, so it is a lower bound: a step it says cannot fit does not
 * fit, and the run is refused before any training instead of crashing after minutes. AdamW's
 * moments are kept in JavaScript (host-adam.ts), outside the wasm heap.
 */
import type { BertConfig } from '../model/config.js';
import type { RecomputeMode } from '../model/recompute.js';

export type ModelShape = Pick<BertConfig, 'numLayers' | 'hiddenSize' | 'numHeads' | 'intermediateSize' | 'vocabSize' | 'maxPositions'>;

export interface StepShape {
  model: ModelShape;
  /** Tokens per row. */
  seq: number;
  objective: 'mlm' | 'classification';
  recompute: RecomputeMode;
  /** The frozen teacher run forward for distillation (no gradient, so one layer's activations at a time). */
  teacher?: ModelShape;
}

/** Bytes one thread needs for a forward/backward of `rows` rows: fixedBytes + rows x bytesPerRow. */
export interface StepMemory {
  fixedBytes: number;
  bytesPerRow: number;
}

const FLOAT = 4;
/** Share of positions the MLM objective masks and predicts. */
const MASKED = 0.15;

/** Parameters of an encoder with its MLM head (the classification head is negligible). */
export function parameterCount(m: ModelShape): number {
  const { hiddenSize: h, intermediateSize: i, vocabSize: v, maxPositions: p, numLayers: l } = m;
  const layer = 4 * h * h + 4 * h + 2 * h * i + i + h + 4 * h;
  return v * h + p * h + 2 * h + 2 * h + l * layer + h * h + 3 * h + v;
}

/** Floats a layer keeps per row for its backward pass. */
function layerFloats(m: ModelShape, seq: number): number {
  return seq * (8 * m.hiddenSize + 2 * m.intermediateSize) + 2 * m.numHeads * seq * seq;
}

export function stepMemory(s: StepShape): StepMemory {
  const { model: m, seq } = s;
  const masked = s.objective === 'mlm' ? Math.ceil(MASKED * seq) : 0;
  const layer = layerFloats(m, seq);
  const encoder = s.recompute === 'layers' ? m.numLayers * seq * m.hiddenSize + layer : m.numLayers * layer;
  // Logits and their gradient (or the probabilities) at the masked positions.
  const head = 2 * masked * (m.vocabSize + m.hiddenSize);
  const teacher = s.teacher ? layerFloats(s.teacher, seq) + masked * s.teacher.vocabSize : 0;
  const perRow = 2 * seq * m.hiddenSize + encoder + head + teacher;
  const fixed = 2 * parameterCount(m) + (s.teacher ? parameterCount(s.teacher) : 0);
  return { fixedBytes: FLOAT * fixed, bytesPerRow: FLOAT * perRow };
}

/** The most rows whose step fits in `limitBytes` (0 when not even one does). */
export function rowsThatFit(mem: StepMemory, limitBytes: number): number {
  return Math.max(0, Math.floor((limitBytes - mem.fixedBytes) / mem.bytesPerRow));
}
