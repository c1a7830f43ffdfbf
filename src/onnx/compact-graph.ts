/**
 * The ONNX side of compact storage (compact.ts): a subgraph of standard opset-17 ops whose inputs
 * are all initializers and whose output, named as the weight itself, is the dense integer tensor.
 * ONNX Runtime constant-folds it when a session starts (before its QDQ fusions), so the optimized
 * graph holds a plain int8 initializer and inference costs nothing extra.
 *
 *   mask: bits = Slice(Reshape(Mod(Div(Unsqueeze(Cast<int64>(mask), 1), [1,2,..,128]), 2), [-1]), 0, numel)
 *         weight = Reshape(Gather(Concat([0], values), CumSum(bits) * bits), shape)
 *   gaps: weight = Reshape(ScatterElements(Expand([0], [numel]), CumSum(Cast<int64>(gaps)) - 1, values), shape)
 *   nibbles: q8 = Slice(Reshape(Mod(Div(Unsqueeze(Cast<int32>(nibbles), 1), [1,16]), 16), [-1]), 0, numel)
 *            weight = Reshape(Cast<int8>(Sub(q8, 8)), shape)
 *            (int32, not int64: ONNX Runtime folds a 1M-entry table in about half the time)
 *
 * `recogniseCompact` finds these patterns in any graph, so `inspect` can decode them.
 */
import type { CompactEncoded, CompactEncoding } from './compact.js';
import type { GraphBuilder } from './graph.js';
import { bytesOf, DT, getAttr, rawTensor, toNumber, type Long, type onnx } from './proto.js';

const POWERS_OF_TWO = [1, 2, 4, 8, 16, 32, 64, 128];
/** Divisors that bring the low and the high nibble of a byte down (then Mod 16). */
const NIBBLE_PLACES = [1, 16];

/** Adds the parts (`<name>/mask` or `<name>/gaps` and `<name>/values`, or `<name>/nibbles`) and the decoding subgraph; returns `name`. */
export function addCompactWeight(b: GraphBuilder, name: string, dataType: number, shape: readonly number[], e: CompactEncoded): string {
  // Short node and value names: about 13 nodes per weight, each name written up to three times
  // (node, output, next input), would otherwise cost ~2 KB a weight in a file where bytes matter.
  const s = b.unique('dec');
  const numel = shape.reduce((a, c) => a * c, 1);
  if (e.encoding === 'nibbles') {
    if (dataType !== DT.INT8) throw new Error(`internal error: nibble-packed weight '${name}' must be int8`);
    const packed = b.addInitializer(rawTensor(`${name}/nibbles`, DT.UINT8, [e.packed.length], bytesOf(e.packed)));
    const i32 = (v: number[], dims: number[]) =>
      b.cachedInitializer(
        `i32:${dims.length}:${v.join(',')}`,
        (n) => rawTensor(n, DT.INT32, dims, bytesOf(Int32Array.from(v))),
        `const/int32_${dims.length ? '' : 'scalar_'}${v.join('_')}`,
      );
    const wide = b.op('Unsqueeze', [b.op('Cast', [packed], s, { to: DT.INT32 }), b.ints([1])], s);
    const pairs = b.op('Mod', [b.op('Div', [wide, i32(NIBBLE_PLACES, [2])], s), i32([16], [])], s);
    const offset = b.op('Slice', [b.op('Reshape', [pairs, b.ints([-1])], s), b.ints([0]), b.ints([numel]), b.ints([0])], s);
    const ints = b.op('Cast', [b.op('Sub', [offset, i32([8], [])], s)], s, { to: DT.INT8 });
    b.node('Reshape', [ints, b.ints([...shape])], { scope: s, outputNames: [b.claim(name)] });
    return name;
  }
  const values = b.addInitializer(rawTensor(`${name}/values`, dataType, [e.values.length], bytesOf(e.values)));
  const zero = b.cachedInitializer(
    `zero:${dataType}`,
    (n) => rawTensor(n, dataType, [1], new Uint8Array(1)),
    `const/zero_${dataType === DT.INT8 ? 'int8' : 'uint8'}`,
  );
  let dense: string;
  if (e.encoding === 'mask') {
    const mask = b.addInitializer(rawTensor(`${name}/mask`, DT.UINT8, [e.mask.length], bytesOf(e.mask)));
    const wide = b.op('Unsqueeze', [b.op('Cast', [mask], s, { to: DT.INT64 }), b.ints([1])], s);
    const bits8 = b.op('Mod', [b.op('Div', [wide, b.ints(POWERS_OF_TWO)], s), b.int(2)], s);
    const bits = b.op('Slice', [b.op('Reshape', [bits8, b.ints([-1])], s), b.ints([0]), b.ints([numel]), b.ints([0])], s);
    const index = b.op('Mul', [b.op('CumSum', [bits, b.int(0)], s), bits], s);
    dense = b.op('Gather', [b.op('Concat', [zero, values], s, { axis: 0 }), index], s, { axis: 0 });
  } else {
    const gaps = b.addInitializer(rawTensor(`${name}/gaps`, DT.UINT8, [e.gaps.length], bytesOf(e.gaps)));
    const positions = b.op('Sub', [b.op('CumSum', [b.op('Cast', [gaps], s, { to: DT.INT64 }), b.int(0)], s), b.int(1)], s);
    const zeros = b.op('Expand', [zero, b.ints([numel])], s);
    dense = b.op('ScatterElements', [zeros, positions, values], s, { axis: 0 });
  }
  b.node('Reshape', [dense, b.ints([...shape])], { scope: s, outputNames: [b.claim(name)] });
  return name;
}

/** A compact weight found in a graph: its parts' initializer names and the shape it decodes to. */
export interface CompactPattern {
  /** The value the subgraph produces (the weight's name in our files). */
  output: string;
  encoding: CompactEncoding;
  /** The mask or gaps initializer; absent for nibbles, whose one part is `values`. */
  index?: string;
  /** The values initializer (mask, gaps), or the packed nibbles. */
  values: string;
  shape: number[];
}

/** Finds the mask, gaps and nibbles subgraphs in one graph (exact op pattern; parts must be initializers). */
export function recogniseCompact(graph: onnx.IGraphProto): CompactPattern[] {
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const op = (value: string | undefined, type: string): onnx.INodeProto | null => {
    const n = value === undefined ? undefined : producer.get(value);
    return n && n.opType === type && (!n.domain || n.domain === 'ai.onnx') ? n : null;
  };
  const int64s = (value: string | undefined): number[] | null => {
    const t = value === undefined ? undefined : inits.get(value);
    if (!t || t.dataType !== DT.INT64) return null;
    if (t.rawData && t.rawData.length) return Array.from(new BigInt64Array(new Uint8Array(t.rawData).buffer), Number);
    return (t.int64Data ?? []).map((v) => toNumber(v as number | Long));
  };
  const int32s = (value: string | undefined): number[] | null => {
    const t = value === undefined ? undefined : inits.get(value);
    if (!t || t.dataType !== DT.INT32) return null;
    if (t.rawData && t.rawData.length) return Array.from(new Int32Array(new Uint8Array(t.rawData).buffer));
    return [...(t.int32Data ?? [])];
  };
  const isInit = (v: string | undefined) => v !== undefined && inits.has(v);

  const found: CompactPattern[] = [];
  for (const reshape of graph.node ?? []) {
    if (reshape.opType !== 'Reshape' || (reshape.domain && reshape.domain !== 'ai.onnx')) continue;
    const [data, shapeValue] = reshape.input ?? [];
    const shape = int64s(shapeValue);
    const output = reshape.output?.[0];
    if (!shape || !output || shape.some((d) => d < 0)) continue;

    const cast8 = op(data, 'Cast');
    if (cast8) {
      // int8 <- Cast <- Sub <- Slice <- Reshape <- Mod <- Div <- Unsqueeze <- Cast (int32 or int64) <- nibbles initializer
      // (its constants checked too: another graph's look-alike must not be decoded as ours).
      let v: string | undefined = cast8.input?.[0];
      const nodes: Record<string, onnx.INodeProto> = {};
      const chain = ['Sub', 'Slice', 'Reshape', 'Mod', 'Div', 'Unsqueeze', 'Cast'].every((t) => {
        const n = op(v, t);
        if (n) nodes[t] = n;
        v = n?.input?.[0];
        return !!n;
      });
      const is = (value: string | undefined, expected: number[]) => (int32s(value) ?? int64s(value))?.join() === expected.join();
      const constants = chain && is(nodes.Sub.input?.[1], [8]) && is(nodes.Mod.input?.[1], [16]) && is(nodes.Div.input?.[1], NIBBLE_PLACES);
      if (constants && Number(getAttr(cast8, 'to')) === DT.INT8 && isInit(v) && inits.get(v!)!.dataType === DT.UINT8) {
        found.push({ output, encoding: 'nibbles', values: v!, shape });
      }
      continue;
    }
    const gather = op(data, 'Gather');
    if (gather) {
      const concat = op(gather.input?.[0], 'Concat');
      const mul = op(gather.input?.[1], 'Mul');
      const [zero, values] = concat?.input ?? [];
      if (!concat || concat.input?.length !== 2 || !isInit(zero) || !isInit(values) || !mul) continue;
      const [cum, bits] = mul.input ?? [];
      if (op(cum, 'CumSum')?.input?.[0] !== bits) continue;
      // bits <- Slice <- Reshape <- Mod <- Div <- Unsqueeze <- Cast <- mask initializer
      let v: string | undefined = bits;
      let ok = true;
      for (const t of ['Slice', 'Reshape', 'Mod', 'Div', 'Unsqueeze', 'Cast']) {
        const n = op(v, t);
        if (!n) {
          ok = false;
          break;
        }
        v = n.input?.[0];
      }
      if (ok && isInit(v) && inits.get(v!)!.dataType === DT.UINT8) found.push({ output, encoding: 'mask', index: v!, values: values!, shape });
      continue;
    }
    const scatter = op(data, 'ScatterElements');
    if (scatter && Number(getAttr(scatter, 'axis') ?? 0) === 0) {
      const [zeros, positions, values] = scatter.input ?? [];
      const expand = op(zeros, 'Expand');
      const sub = op(positions, 'Sub');
      const cast = op(op(sub?.input?.[0], 'CumSum')?.input?.[0], 'Cast');
      const gaps = cast?.input?.[0];
      if (expand && isInit(expand.input?.[0]) && isInit(values) && isInit(gaps) && inits.get(gaps!)!.dataType === DT.UINT8) {
        found.push({ output, encoding: 'gaps', index: gaps!, values: values!, shape });
      }
    }
  }
  return found;
}
