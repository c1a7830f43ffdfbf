/**
 * BERT encoder in TensorFlow.js ops (post-LN, as in the original BERT), with a tied MLM head and a
 * [CLS] sequence-classification head. Weights live in a Map of tf.Variables under the stable names
 * of ./weights.ts; nothing here owns training state, so pruning, distillation and QAT can act on the
 * same variables from the outside (masks after the optimizer step, a `linear` override for QAT).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../util/rng.js';
import { makeVariable } from '../util/tensors.js';
import { validateConfig, type BertConfig } from './config.js';
import { CLS, EMB, MLM, layerNames, weightShapes } from './weights.js';
import { checkpoint, SeedTape, type RecomputeMode } from './recompute.js';
import type { ModelSnapshot, WeightData } from './snapshot.js';

export interface BertModel {
  config: BertConfig;
  params: Map<string, tf.Variable>;
}

/** Tensors fed to the encoder; all [batch, seq]. */
export interface EncoderInputs {
  inputIds: tf.Tensor2D;
  tokenTypeIds: tf.Tensor2D;
  /** 1 for real tokens, 0 for padding (float32). */
  attentionMask: tf.Tensor2D;
}

/** y = x @ kernel + bias for x of shape [n, in]. QAT replaces this to fake-quantize x and kernel. */
export type LinearFn = (kernelName: string, x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor2D;

export interface ForwardOptions {
  training: boolean;
  /** Seeds dropout; required when training with dropout > 0. */
  rng?: Rng;
  linear?: LinearFn;
  /** Transforms an embedding table before the lookup (QAT fake-quantizes it when embeddings are int8). */
  embedding?: (name: string, table: tf.Tensor2D) => tf.Tensor2D;
  /** 'layers': keep only each encoder layer's input and recompute the layer in the backward pass. */
  recompute?: RecomputeMode;
}

export interface EncoderOutput {
  /** Final hidden states [B, S, H]. */
  sequence: tf.Tensor3D;
  /** Embedding output then every layer's output, each [B, S, H] (for hidden-state distillation). */
  hidden: tf.Tensor3D[];
}

export const denseLinear: LinearFn = (_name, x, kernel, bias) => tf.add(tf.matMul(x, kernel), bias);

/** Truncated normal (|z| <= 2) * std, as BERT initialises kernels and embeddings. */
function truncatedNormal(n: number, std: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let z = rng.normal();
    while (Math.abs(z) > 2) z = rng.normal();
    out[i] = z * std;
  }
  return out;
}

/** Fresh weights as plain data (deterministic from the seed, the same on every backend). */
export function initWeights(config: BertConfig, seed: number, opts: { mlmHead?: boolean } = {}): Map<string, WeightData> {
  validateConfig(config);
  const rng = new Rng(seed);
  const weights = new Map<string, WeightData>();
  for (const [name, shape] of weightShapes(config, opts)) {
    const size = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith('/gamma')) data = new Float32Array(size).fill(1);
    else if (name.endsWith('/bias') || name.endsWith('/beta') || name === MLM.outputBias) data = new Float32Array(size);
    else data = truncatedNormal(size, 0.02, rng);
    weights.set(name, { shape, data });
  }
  return weights;
}

export function modelFromSnapshot(snapshot: ModelSnapshot): BertModel {
  validateConfig(snapshot.config);
  const params = new Map<string, tf.Variable>();
  for (const [name, w] of snapshot.weights) {
    params.set(name, makeVariable(tf.tensor(w.data, w.shape, 'float32'), true, name));
  }
  return { config: { ...snapshot.config }, params };
}

export function createModel(config: BertConfig, seed: number, opts: { mlmHead?: boolean } = {}): BertModel {
  return modelFromSnapshot({ config, weights: initWeights(config, seed, opts) });
}

/** Copy of the weights as plain data. */
export function snapshotModel(model: BertModel): ModelSnapshot {
  const weights = new Map<string, WeightData>();
  for (const [name, v] of model.params) weights.set(name, { shape: [...v.shape], data: v.dataSync() as Float32Array });
  return { config: { ...model.config }, weights };
}

export function disposeModel(model: BertModel): void {
  for (const v of model.params.values()) v.dispose();
  model.params.clear();
}

function param(model: BertModel, name: string): tf.Variable {
  const v = model.params.get(name);
  if (!v) throw new Error(`model has no weight named '${name}'`);
  return v;
}

export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

export function activation(x: tf.Tensor, kind: BertConfig['hiddenAct']): tf.Tensor {
  if (kind === 'relu') return tf.relu(x);
  if (kind === 'gelu_tanh') {
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  }
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

function dropout(x: tf.Tensor, rate: number, opts: ForwardOptions, seed?: () => number): tf.Tensor {
  if (!opts.training || rate <= 0) return x;
  if (!opts.rng) throw new Error('dropout needs ForwardOptions.rng when training');
  return tf.dropout(x, rate, undefined, seed ? seed() : opts.rng.int(2 ** 31));
}

/** Applies a Linear layer to [B, S, in] through the (possibly overridden) linear function. */
function linear3d(model: BertModel, kernelName: string, biasName: string, x: tf.Tensor3D, opts: ForwardOptions): tf.Tensor3D {
  const [b, s, d] = x.shape;
  const kernel = param(model, kernelName) as unknown as tf.Tensor2D;
  const y = (opts.linear ?? denseLinear)(kernelName, tf.reshape(x, [b * s, d]), kernel, param(model, biasName) as unknown as tf.Tensor1D);
  return tf.reshape(y, [b, s, y.shape[1]]);
}

export function encode(model: BertModel, inputs: EncoderInputs, opts: ForwardOptions): EncoderOutput {
  const cfg = model.config;
  const [B, S] = inputs.inputIds.shape;
  if (S > cfg.maxPositions) throw new Error(`sequence length ${S} exceeds maxPositions ${cfg.maxPositions}`);
  const H = cfg.hiddenSize;

  const table = (name: string) => (opts.embedding ? opts.embedding(name, param(model, name) as unknown as tf.Tensor2D) : param(model, name));
  const words = tf.gather(table(EMB.word), tf.reshape(inputs.inputIds, [B * S]));
  const types = tf.gather(table(EMB.tokenType), tf.reshape(inputs.tokenTypeIds, [B * S]));
  const positions = tf.slice(table(EMB.position), [0, 0], [S, H]);
  let x = tf.add(tf.reshape(tf.add(words, types), [B, S, H]), positions) as tf.Tensor3D;
  x = layerNorm(x, param(model, EMB.lnGamma), param(model, EMB.lnBeta), cfg.layerNormEps) as tf.Tensor3D;
  x = dropout(x, cfg.hiddenDropout, opts) as tf.Tensor3D;
  const hidden: tf.Tensor3D[] = [x];

  // Additive padding mask, [B, 1, 1, S]: 0 where attended, -10000 where padded (as in BERT).
  const maskAdd = tf.reshape(tf.mul(tf.sub(1, inputs.attentionMask), -10000), [B, 1, 1, S]);

  const recompute = opts.recompute === 'layers' && opts.training;
  for (let i = 0; i < cfg.numLayers; i++) {
    if (recompute) {
      // The layer's dropout seeds come from opts.rng in the same order as without recomputation,
      // so both paths drop the same elements; the replay in the backward reuses them.
      const seeds = new SeedTape(() => opts.rng!.int(2 ** 31));
      const run = ([input, mask]: tf.Tensor[]) => {
        seeds.rewind();
        return encoderLayer(model, i, input as tf.Tensor3D, mask, opts, () => seeds.seed());
      };
      x = checkpoint(run, [x, maskAdd], layerWeights(model, i)) as tf.Tensor3D;
    } else {
      // One tidy per layer: without a tape (a frozen teacher) this frees the layer's intermediates at
      // once instead of at the end of the whole forward; with one, the tape holds what it needs.
      const input = x;
      x = tf.tidy(() => encoderLayer(model, i, input, maskAdd, opts));
    }
    hidden.push(x);
  }
  return { sequence: x, hidden };
}

/** The variables encoder layer i reads. */
export function layerWeights(model: BertModel, i: number): tf.Variable[] {
  const n = layerNames(i);
  const linears = [n.query, n.key, n.value, n.attnOut, n.ffnIn, n.ffnOut].flatMap((l) => [l.kernel, l.bias]);
  const norms = [n.attnLn, n.ffnLn].flatMap((l) => [l.gamma, l.beta]);
  return [...linears, ...norms].map((name) => param(model, name));
}

/**
 * One post-LN encoder layer on x [B, S, H] with the additive padding mask [B, 1, 1, S]. `seed`
 * supplies the dropout seeds (default: opts.rng).
 */
export function encoderLayer(model: BertModel, i: number, x: tf.Tensor3D, maskAdd: tf.Tensor, opts: ForwardOptions, seed?: () => number): tf.Tensor3D {
  const cfg = model.config;
  const [B, S, H] = x.shape;
  const A = cfg.numHeads;
  const D = H / A;
  const scale = 1 / Math.sqrt(D);
  const n = layerNames(i);
  const heads = (t: tf.Tensor3D) => tf.transpose(tf.reshape(t, [B, S, A, D]), [0, 2, 1, 3]);
  const q = heads(linear3d(model, n.query.kernel, n.query.bias, x, opts));
  const k = heads(linear3d(model, n.key.kernel, n.key.bias, x, opts));
  const v = heads(linear3d(model, n.value.kernel, n.value.bias, x, opts));
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), scale), maskAdd);
  const probs = dropout(tf.softmax(scores, -1), cfg.attentionDropout, opts, seed);
  const ctx = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [B, S, H]) as tf.Tensor3D;
  const attnOut = dropout(linear3d(model, n.attnOut.kernel, n.attnOut.bias, ctx, opts), cfg.hiddenDropout, opts, seed);
  const mid = layerNorm(tf.add(x, attnOut), param(model, n.attnLn.gamma), param(model, n.attnLn.beta), cfg.layerNormEps) as tf.Tensor3D;
  const inter = activation(linear3d(model, n.ffnIn.kernel, n.ffnIn.bias, mid, opts), cfg.hiddenAct) as tf.Tensor3D;
  const ffnOut = dropout(linear3d(model, n.ffnOut.kernel, n.ffnOut.bias, inter, opts), cfg.hiddenDropout, opts, seed);
  return layerNorm(tf.add(mid, ffnOut), param(model, n.ffnLn.gamma), param(model, n.ffnLn.beta), cfg.layerNormEps) as tf.Tensor3D;
}

/**
 * MLM logits at the given flat positions (b * S + s) only: the vocabulary projection is the
 * expensive part, so it is never computed for unmasked tokens.
 */
export function mlmLogits(model: BertModel, sequence: tf.Tensor3D, flatPositions: tf.Tensor1D): tf.Tensor2D {
  const cfg = model.config;
  const [B, S, H] = sequence.shape;
  const picked = tf.gather(tf.reshape(sequence, [B * S, H]), flatPositions) as tf.Tensor2D;
  let h = tf.add(tf.matMul(picked, param(model, MLM.transformKernel)), param(model, MLM.transformBias));
  h = activation(h, cfg.hiddenAct);
  h = layerNorm(h, param(model, MLM.lnGamma), param(model, MLM.lnBeta), cfg.layerNormEps);
  return tf.add(tf.matMul(h as tf.Tensor2D, param(model, EMB.word), false, true), param(model, MLM.outputBias)) as tf.Tensor2D;
}

/** Classification logits from the [CLS] token through the tanh pooler, [B, numLabels]. */
export function classifierLogits(model: BertModel, sequence: tf.Tensor3D, opts: ForwardOptions): tf.Tensor2D {
  const [B, , H] = sequence.shape;
  const cls = tf.reshape(tf.slice(sequence, [0, 0, 0], [B, 1, H]), [B, H]);
  const pooled = tf.tanh(tf.add(tf.matMul(cls, param(model, CLS.poolerKernel)), param(model, CLS.poolerBias)));
  const dropped = dropout(pooled, model.config.hiddenDropout, opts);
  return tf.add(tf.matMul(dropped as tf.Tensor2D, param(model, CLS.classifierKernel)), param(model, CLS.classifierBias)) as tf.Tensor2D;
}

/** Adds a freshly initialised classification head (pooler + classifier) for `numLabels` classes. */
export function addClassificationHead(model: BertModel, numLabels: number, seed: number): void {
  const cfg = { ...model.config, numLabels };
  const fresh = initWeights(cfg, seed);
  for (const name of [CLS.poolerKernel, CLS.poolerBias, CLS.classifierKernel, CLS.classifierBias]) {
    const w = fresh.get(name)!;
    model.params.get(name)?.dispose();
    model.params.set(name, makeVariable(tf.tensor(w.data, w.shape), true, name));
  }
  model.config = cfg;
}
