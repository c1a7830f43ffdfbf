/**
 * The safetensors reader against a file whose header and bytes are built by hand (not by the
 * writer), the writer against the reader, and float16 / bfloat16 against reference decodings of
 * every one of their 65,536 bit patterns.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeBFloat16, decodeFloat16, encodeBFloat16, encodeFloat16, toBFloat16Bits, toFloat16Bits } from '../../src/import/half.js';
import { encodeSafetensors, openSafetensors, writeSafetensors } from '../../src/import/safetensors.js';
import { tempDir } from '../helpers.js';

/** float16 by its definition (sign, 5-bit exponent, 10-bit fraction), in float64. */
function refFloat16(h: number): number {
  const s = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const f = h & 1023;
  if (e === 0) return s * f * Math.pow(2, -24);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * Math.pow(2, e - 15) * (1 + f / 1024);
}

/** bfloat16 = the top 16 bits of a float32, read through a DataView. */
function refBFloat16(h: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, h << 16);
  return dv.getFloat32(0);
}

const ALL = Uint16Array.from({ length: 65536 }, (_, i) => i);

describe('float16 and bfloat16', () => {
  it('decode every bit pattern exactly', () => {
    const f16 = decodeFloat16(ALL);
    const bf16 = decodeBFloat16(ALL);
    for (let h = 0; h < 65536; h++) {
      expect(Object.is(f16[h], refFloat16(h)) || (Number.isNaN(f16[h]) && Number.isNaN(refFloat16(h))), `f16 0x${h.toString(16)}`).toBe(true);
      expect(Object.is(bf16[h], refBFloat16(h)) || (Number.isNaN(bf16[h]) && Number.isNaN(refBFloat16(h))), `bf16 0x${h.toString(16)}`).toBe(true);
    }
  });

  it('encode every representable value back to its own bits', () => {
    const f16 = encodeFloat16(decodeFloat16(ALL));
    const bf16 = encodeBFloat16(decodeBFloat16(ALL));
    for (let h = 0; h < 65536; h++) {
      if (!Number.isNaN(refFloat16(h))) expect(f16[h]).toBe(h);
      if (!Number.isNaN(refBFloat16(h))) expect(bf16[h]).toBe(h);
    }
  });

  it('round to nearest, ties to even, with overflow to infinity', () => {
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even (down)
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(toFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // above the tie
    expect(toFloat16Bits(65519)).toBe(0x7bff);
    expect(toFloat16Bits(65520)).toBe(0x7c00);
    expect(toFloat16Bits(-1e9)).toBe(0xfc00);
    expect(toFloat16Bits(2 ** -25)).toBe(0x0000); // half the smallest subnormal: tie -> 0
    expect(toFloat16Bits(3 * 2 ** -25)).toBe(0x0002);
    expect(toFloat16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up into the normals
    expect(toFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(toBFloat16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(toBFloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(toBFloat16Bits(-3.4e38 * 1.01)).toBe(0xff80);
  });
});

/** A safetensors file assembled by hand: header text, length prefix and little-endian bytes. */
function handBuilt(): Buffer {
  const f32 = Buffer.alloc(24);
  [1, 2, 3, 4, 5, -6.5].forEach((v, i) => f32.writeFloatLE(v, i * 4));
  const f16 = Buffer.alloc(8);
  [0x3c00, 0xc000, 0x0001, 0x7bff].forEach((v, i) => f16.writeUInt16LE(v, i * 2));
  const bf16 = Buffer.alloc(4);
  [0x3f80, 0xc0a0].forEach((v, i) => bf16.writeUInt16LE(v, i * 2));
  const i64 = Buffer.alloc(16);
  i64.writeBigInt64LE(7n, 0);
  i64.writeBigInt64LE(9n, 8);
  const header =
    '{"__metadata__":{"format":"pt"},' +
    '"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},' +
    '"h":{"dtype":"F16","shape":[4],"data_offsets":[24,32]},' +
    '"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[32,36]},' +
    '"ids":{"dtype":"I64","shape":[2],"data_offsets":[36,52]}}   ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  return Buffer.concat([len, Buffer.from(header), f32, f16, bf16, i64]);
}

describe('safetensors reader', () => {
  it('reads a hand-built file: shapes, metadata and every float dtype', () => {
    const path = join(tempDir(), 'hand.safetensors');
    writeFileSync(path, handBuilt());
    const f = openSafetensors(path);
    expect(f.metadata).toEqual({ format: 'pt' });
    expect([...f.entries.keys()]).toEqual(['w', 'h', 'b', 'ids']);
    expect(f.entries.get('w')!.shape).toEqual([2, 3]);
    expect(Array.from(f.readFloat32('w'))).toEqual([1, 2, 3, 4, 5, -6.5]);
    expect(Array.from(f.readFloat32('h'))).toEqual([1, -2, 2 ** -24, 65504]);
    expect(Array.from(f.readFloat32('b'))).toEqual([1, -5]);
    expect(f.readBytes('ids').readBigInt64LE(8)).toBe(9n);
    expect(() => f.readFloat32('ids')).toThrow(/'ids' is I64; only F32, F16, BF16/);
    f.close();
  });

  it('names the tensor and says "truncated" when the file is cut short', () => {
    const full = handBuilt();
    const dir = tempDir();
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, full.subarray(0, full.length - 10));
    expect(() => openSafetensors(cut)).toThrow(/cut\.safetensors: tensor 'ids'.*truncated/);
    writeFileSync(cut, full.subarray(0, 40));
    expect(() => openSafetensors(cut)).toThrow(/header says it is \d+ bytes long.*truncated/);
    writeFileSync(cut, full.subarray(0, 5));
    expect(() => openSafetensors(cut)).toThrow(/too short.*truncated/);
  });

  it('rejects corrupt headers with the reason', () => {
    const dir = tempDir();
    const write = (header: string, data = Buffer.alloc(0)) => {
      const p = join(dir, 'x.safetensors');
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
      writeFileSync(p, Buffer.concat([len, Buffer.from(header), data]));
      return p;
    };
    expect(() => openSafetensors(write('{"a":'))).toThrow(/not valid JSON/);
    expect(() => openSafetensors(write('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', Buffer.alloc(8)))).toThrow(
      /'a'.*hold 8 bytes but F32 \[3\] needs 12/,
    );
    expect(() => openSafetensors(write('{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}', Buffer.alloc(1)))).toThrow(/'a': unknown dtype "Q4"/);
    expect(() =>
      openSafetensors(write('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', Buffer.alloc(8))),
    ).toThrow(/overlap/);
  });
});

describe('safetensors writer', () => {
  it('writes what the reader (and the format) expect: aligned data, pt metadata, exact values', () => {
    const values = new Float32Array([0.1, -2.5, 3e-5, 1e4, 0, -0]);
    const halfExact = new Float32Array([0.5, -2.5, 1024, 2 ** -20, 0, 384]); // exact in both 16-bit formats
    const bytes = encodeSafetensors([
      ['a', { dtype: 'F32', shape: [2, 3], data: values }],
      ['b', { dtype: 'F16', shape: [6], data: halfExact }],
      ['c', { dtype: 'BF16', shape: [3, 2], data: halfExact }],
    ]);
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    expect(header.__metadata__).toEqual({ format: 'pt' });
    expect(header.b).toEqual({ dtype: 'F16', shape: [6], data_offsets: [24, 36] });
    // The F16 bytes are the IEEE half patterns (checked by hand for two of them).
    expect(bytes.readUInt16LE(8 + n + 24)).toBe(0x3800);
    expect(bytes.readUInt16LE(8 + n + 24 + 10)).toBe(0x5e00);
    const path = join(tempDir(), 'w.safetensors');
    writeSafetensors(path, [
      ['a', { dtype: 'F32', shape: [2, 3], data: values }],
      ['b', { dtype: 'F16', shape: [6], data: halfExact }],
      ['c', { dtype: 'BF16', shape: [3, 2], data: halfExact }],
    ]);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    const f = openSafetensors(path);
    expect(f.readFloat32('a')).toEqual(values);
    expect(f.readFloat32('b')).toEqual(halfExact);
    expect(f.readFloat32('c')).toEqual(halfExact);
    f.close();
  });
});
