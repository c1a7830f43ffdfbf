/**
 * Does sparsity pay on this backend? `bench sparse-linear` times the encoder's Linear products
 * (tokens x in) . (in x out) at a given sparsity two ways: the backend's dense matMul (on wasm:
 * XNNPACK) and a sparse product that touches only the non-zeros (compressed rows of the weight,
 * in plain JavaScript: tfjs has no sparse kernel to call). At 90% sparsity the sparse product
 * does a tenth of the multiply-adds; whether it is faster is what this measures.
 */
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../backend/select.js';
import { Rng } from '../util/rng.js';
import { median } from '../util/stats.js';
import { machineFacts, round, type MachineFacts } from '../util/memory.js';

/** A weight [inRows, outCols] by rows: the non-zeros of row k are cols/values[rowStart[k] .. rowStart[k+1]). */
export interface CsrWeight {
  inRows: number;
  outCols: number;
  rowStart: Int32Array;
  cols: Int32Array;
  values: Float32Array;
}

export function toCsr(dense: Float32Array, inRows: number, outCols: number): CsrWeight {
  const rowStart = new Int32Array(inRows + 1);
  let nnz = 0;
  for (let i = 0; i < dense.length; i++) if (dense[i] !== 0) nnz++;
  const cols = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  let p = 0;
  for (let k = 0; k < inRows; k++) {
    for (let j = 0; j < outCols; j++) {
      const v = dense[k * outCols + j];
      if (v !== 0) {
        cols[p] = j;
        values[p++] = v;
      }
    }
    rowStart[k + 1] = p;
  }
  return { inRows, outCols, rowStart, cols, values };
}

/** x [rows, inRows] (row-major) times the sparse weight: rows x nnz multiply-adds. */
export function csrMatMul(x: Float32Array, rows: number, w: CsrWeight): Float32Array {
  const { inRows, outCols, rowStart, cols, values } = w;
  const out = new Float32Array(rows * outCols);
  for (let r = 0; r < rows; r++) {
    const xo = r * inRows;
    const oo = r * outCols;
    for (let k = 0; k < inRows; k++) {
      const xv = x[xo + k];
      if (xv === 0) continue;
      for (let p = rowStart[k], end = rowStart[k + 1]; p < end; p++) out[oo + cols[p]] += xv * values[p];
    }
  }
  return out;
}

export interface SparseLinearOptions {
  hidden: number;
  /** Rows of the activation: batch x seq. */
  tokens: number;
  sparsities: number[];
  runs: number;
  backend?: string;
  seed?: number;
}

export interface SparseLinearRow {
  shape: string;
  sparsity: number;
  dense_ms: number;
  sparse_ms: number;
  /** dense_ms / sparse_ms: above 1, the sparse product wins. */
  speedup: number;
}

export interface SparseLinearResult extends MachineFacts {
  bench: 'sparse-linear';
  backend: string;
  hidden: number;
  tokens: number;
  runs: number;
  rows: SparseLinearRow[];
}

function medianMs(runs: number, f: () => void): number {
  f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Magnitude-pruned random weight: the smallest |w| zeroed to the sparsity, as the pruner does. */
function prunedWeight(inRows: number, outCols: number, sparsity: number, rng: Rng): Float32Array {
  const w = Float32Array.from({ length: inRows * outCols }, () => rng.normal() * 0.02);
  const k = Math.floor(sparsity * w.length);
  if (k > 0) {
    const threshold = Float32Array.from(w, Math.abs).sort()[k - 1];
    let zeroed = 0;
    for (let i = 0; i < w.length && zeroed < k; i++) {
      if (Math.abs(w[i]) <= threshold) {
        w[i] = 0;
        zeroed++;
      }
    }
  }
  return w;
}

export async function runSparseLinearBench(o: SparseLinearOptions): Promise<SparseLinearResult> {
  const info = await selectBackend(o.backend);
  const rng = new Rng(o.seed ?? 0);
  const h = o.hidden;
  // Q, K, V and attention output are [H, H]; the FFN is [H, 4H] then [4H, H].
  const shapes: Array<[number, number]> = [
    [h, h],
    [h, 4 * h],
    [4 * h, h],
  ];
  const rows: SparseLinearRow[] = [];
  for (const [inRows, outCols] of shapes) {
    const xData = Float32Array.from({ length: o.tokens * inRows }, () => rng.normal());
    const x = tf.tensor2d(xData, [o.tokens, inRows]);
    for (const sparsity of o.sparsities) {
      const wData = prunedWeight(inRows, outCols, sparsity, rng);
      const w = tf.tensor2d(wData, [inRows, outCols]);
      const csr = toCsr(wData, inRows, outCols);
      // Both sides read their input from and write their output to tensors, as a kernel would.
      const dense = medianMs(o.runs, () => tf.tidy(() => void tf.matMul(x, w).dataSync()));
      const sparse = medianMs(o.runs, () => tf.tidy(() => void tf.tensor2d(csrMatMul(x.dataSync() as Float32Array, o.tokens, csr), [o.tokens, outCols])));
      w.dispose();
      rows.push({
        shape: `[${o.tokens},${inRows}]x[${inRows},${outCols}]`,
        sparsity,
        dense_ms: round(dense, 2),
        sparse_ms: round(sparse, 2),
        speedup: round(dense / sparse, 3),
      });
    }
    x.dispose();
  }
  return { bench: 'sparse-linear', backend: info.name, hidden: h, tokens: o.tokens, runs: o.runs, rows, ...machineFacts() };
}

export function formatSparseLinearResult(r: SparseLinearResult): string {
  const head = `sparse-linear on ${r.backend}: ${r.tokens} tokens, hidden ${r.hidden}, median of ${r.runs} runs (${r.cpu_count} x ${r.cpu_model})`;
  const lines = r.rows.map(
    (x) =>
      `  ${x.shape.padEnd(24)} sparsity ${x.sparsity.toFixed(2)}  dense ${x.dense_ms.toFixed(1).padStart(7)} ms  sparse ${x.sparse_ms.toFixed(1).padStart(7)} ms  speedup ${x.speedup}x`,
  );
  return [head, ...lines].join('\n');
}
