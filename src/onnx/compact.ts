/**
 * Compact storage of a pruned integer weight, decodable by standard ONNX ops (see compact-graph.ts):
 *
 * - `mask`: a packed 1-bit mask (uint8, 8 weights a byte, least significant bit first, padding
 *   bits 0) plus the non-zero values in row-major order. 1 bit a weight + 8 bits a non-zero:
 *   1.8 bits a weight at 90% sparsity.
 * - `gaps`: for each non-zero, the distance (1..255) from the previous one (the first counts from
 *   position -1), plus its value; a distance above 255 is bridged by filler entries of distance
 *   255 and value 0. 16 bits a non-zero (plus fillers): 1.6 bits a weight at 90% sparsity, less
 *   at higher sparsity.
 *
 * Pure functions on typed arrays. The decoders check their input and name the tensor in every
 * error: the exporter runs them on what it wrote (a self-check), `inspect` on what it reads.
 */
import { countNonZeros } from '../model/sparsity.js';

export type CompactEncoding = 'mask' | 'gaps';
export type IntValues = Int8Array | Uint8Array;

export interface MaskEncoded {
  encoding: 'mask';
  mask: Uint8Array;
  values: IntValues;
}

export interface GapsEncoded {
  encoding: 'gaps';
  gaps: Uint8Array;
  values: IntValues;
}

export type CompactEncoded = MaskEncoded | GapsEncoded;

/** A compact weight whose parts do not describe a tensor of its shape. */
export class CompactEncodingError extends Error {
  constructor(
    readonly tensor: string,
    detail: string,
  ) {
    super(`compact weight '${tensor}': ${detail}`);
    this.name = 'CompactEncodingError';
  }
}

const MAX_GAP = 255;
const numelOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const sameKind = (v: IntValues, n: number): IntValues => (v instanceof Int8Array ? new Int8Array(n) : new Uint8Array(n));

export const maskBytesFor = (numel: number, nonZeros: number): number => Math.ceil(numel / 8) + nonZeros;

/** Entries of the gap encoding (non-zeros plus fillers); each entry is one gap byte and one value byte. */
export function gapEntries(values: ArrayLike<number>): number {
  let entries = 0;
  let last = -1;
  for (let i = 0; i < values.length; i++) {
    if (values[i] === 0) continue;
    entries += Math.ceil((i - last) / MAX_GAP);
    last = i;
  }
  return entries;
}

export const gapsBytesFor = (entries: number): number => 2 * entries;

export function encodeMask(values: IntValues): MaskEncoded {
  const mask = new Uint8Array(Math.ceil(values.length / 8));
  const out = sameKind(values, countNonZeros(values));
  let j = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] === 0) continue;
    mask[i >> 3] |= 1 << (i & 7);
    out[j++] = values[i];
  }
  return { encoding: 'mask', mask, values: out };
}

export function encodeGaps(values: IntValues): GapsEncoded {
  const n = gapEntries(values);
  const gaps = new Uint8Array(n);
  const out = sameKind(values, n);
  let j = 0;
  let last = -1;
  for (let i = 0; i < values.length; i++) {
    if (values[i] === 0) continue;
    let gap = i - last;
    while (gap > MAX_GAP) {
      gaps[j++] = MAX_GAP; // filler: value stays 0
      gap -= MAX_GAP;
    }
    gaps[j] = gap;
    out[j++] = values[i];
    last = i;
  }
  return { encoding: 'gaps', gaps, values: out };
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** The dense tensor of a mask encoding; throws CompactEncodingError naming `tensor` on bad input. */
export function decodeMask(tensor: string, shape: readonly number[], mask: Uint8Array, values: IntValues): IntValues {
  const numel = numelOf(shape);
  const need = Math.ceil(numel / 8);
  if (mask.length !== need) {
    throw new CompactEncodingError(tensor, `mask has ${mask.length} bytes, shape ${fmt(shape)} (${numel} elements) needs ${need}`);
  }
  let ones = 0;
  for (let i = 0; i < numel; i++) ones += (mask[i >> 3] >> (i & 7)) & 1;
  if (ones !== values.length) {
    throw new CompactEncodingError(tensor, `mask marks ${ones} non-zeros but ${values.length} values are stored (they must be equal)`);
  }
  for (let i = numel; i < need * 8; i++) {
    if ((mask[i >> 3] >> (i & 7)) & 1) throw new CompactEncodingError(tensor, `mask sets bit ${i}, past the tensor's ${numel} elements`);
  }
  const out = sameKind(values, numel);
  let j = 0;
  for (let i = 0; i < numel; i++) if ((mask[i >> 3] >> (i & 7)) & 1) out[i] = values[j++];
  return out;
}

/** The dense tensor of a gap encoding; throws CompactEncodingError naming `tensor` on bad input. */
export function decodeGaps(tensor: string, shape: readonly number[], gaps: Uint8Array, values: IntValues): IntValues {
  const numel = numelOf(shape);
  if (gaps.length !== values.length) {
    throw new CompactEncodingError(tensor, `${gaps.length} gaps but ${values.length} values are stored (one value per gap)`);
  }
  const out = sameKind(values, numel);
  let pos = -1;
  for (let k = 0; k < gaps.length; k++) {
    if (gaps[k] === 0) throw new CompactEncodingError(tensor, `gap ${k} is 0 (positions must increase; gaps are 1..255)`);
    pos += gaps[k];
    if (pos >= numel) {
      throw new CompactEncodingError(tensor, `gaps run past the tensor: entry ${k} lands at position ${pos}, shape ${fmt(shape)} has ${numel} elements`);
    }
    out[pos] = values[k];
  }
  return out;
}

export function decodeCompact(tensor: string, shape: readonly number[], e: CompactEncoded): IntValues {
  return e.encoding === 'mask' ? decodeMask(tensor, shape, e.mask, e.values) : decodeGaps(tensor, shape, e.gaps, e.values);
}

/** Bytes the encoding's parts take in the file. */
export const encodedBytes = (e: CompactEncoded): number => (e.encoding === 'mask' ? e.mask.length : e.gaps.length) + e.values.length;
