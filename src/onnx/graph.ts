/**
 * The BERT forward as an ONNX graph (opset 17), mirroring src/model/bert.ts in eval mode op for op:
 * embeddings -> LayerNorm -> L x (self-attention, residual + LayerNorm, FFN, residual + LayerNorm)
 * -> tanh pooler on [CLS] -> classifier. How each weight reaches the graph (float initializer,
 * int8 + DequantizeLinear, QDQ on a Linear's input) is decided by the caller through `GraphWeights`,
 * so the fp32 and int8 exports share this one graph definition.
 */
import { type BertConfig } from '../model/config.js';
import { CLS, EMB, layerNames, MLM } from '../model/weights.js';
import { attribute, DT, floatTensor, int64Tensor, type Attrs, type onnx } from './proto.js';

/** A tiny graph builder: unique node and value names, constants shared by value. */
export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly sparseInitializers: onnx.ISparseTensorProto[] = [];
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, string>();

  /** `base`, or `base_1`, `base_2`, ... if taken. */
  unique(base: string): string {
    let name = base;
    for (let k = 1; this.names.has(name); k++) name = `${base}_${k}`;
    this.names.add(name);
    return name;
  }

  /** Claims a name that must stay exactly as given (graph inputs, weight initializers). */
  claim(name: string): string {
    if (this.names.has(name)) throw new Error(`internal error: ONNX value name '${name}' used twice`);
    this.names.add(name);
    return name;
  }

  /** Adds a node named `${scope}/${opType}` (made unique) and returns its output value names. */
  node(opType: string, inputs: string[], opts: { scope: string; attrs?: Attrs; outputs?: number; outputNames?: string[]; domain?: string }): string[] {
    const name = this.unique(`${opts.scope}/${opType}`);
    const outputs = opts.outputNames ?? Array.from({ length: opts.outputs ?? 1 }, (_, k) => this.unique(`${name}:${k}`));
    const attribute_ = Object.entries(opts.attrs ?? {}).map(([k, v]) => attribute(k, v));
    this.nodes.push({ name, opType, input: inputs, output: outputs, attribute: attribute_, domain: opts.domain ?? '' });
    return outputs;
  }

  /** Single-output node. */
  op(opType: string, inputs: string[], scope: string, attrs?: Attrs): string {
    return this.node(opType, inputs, { scope, attrs })[0];
  }

  addInitializer(t: onnx.ITensorProto): string {
    this.claim(t.name!);
    this.initializers.push(t);
    return t.name!;
  }

  addSparseInitializer(t: onnx.ISparseTensorProto): string {
    this.claim(t.values!.name!);
    this.sparseInitializers.push(t);
    return t.values!.name!;
  }

  /** A float scalar constant (one initializer per distinct value). */
  scalar(v: number): string {
    return this.cached(`f:${v}`, () => floatTensor(this.unique(`const/float_${v}`), [], Float32Array.of(v)));
  }

  /** An int64 vector constant. */
  ints(values: number[]): string {
    return this.cached(`i:${values.join(',')}`, () => int64Tensor(this.unique(`const/int64_${values.join('_')}`), [values.length], values));
  }

  /** An int64 scalar constant. */
  int(v: number): string {
    return this.cached(`i0:${v}`, () => int64Tensor(this.unique(`const/int64_scalar_${v}`), [], [v]));
  }

  /** An initializer shared by every caller with the same `key`, named `base` (made unique). */
  cachedInitializer(key: string, make: (name: string) => onnx.ITensorProto, base: string): string {
    return this.cached(`t:${key}`, () => make(this.unique(base)));
  }

  private cached(key: string, make: () => onnx.ITensorProto): string {
    let name = this.constants.get(key);
    if (!name) {
      const t = make();
      this.initializers.push(t);
      name = t.name!;
      this.constants.set(key, name);
    }
    return name;
  }
}

/** How weights enter the graph; implemented by the exporter per format. */
export interface GraphWeights {
  /** Value name of the float weight `name` (an initializer, or a DequantizeLinear output). */
  float(b: GraphBuilder, name: string): string;
  /** Input of the Linear layer with this kernel: `x` itself, or `x` through QuantizeLinear/DequantizeLinear. */
  linearInput(b: GraphBuilder, kernelName: string, x: string): string;
}

export const INPUT_NAMES = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

/** Builds the graph body into `b`; returns the graph's inputs and outputs. */
export function buildBertGraph(
  b: GraphBuilder,
  cfg: BertConfig,
  w: GraphWeights,
  opts: { mlmHead?: boolean } = {},
): { inputs: onnx.IValueInfoProto[]; outputs: onnx.IValueInfoProto[] } {
  const H = cfg.hiddenSize;
  const A = cfg.numHeads;
  const D = H / A;
  const [ids, mask, types] = INPUT_NAMES.map((n) => b.claim(n));

  // Embeddings. Positions: the first `sequence` rows of the table, with the length read from the
  // input's shape at run time (Shape -> Slice [1:2] -> Slice of the table along axis 0).
  let s = 'embeddings';
  const words = b.op('Gather', [w.float(b, EMB.word), ids], s, { axis: 0 });
  const typeEmb = b.op('Gather', [w.float(b, EMB.tokenType), types], s, { axis: 0 });
  const seqLen = b.op('Slice', [b.op('Shape', [ids], s), b.ints([1]), b.ints([2])], s);
  const positions = b.op('Slice', [w.float(b, EMB.position), b.ints([0]), seqLen, b.ints([0])], s);
  // Same association as the tfjs forward: (words + types) + positions.
  const emb = b.op('Add', [b.op('Add', [words, typeEmb], s), positions], s);
  let x = layerNorm(b, s, emb, EMB.lnGamma, EMB.lnBeta, cfg, w);

  // Additive padding mask [B, 1, 1, S]: (1 - mask) * -10000, as in the tfjs forward.
  s = 'attention_mask';
  const maskF = b.op('Cast', [mask], s, { to: DT.FLOAT });
  const maskAdd = b.op('Unsqueeze', [b.op('Mul', [b.op('Sub', [b.scalar(1), maskF], s), b.scalar(-10000)], s), b.ints([1, 2])], s);
  const headsShape = b.ints([0, 0, A, D]);
  const mergedShape = b.ints([0, 0, H]);

  for (let i = 0; i < cfg.numLayers; i++) {
    const n = layerNames(i);
    s = `encoder/layer_${i}/attention`;
    const q = b.op('Transpose', [b.op('Reshape', [linear(b, s, x, n.query.kernel, n.query.bias, w), headsShape], s)], s, { perm: [0, 2, 1, 3] });
    const kT = b.op('Transpose', [b.op('Reshape', [linear(b, s, x, n.key.kernel, n.key.bias, w), headsShape], s)], s, { perm: [0, 2, 3, 1] });
    const v = b.op('Transpose', [b.op('Reshape', [linear(b, s, x, n.value.kernel, n.value.bias, w), headsShape], s)], s, { perm: [0, 2, 1, 3] });
    const scores = b.op('Add', [b.op('Mul', [b.op('MatMul', [q, kT], s), b.scalar(Math.fround(1 / Math.sqrt(D)))], s), maskAdd], s);
    const probs = b.op('Softmax', [scores], s, { axis: -1 });
    const ctx = b.op('Reshape', [b.op('Transpose', [b.op('MatMul', [probs, v], s)], s, { perm: [0, 2, 1, 3] }), mergedShape], s);
    const attnOut = linear(b, s, ctx, n.attnOut.kernel, n.attnOut.bias, w);
    x = layerNorm(b, s, b.op('Add', [x, attnOut], s), n.attnLn.gamma, n.attnLn.beta, cfg, w);

    s = `encoder/layer_${i}/ffn`;
    const inter = activation(b, s, linear(b, s, x, n.ffnIn.kernel, n.ffnIn.bias, w), cfg.hiddenAct);
    const ffnOut = linear(b, s, inter, n.ffnOut.kernel, n.ffnOut.bias, w);
    x = layerNorm(b, s, b.op('Add', [x, ffnOut], s), n.ffnLn.gamma, n.ffnLn.beta, cfg, w);
  }

  const inputs = INPUT_NAMES.map((name) => valueInfo(name, DT.INT64, ['batch', 'sequence']));
  if (cfg.numLabels === 0 && opts.mlmHead) {
    // The MLM head on every position (as BertForMaskedLM): transform, activation, LayerNorm, tied decoder.
    s = 'mlm';
    const t = activation(b, s, b.op('Add', [b.op('MatMul', [x, w.float(b, MLM.transformKernel)], s), w.float(b, MLM.transformBias)], s), cfg.hiddenAct);
    const h = layerNorm(b, s, t, MLM.lnGamma, MLM.lnBeta, cfg, w);
    const decoder = b.op('Transpose', [w.float(b, EMB.word)], s, { perm: [1, 0] });
    b.node('Add', [b.op('MatMul', [h, decoder], s), w.float(b, MLM.outputBias)], { scope: s, outputNames: [b.claim('logits')] });
    return { inputs, outputs: [valueInfo('logits', DT.FLOAT, ['batch', 'sequence', cfg.vocabSize])] };
  }
  if (cfg.numLabels === 0) {
    // No classification head: the encoder's last hidden state is the output.
    b.node('Identity', [x], { scope: 'output', outputNames: [b.claim('last_hidden_state')] });
    return { inputs, outputs: [valueInfo('last_hidden_state', DT.FLOAT, ['batch', 'sequence', H])] };
  }
  s = 'pooler';
  const cls = b.op('Gather', [x, b.int(0)], s, { axis: 1 });
  const pooled = b.op('Tanh', [b.op('Add', [b.op('MatMul', [cls, w.float(b, CLS.poolerKernel)], s), w.float(b, CLS.poolerBias)], s)], s);
  s = 'classifier';
  const mm = b.op('MatMul', [pooled, w.float(b, CLS.classifierKernel)], s);
  b.node('Add', [mm, w.float(b, CLS.classifierBias)], { scope: s, outputNames: [b.claim('logits')] });
  return { inputs, outputs: [valueInfo('logits', DT.FLOAT, ['batch', cfg.numLabels])] };
}

function linear(b: GraphBuilder, scope: string, x: string, kernel: string, bias: string, w: GraphWeights): string {
  const mm = b.op('MatMul', [w.linearInput(b, kernel, x), w.float(b, kernel)], scope);
  return b.op('Add', [mm, w.float(b, bias)], scope);
}

function layerNorm(b: GraphBuilder, scope: string, x: string, gamma: string, beta: string, cfg: BertConfig, w: GraphWeights): string {
  return b.op('LayerNormalization', [x, w.float(b, gamma), w.float(b, beta)], scope, { axis: -1, epsilon: { float: cfg.layerNormEps } });
}

function activation(b: GraphBuilder, scope: string, x: string, kind: BertConfig['hiddenAct']): string {
  if (kind === 'relu') return b.op('Relu', [x], scope);
  if (kind === 'gelu_tanh') {
    // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
    const cube = b.op('Mul', [b.op('Mul', [x, x], scope), x], scope);
    const inner = b.op('Mul', [b.op('Add', [x, b.op('Mul', [cube, b.scalar(0.044715)], scope)], scope), b.scalar(Math.fround(Math.sqrt(2 / Math.PI)))], scope);
    const t = b.op('Add', [b.op('Tanh', [inner], scope), b.scalar(1)], scope);
    return b.op('Mul', [b.op('Mul', [x, t], scope), b.scalar(0.5)], scope);
  }
  // Exact GELU, written in the Div/Erf/Add/Mul/Mul form ONNX Runtime's GeluFusion recognises.
  const erf = b.op('Erf', [b.op('Div', [x, b.scalar(Math.fround(Math.SQRT2))], scope)], scope);
  return b.op('Mul', [b.op('Mul', [x, b.op('Add', [erf, b.scalar(1)], scope)], scope), b.scalar(0.5)], scope);
}

export function valueInfo(name: string, elemType: number, dims: Array<number | string>): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
