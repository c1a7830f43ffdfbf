import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, valueInfo } from '../../src/onnx/graph.js';
import { DT, encodeModel, floatTensor, int8Tensor } from '../../src/onnx/proto.js';
import { candidateFormats, chooseStorage, sparseBytes, sparseTensor, type SparseFormat } from '../../src/onnx/sparse.js';

/** int8 values with roughly `density` non-zeros, deterministic. */
function pruned(n: number, density: number, seed = 1): Int8Array {
  const out = new Int8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    if ((s >>> 8) / 2 ** 24 < density) out[i] = ((s >>> 3) % 255) - 127 || 1;
  }
  return out;
}

/** A model whose only output is DequantizeLinear(sparse W) (scale 1, zero point 0). */
function probeModel(w: Int8Array, shape: number[], f: SparseFormat): Uint8Array {
  const b = new GraphBuilder();
  b.addSparseInitializer(sparseTensor('W', DT.INT8, w, shape, f));
  b.addInitializer(floatTensor('s', [], Float32Array.of(1)));
  b.addInitializer(int8Tensor('z', [], Int8Array.of(0)));
  b.claim('x');
  const dq = b.op('DequantizeLinear', ['W', 's', 'z'], 'probe');
  b.node('Add', [dq, 'x'], { scope: 'probe', outputNames: [b.claim('y')] });
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'probe',
      node: b.nodes,
      initializer: b.initializers,
      sparseInitializer: b.sparseInitializers,
      input: [valueInfo('x', DT.FLOAT, shape)],
      output: [valueInfo('y', DT.FLOAT, shape)],
    },
  });
}

describe('sparse storage choice', () => {
  it('picks the smallest index type per layout', () => {
    expect(candidateFormats([8, 16])).toEqual([
      { layout: 'linear', indexDtype: 'int8' },
      { layout: 'coo', indexDtype: 'int8' },
    ]);
    expect(candidateFormats([768, 3072])).toEqual([
      { layout: 'linear', indexDtype: 'int32' },
      { layout: 'coo', indexDtype: 'int16' },
    ]);
    expect(candidateFormats([100, 300])).toEqual([
      { layout: 'linear', indexDtype: 'int16' },
      { layout: 'coo', indexDtype: 'int16' },
    ]);
    expect(candidateFormats([8, 16], 'auto-int64').every((f) => f.indexDtype === 'int64')).toBe(true);
    expect(sparseBytes(10, [768, 3072], { layout: 'coo', indexDtype: 'int16' })).toBe(50);
  });

  it('chooses whichever of dense and sparse is smaller', () => {
    const shape = [128, 128]; // linear int16 (3 B/nnz) beats COO int8 pairs (3 B/nnz) on the tie; dense 1 B/elem
    const sparse = chooseStorage(pruned(128 * 128, 0.1), shape);
    expect(sparse.storage).toBe('sparse');
    expect(sparse.bytes).toBe(sparse.nonZeros * 3);
    expect(sparse.bytes).toBeLessThan(sparse.denseBytes);
    const dense = chooseStorage(pruned(128 * 128, 0.5), shape);
    expect(dense.storage).toBe('dense');
    expect(dense.bytes).toBe(128 * 128);
    expect(chooseStorage(pruned(128 * 128, 0.1), shape, 'off').storage).toBe('dense');
    // int64 linear indices cost 9 B per non-zero: 10% density still wins, 15% does not.
    expect(chooseStorage(pruned(128 * 128, 0.1), shape, 'auto-int64').storage).toBe('sparse');
    expect(chooseStorage(pruned(128 * 128, 0.15), shape, 'auto-int64').storage).toBe('dense');
  });
});

describe('sparse initializers in ONNX Runtime', () => {
  const cases: Array<[number[], SparseFormat]> = [
    [[8, 16], { layout: 'linear', indexDtype: 'int8' }],
    [[100, 200], { layout: 'linear', indexDtype: 'int16' }],
    [[200, 200], { layout: 'linear', indexDtype: 'int32' }],
    [[8, 16], { layout: 'linear', indexDtype: 'int64' }],
    [[8, 16], { layout: 'coo', indexDtype: 'int8' }],
    [[200, 200], { layout: 'coo', indexDtype: 'int16' }],
    [[8, 16], { layout: 'coo', indexDtype: 'int32' }],
    [[8, 16], { layout: 'coo', indexDtype: 'int64' }],
  ];
  for (const [shape, f] of cases) {
    it(`loads ${f.layout} ${f.indexDtype} indices (${shape.join('x')}) and densifies them exactly`, async () => {
      const n = shape[0] * shape[1];
      const w = pruned(n, 0.15, n);
      const session = await ort.InferenceSession.create(probeModel(w, shape, f), { intraOpNumThreads: 1 });
      const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(n), shape) });
      expect(Array.from(out.y.data as Float32Array)).toEqual(Array.from(w));
      await session.release();
    });
  }
});
