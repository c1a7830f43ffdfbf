import { describe, expect, it } from 'vitest';
import {
  applyMask,
  blockMask,
  globalMagnitudeMask,
  magnitudeMask,
  maskRegistry,
  patternLockMask,
  pruneCount,
  type WeightTensor,
} from '../../src/prune/masks.js';
import { countNonZeros } from '../../src/model/sparsity.js';
import { Rng } from '../../src/util/rng.js';

const t = (shape: number[], values: number[] | Float32Array): WeightTensor => ({ shape, data: Float32Array.from(values) });
const one = (w: WeightTensor, name = 'w') => new Map([[name, w]]);
const zeros = (m: Uint8Array) => m.length - countNonZeros(m);

function random(shape: number[], seed: number, levels = 0): WeightTensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = rng.normal();
    // With `levels`, magnitudes collapse onto a few values: a tie-heavy input.
    data[i] = levels > 0 ? Math.round(x * levels) / levels : x;
  }
  return { shape, data };
}

/**
 * Brute-force reference for the documented order: |x| ascending (as float32), then tensor
 * position, then flat index; the first k are pruned.
 */
function reference(datas: Float32Array[], k: number): Uint8Array[] {
  const entries: { s: number; a: number; i: number }[] = [];
  datas.forEach((d, a) => d.forEach((x, i) => entries.push({ s: Math.abs(x), a, i })));
  entries.sort((p, q) => p.s - q.s || p.a - q.a || p.i - q.i);
  const masks = datas.map((d) => new Uint8Array(d.length).fill(1));
  for (const e of entries.slice(0, k)) masks[e.a][e.i] = 0;
  return masks;
}

describe('pruneCount', () => {
  it('is floor(target * n), robust to products that round just below an integer', () => {
    expect(0.57 * 100).toBeLessThan(57); // the floating-point trap this guards against
    expect(pruneCount(0.57, 100)).toBe(57);
    expect(pruneCount(0.9, 10)).toBe(9);
    expect(pruneCount(0.95, 10)).toBe(9);
    expect(pruneCount(0.3, 7)).toBe(2);
    expect(pruneCount(0, 1000)).toBe(0);
    expect(pruneCount(1, 1000)).toBe(1000);
    expect(pruneCount(0.9, 768 * 3072)).toBe(2123366);
  });
});

describe('magnitude', () => {
  it('prunes the smallest |w|, lower index first among equal magnitudes', () => {
    const w = t([8], [2, 1, -1, 1, 3, -1, 1, 2]);
    const m = magnitudeMask(one(w), 0.5).get('w')!;
    expect([...m]).toEqual([1, 0, 0, 0, 1, 0, 1, 1]);
  });

  it('treats -0 and +0 alike and ties all-equal tensors by index', () => {
    expect([...magnitudeMask(one(t([5], [0, -0, 0, -0, 0])), 0.6).get('w')!]).toEqual([0, 0, 0, 1, 1]);
    expect([...magnitudeMask(one(t([10], new Float32Array(10).fill(0.7))), 0.35).get('w')!]).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('prunes exactly floor(target * n) per tensor and matches the reference order', () => {
    const weights = new Map([
      ['a', random([13, 17], 1)],
      ['b', random([16, 16], 2, 4)], // tie-heavy
      ['c', random([7], 3)],
    ]);
    for (const target of [0, 0.1, 0.5, 0.57, 0.9, 1]) {
      const masks = magnitudeMask(weights, target);
      for (const [name, w] of weights) {
        const m = masks.get(name)!;
        expect(zeros(m)).toBe(pruneCount(target, w.data.length));
        expect(m).toEqual(reference([w.data], pruneCount(target, w.data.length))[0]);
      }
    }
    expect(zeros(magnitudeMask(weights, 0.57).get('a')!)).toBe(125); // floor(0.57 * 221)
  });

  it('handles magnitudes that share their high bits (second radix pass) and infinities', () => {
    const base = 1.5;
    const vals = [base, Math.fround(base + 2 ** -22), Math.fround(base + 2 ** -23), -base, Infinity, -Infinity, 1e-30, NaN];
    // order: 1e-30 (6), 1.5 (0), -1.5 (3), 1.5+2^-23 (2), 1.5+2^-22 (1), Inf (4), -Inf (5), NaN (7)
    expect([...magnitudeMask(one(t([8], vals)), 0.5).get('w')!]).toEqual([0, 1, 0, 0, 1, 1, 0, 1]);
    expect([...magnitudeMask(one(t([8], vals)), 0.75).get('w')!]).toEqual([0, 0, 0, 0, 0, 1, 0, 1]);
  });

  it('is deterministic and leaves its input untouched', () => {
    const w = random([32, 48], 7, 3);
    const before = w.data.slice();
    const a = magnitudeMask(one(w), 0.8).get('w')!;
    const b = magnitudeMask(one(w), 0.8).get('w')!;
    expect(a).toEqual(b);
    expect(w.data).toEqual(before);
  });

  it('masks a BERT-base-sized 768x3072 kernel exactly', () => {
    const w = random([768, 3072], 11);
    const m = magnitudeMask(one(w), 0.9).get('w')!;
    expect(zeros(m)).toBe(2123366);
    // Every pruned |w| <= every kept |w|: the threshold is the k-th smallest.
    const sorted = new Float32Array(w.data.length);
    for (let i = 0; i < sorted.length; i++) sorted[i] = Math.abs(w.data[i]);
    sorted.sort();
    const thr = sorted[2123366 - 1];
    let maxPruned = 0;
    let minKept = Infinity;
    for (let i = 0; i < m.length; i++) {
      const s = Math.abs(w.data[i]);
      if (m[i]) minKept = Math.min(minKept, s);
      else maxPruned = Math.max(maxPruned, s);
    }
    expect(maxPruned).toBe(thr);
    expect(minKept).toBeGreaterThanOrEqual(thr);
  });

  it('rejects a bad target and a shape that does not match the data', () => {
    expect(() => magnitudeMask(one(t([2], [1, 2])), 1.5)).toThrowError('target sparsity must be a number in [0, 1]; got 1.5');
    expect(() => magnitudeMask(one(t([2], [1, 2])), NaN)).toThrowError(/got NaN/);
    expect(() => magnitudeMask(one(t([2, 2], [1, 2]), 'enc.0.q'), 0.5)).toThrowError("weight 'enc.0.q': shape [2, 2] has 4 entries but data has 2");
  });
});

describe('global-magnitude', () => {
  it('uses one threshold: a tensor with uniformly larger weights ends up less sparse', () => {
    const rng = new Rng(5);
    const small = t(
      [100],
      Array.from({ length: 100 }, () => rng.next()),
    );
    const large = t(
      [100],
      Array.from({ length: 100 }, () => 10 + rng.next()),
    );
    const masks = globalMagnitudeMask(
      new Map([
        ['large', large],
        ['small', small],
      ]),
      0.5,
    );
    expect(zeros(masks.get('small')!)).toBe(100);
    expect(zeros(masks.get('large')!)).toBe(0);

    const masks2 = globalMagnitudeMask(
      new Map([
        ['large', large],
        ['small', small],
      ]),
      0.6,
    );
    expect(zeros(masks2.get('small')!)).toBe(100);
    expect(zeros(masks2.get('large')!)).toBe(20);
  });

  it('breaks ties across tensors by Map order, then index', () => {
    const masks = globalMagnitudeMask(
      new Map([
        ['b', t([4], [1, 1, 1, 1])],
        ['a', t([4], [1, -1, 1, 1])],
      ]),
      0.75,
    );
    expect([...masks.get('b')!]).toEqual([0, 0, 0, 0]);
    expect([...masks.get('a')!]).toEqual([0, 0, 1, 1]);
  });

  it('prunes exactly floor(target * total) overall and matches the reference order', () => {
    const names = ['q', 'k', 'ffn'];
    const ws = [random([12, 12], 21, 2), random([12, 12], 22), random([12, 48], 23, 5)];
    const weights = new Map(names.map((n, i) => [n, ws[i]]));
    for (const target of [0.25, 0.5, 0.9]) {
      const masks = globalMagnitudeMask(weights, target);
      const k = pruneCount(target, 864);
      expect(names.reduce((a, n) => a + zeros(masks.get(n)!), 0)).toBe(k);
      const ref = reference(
        ws.map((w) => w.data),
        k,
      );
      names.forEach((n, i) => expect(masks.get(n)).toEqual(ref[i]));
    }
  });

  it('returns an empty map for no weights', () => {
    expect(globalMagnitudeMask(new Map(), 0.5).size).toBe(0);
  });
});

describe('block', () => {
  /** Every [br, bc] block of a row-major [rows, cols] mask is all 0 or all 1; returns zeroed blocks. */
  function zeroBlocks(m: Uint8Array, rows: number, cols: number, br: number, bc: number): number {
    let zeroed = 0;
    for (let bi = 0; bi < rows; bi += br) {
      for (let bj = 0; bj < cols; bj += bc) {
        const vals = new Set<number>();
        for (let i = bi; i < bi + br; i++) for (let j = bj; j < bj + bc; j++) vals.add(m[i * cols + j]);
        expect(vals.size).toBe(1);
        if (vals.has(0)) zeroed++;
      }
    }
    return zeroed;
  }

  for (const block of [
    [1, 4],
    [4, 1],
  ]) {
    it(`zeroes exactly floor(target * blocks) whole ${block[0]}x${block[1]} blocks`, () => {
      const [br, bc] = block;
      const w = random([16, 24], 31);
      for (const target of [0.3, 0.5, 0.9]) {
        const m = blockMask(one(w), target, { block }).get('w')!;
        const k = pruneCount(target, 96);
        expect(zeroBlocks(m, 16, 24, br, bc)).toBe(k);
        expect(zeros(m)).toBe(k * 4);
      }
    });
  }

  it('zeroes the blocks with the smallest L2 norm, lower block index first on ties', () => {
    // Rows as [1, 4] blocks have L2 norms 2, 4, 2, 1: row 2 (a single 2) ties row 0 (four 1s).
    const w = t([4, 4], [1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 2, 0.5, 0.5, -0.5, 0.5]);
    const m = blockMask(one(w), 0.5, { block: [1, 4] }).get('w')!;
    expect([...m]).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
    const m2 = blockMask(one(w), 0.75, { block: [1, 4] }).get('w')!;
    // Rows 0 and 2 tie at norm 2: row 0 goes first, then row 2.
    expect([...m2]).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    // Columns as [4, 1] blocks: norms sqrt(5.25), sqrt(5.25), sqrt(5.25), sqrt(9.25).
    const m3 = blockMask(one(w), 0.5, { block: [4, 1] }).get('w')!;
    expect([...m3]).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]);
  });

  it('masks a BERT-base-sized 768x3072 kernel in [1, 4] blocks', () => {
    const w = random([768, 3072], 12);
    const m = blockMask(one(w), 0.9, { block: [1, 4] }).get('w')!;
    expect(zeros(m)).toBe(pruneCount(0.9, 768 * 768) * 4);
  });

  it('is deterministic on tie-heavy inputs', () => {
    const w = random([8, 32], 41, 1);
    const a = blockMask(one(w), 0.5, { block: [1, 4] }).get('w')!;
    expect(blockMask(one(w), 0.5, { block: [1, 4] }).get('w')).toEqual(a);
    expect(zeroBlocks(a, 8, 32, 1, 4)).toBe(32);
  });

  it('throws naming the tensor, shape and block when the shape does not divide', () => {
    const w = random([6, 10], 1);
    expect(() => blockMask(one(w, 'encoder.0.ffn.in'), 0.5, { block: [4, 1] })).toThrowError(
      "weight 'encoder.0.ffn.in': shape [6, 10] cannot be cut into [4, 1] blocks",
    );
    expect(() => blockMask(one(random([12], 1), 'bias'), 0.5, { block: [1, 4] })).toThrowError("weight 'bias': shape [12] cannot be cut into [1, 4] blocks");
    expect(() => blockMask(one(w), 0.5)).toThrowError('block pruning needs opts.block = [rows, cols] of positive integers; got undefined');
    expect(() => blockMask(one(w), 0.5, { block: [0, 2] })).toThrowError(/got \[0,2\]/);
  });
});

describe('pattern-lock', () => {
  it('keeps exactly the non-zero weights whatever the target', () => {
    const w = t([6], [0, 1.5, -0, NaN, -2, 1e-38]);
    for (const target of [0, 0.5, 0.99]) {
      expect([...patternLockMask(one(w), target).get('w')!]).toEqual([0, 1, 0, 1, 1, 1]);
    }
  });

  it('locks the pattern a magnitude mask produced', () => {
    const w = random([20, 30], 51);
    const pruned = applyMask(w.data, magnitudeMask(one(w), 0.85).get('w')!);
    const lock = patternLockMask(one({ shape: w.shape, data: pruned }), 0).get('w')!;
    expect(zeros(lock)).toBe(510);
  });
});

describe('applyMask and the registry', () => {
  it('returns a new array with pruned entries set to +0', () => {
    const data = Float32Array.from([1, -2, 3, -4]);
    const out = applyMask(data, Uint8Array.from([1, 0, 1, 0]));
    expect([...out]).toEqual([1, 0, 3, 0]);
    expect(Object.is(out[1], 0)).toBe(true);
    expect([...data]).toEqual([1, -2, 3, -4]);
    expect(() => applyMask(data, new Uint8Array(3))).toThrowError('mask length 3 does not match weight length 4');
  });

  it('registers the three methods by their config names (pattern lock is its own hook)', () => {
    expect(maskRegistry.names()).toEqual(['magnitude', 'global-magnitude', 'block']);
    expect(maskRegistry.get('block')).toBe(blockMask);
    expect(() => maskRegistry.get('foo')).toThrowError("unknown pruning method 'foo'; known: magnitude, global-magnitude, block");
  });
});
