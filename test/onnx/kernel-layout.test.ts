import { describe, expect, it } from 'vitest';
import { layoutFromDense } from '../../src/backend/sparse/spmm.js';
import { CompactEncodingError, encodeGaps, encodeMask, encodeNibbles } from '../../src/onnx/compact.js';
import { kernelLayoutOf } from '../../src/onnx/kernel-layout.js';
import { Rng } from '../../src/util/rng.js';

describe('kernelLayoutOf: the exporter storage to the sparse kernel layout', () => {
  const rng = new Rng(5);
  const [inDim, outDim] = [300, 7]; // gaps above 255 need fillers
  const q = new Int8Array(inDim * outDim);
  for (let f = 0; f < q.length; f++) if (rng.next() < 0.05) q[f] = rng.int(15) - 7 || 1;
  const scale = Float32Array.from({ length: outDim }, (_, o) => 0.01 * (o + 1));
  const want = layoutFromDense(q, inDim, outDim, scale);

  it('mask, gaps (with fillers), nibbles and dense give the same layout, by output row with even counts', () => {
    for (const stored of [encodeMask(q), encodeGaps(q), encodeNibbles('w', q), q]) {
      expect(kernelLayoutOf('w', [inDim, outDim], stored, scale)).toEqual(want);
    }
    for (let o = 0; o < outDim; o++) expect((want.rowStart[o + 1] - want.rowStart[o]) % 2).toBe(0);
    // Column o's non-zeros, in input order, are row o of the layout (padding: column 0, value 0).
    const o = 3;
    const expected = [...Array(inDim).keys()].filter((i) => q[i * outDim + o] !== 0);
    const got = [...want.cols.subarray(want.rowStart[o], want.rowStart[o + 1])].filter((_, k) => want.vals[want.rowStart[o] + k] !== 0);
    expect(got).toEqual(expected);
  });

  it('names the tensor when the storage does not describe the shape, or holds uint8', () => {
    expect(() => kernelLayoutOf('enc/w', [inDim, outDim + 1], encodeMask(q), scale)).toThrow(CompactEncodingError);
    expect(() => kernelLayoutOf('enc/w', [inDim, outDim], encodeMask(new Uint8Array(q.buffer)), scale)).toThrow(/enc\/w.*uint8/);
    expect(() => kernelLayoutOf('enc/w', [inDim * outDim], q, scale)).toThrow(/enc\/w.*2-D/);
  });
});
