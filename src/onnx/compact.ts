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
 * - `nibbles`: every integer in [-8, 7] (4-bit embedding tables), stored as q + 8 two a byte, low
 *   nibble first, the last byte's high nibble 0 when the length is odd. 4 bits a weight, dense.
 *
 * Pure functions on typed arrays. The decoders check their input and name the tensor in every
 * error: the exporter runs them on what it wrote (a self-check), `inspect` on what it reads.
 */
import { countNonZeros } from '../model/sparsity.js';

export type CompactEncoding = 'mask' | 'gaps' | 'nibbles';
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

export interface NibblesEncoded {
  encoding: 'nibbles';
  /** (q + 8) two a byte, low nibble first. */
  packed: Uint8Array;
}

export type CompactEncoded = MaskEncoded | GapsEncoded | NibblesEncoded;

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

/** The integers a nibble holds: [-8, 7], stored as q + 8 in 0..15. */
export const NIBBLE_MIN = -8;
export const NIBBLE_MAX = 7;
const NIBBLE_OFFSET = 8;

export const nibblesBytesFor = (numel: number): number => Math.ceil(numel / 2);

/** Whether every value can be nibble-packed: int8 values, all in [-8, 7]. */
export function fitsNibbles(values: IntValues): boolean {
  if (!(values instanceof Int8Array)) return false;
  for (let i = 0; i < values.length; i++) if (values[i] < NIBBLE_MIN || values[i] > NIBBLE_MAX) return false;
  return true;
}

/** Packs int8 values in [-8, 7] two a byte; throws CompactEncodingError naming `tensor` on anything else. */
export function encodeNibbles(tensor: string, values: IntValues): NibblesEncoded {
  if (!(values instanceof Int8Array)) throw new CompactEncodingError(tensor, 'only int8 values can be nibble-packed, got uint8');
  const packed = new Uint8Array(nibblesBytesFor(values.length));
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < NIBBLE_MIN || v > NIBBLE_MAX) {
      throw new CompactEncodingError(tensor, `value ${v} at flat index ${i} is outside [${NIBBLE_MIN}, ${NIBBLE_MAX}], so it cannot be nibble-packed (4 bits)`);
    }
    packed[i >> 1] |= (v + NIBBLE_OFFSET) << ((i & 1) * 4);
  }
  return { encoding: 'nibbles', packed };
}

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

/** The int8 tensor of a nibble encoding; throws CompactEncodingError naming `tensor` on bad input. */
export function decodeNibbles(tensor: string, shape: readonly number[], packed: Uint8Array): Int8Array {
  const numel = numelOf(shape);
  const need = nibblesBytesFor(numel);
  if (packed.length !== need) {
    throw new CompactEncodingError(tensor, `packed nibbles have ${packed.length} bytes, shape ${fmt(shape)} (${numel} elements) needs ${need}`);
  }
  if (numel % 2 === 1 && packed[need - 1] >> 4 !== 0) {
    throw new CompactEncodingError(tensor, `the last byte's high nibble is ${packed[need - 1] >> 4}, past the tensor's ${numel} elements (padding must be 0)`);
  }
  const out = new Int8Array(numel);
  for (let i = 0; i < numel; i++) out[i] = ((packed[i >> 1] >> ((i & 1) * 4)) & 15) - NIBBLE_OFFSET;
  return out;
}

export function decodeCompact(tensor: string, shape: readonly number[], e: CompactEncoded): IntValues {
  if (e.encoding === 'nibbles') return decodeNibbles(tensor, shape, e.packed);
  return e.encoding === 'mask' ? decodeMask(tensor, shape, e.mask, e.values) : decodeGaps(tensor, shape, e.gaps, e.values);
}

/** Bytes the encoding's parts take in the file. */
export const encodedBytes = (e: CompactEncoded): number =>
  e.encoding === 'nibbles' ? e.packed.length : (e.encoding === 'mask' ? e.mask.length : e.gaps.length) + e.values.length;
