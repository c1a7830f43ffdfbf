/** Laying variable-length rows out as padded, row-major [batch, width] arrays. */
import type { Padding } from './types.js';

export interface Row {
  inputIds: Int32Array;
  /** Absent means all zeros (single-segment input). */
  tokenTypeIds?: Int32Array;
}

export interface PaddedRows {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Float32Array;
}

/**
 * The width a batch is padded to: always `seqLen` for 'max'; for 'longest', the longest row rounded
 * up to a multiple of 8 (capped at seqLen), which saves compute on short texts while keeping the
 * number of distinct shapes (and so kernel recompilations) small.
 */
export function batchWidth(rows: Row[], seqLen: number, padding: Padding): number {
  if (padding === 'max') return seqLen;
  const longest = rows.reduce((m, r) => Math.max(m, r.inputIds.length), 1);
  return Math.min(seqLen, Math.ceil(longest / 8) * 8);
}

export function padRows(rows: Row[], width: number, padId: number): PaddedRows {
  const n = rows.length;
  const inputIds = new Int32Array(n * width).fill(padId);
  const tokenTypeIds = new Int32Array(n * width);
  const attentionMask = new Float32Array(n * width);
  rows.forEach((r, b) => {
    const len = r.inputIds.length;
    if (len > width) throw new Error(`row of ${len} ids does not fit a batch of width ${width}`);
    inputIds.set(r.inputIds, b * width);
    if (r.tokenTypeIds) tokenTypeIds.set(r.tokenTypeIds, b * width);
    attentionMask.fill(1, b * width, b * width + len);
  });
  return { batchSize: n, seqLen: width, inputIds, tokenTypeIds, attentionMask };
}
