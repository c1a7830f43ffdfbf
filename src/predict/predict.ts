/**
 * `predict`: labels and scores for texts from a prune-once int8 model in onnxruntime-node, tokenized
 * by prune-once's own tokenizer and batched exactly as the pipeline evaluates (src/data: encode,
 * 'longest' padding), so its accuracy on a test split is the report's int8 accuracy. Scores are the
 * softmax of the logits, as transformers.js's text-classification pipeline gives them.
 */
import { clsEvalBatches, encodeExamples } from '../data/index.js';
import { createSession, runLogits, type Session } from '../onnx/index.js';
import type { PredictInput } from './inputs.js';
import { resolvePredictModel, type PredictModel } from './model.js';
import { softmax } from '../util/stats.js';

export interface Prediction {
  text: string;
  textPair?: string;
  /** The most likely label and its probability. */
  label: string;
  score: number;
  /** Every label's probability. */
  scores: Record<string, number>;
  /** The expected label, when the input gave one. */
  expected?: string;
  where?: string;
}

export interface PredictOptions {
  /** Rows per ONNX Runtime call (default 32). */
  batchSize?: number;
  /** Intra-op threads (default: ONNX Runtime's). */
  threads?: number;
}

/** A loaded model that classifies many inputs; release it when done. */
export interface Predictor {
  model: PredictModel;
  classify(inputs: ReadonlyArray<string | PredictInput>): Promise<Prediction[]>;
  release(): Promise<void>;
}

export { softmax };

export async function openPredictor(model: string | PredictModel, opts: PredictOptions = {}): Promise<Predictor> {
  const m = typeof model === 'string' ? resolvePredictModel(model) : model;
  const session: Session = await createSession(m.onnxPath, opts.threads ? { threads: opts.threads } : {});
  const n = m.labels.length;
  return {
    model: m,
    async classify(raw) {
      const inputs = raw.map((r): PredictInput => (typeof r === 'string' ? { text: r } : r));
      if (inputs.length === 0) return [];
      const encoded = encodeExamples(
        m.tokenizer,
        inputs.map((x) => ({ text: x.text, ...(x.textPair !== undefined ? { textPair: x.textPair } : {}), label: 0, group: '' })),
        m.maxLength,
      );
      const logits = new Float32Array(inputs.length * n);
      let row = 0;
      for (const batch of clsEvalBatches(encoded, { batchSize: opts.batchSize ?? 32, padding: 'longest' })) {
        logits.set(await runLogits(session, batch), row * n);
        row += batch.batchSize;
      }
      return inputs.map((x, i) => {
        const p = softmax(logits.subarray(i * n, (i + 1) * n));
        const best = p.reduce((b, v, c) => (v > p[b] ? c : b), 0);
        return {
          text: x.text,
          ...(x.textPair !== undefined ? { textPair: x.textPair } : {}),
          label: m.labels[best],
          score: p[best],
          scores: Object.fromEntries(m.labels.map((l, c) => [l, p[c]])),
          ...(x.label !== undefined ? { expected: x.label } : {}),
          ...(x.where ? { where: x.where } : {}),
        };
      });
    },
    release: () => session.release(),
  };
}

/**
 * Classifies `inputs` with the int8 model of `model` (a transformers.js folder, a run or task
 * directory, or an .onnx file; see ./model.ts).
 */
export async function predict(model: string | PredictModel, inputs: ReadonlyArray<string | PredictInput>, opts: PredictOptions = {}): Promise<Prediction[]> {
  const p = await openPredictor(model, opts);
  try {
    return await p.classify(inputs);
  } finally {
    await p.release();
  }
}

/** Share of predictions equal to their expected label, over the inputs that have one (null if none do). */
export function predictionAccuracy(predictions: readonly Prediction[]): { correct: number; total: number; accuracy: number } | null {
  const labelled = predictions.filter((p) => p.expected !== undefined);
  if (!labelled.length) return null;
  const correct = labelled.filter((p) => p.label === p.expected).length;
  return { correct, total: labelled.length, accuracy: correct / labelled.length };
}
