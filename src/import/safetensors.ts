/**
 * The safetensors format (https://github.com/huggingface/safetensors), read and written without a
 * dependency:
 *
 *   u64 little-endian N | N bytes of JSON header (UTF-8, may end in spaces) | data
 *
 * The header maps each tensor name to `{dtype, shape, data_offsets: [begin, end]}` (offsets into the
 * data section), plus an optional `__metadata__` string map. The reader opens the file, checks the
 * whole header against the file size (so a truncated file fails before any tensor is read), and then
 * reads tensors one at a time: a 440 MB bert-base file is never held in memory twice.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { writeFileAtomic } from '../util/fs.js';
import { ImportError } from './errors.js';
import { decodeBFloat16, decodeFloat16, encodeBFloat16, encodeFloat16 } from './half.js';

/** Bytes per element of every dtype the format defines (only the float ones are decoded). */
const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

/** The dtypes decoded to float32 (exactly). */
export type FloatDtype = 'F32' | 'F16' | 'BF16';
export const FLOAT_DTYPES: readonly FloatDtype[] = ['F32', 'F16', 'BF16'];

/** Headers above this are refused, as the reference implementation does (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range in the data section. */
  begin: number;
  end: number;
}

/** An opened file: its validated header. Call `close()` when done. */
export interface SafetensorsFile {
  path: string;
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Raw bytes of one tensor. */
  readBytes(name: string): Buffer;
  /** One tensor as float32 (F32, F16 and BF16 only; the conversion is exact). */
  readFloat32(name: string): Float32Array;
  close(): void;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Parses and checks a header against the size of the data section that follows it. */
function parseHeader(json: string, dataBytes: number, path: string): { entries: Map<string, SafetensorsEntry>; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(json);
  } catch (e) {
    throw new ImportError(`${path}: the safetensors header is not valid JSON (${(e as Error).message}); the file is corrupted or not a safetensors file`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new ImportError(`${path}: the safetensors header must be a JSON object`);
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const bad = (what: string): never => {
      throw new ImportError(`${path}: tensor '${name}': ${what}`);
    };
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) bad('header entry is not an object');
    const size = typeof e.dtype === 'string' ? DTYPE_BYTES[e.dtype] : undefined;
    if (size === undefined) bad(`unknown dtype ${JSON.stringify(e.dtype)}; safetensors dtypes are ${Object.keys(DTYPE_BYTES).join(', ')}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      bad(`shape must be a list of non-negative integers, found ${JSON.stringify(shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[0] > off[1]) {
      bad(`data_offsets must be [begin, end] with 0 <= begin <= end, found ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    const expected = numel(shape as number[]) * size!;
    if (end - begin !== expected)
      bad(`data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${e.dtype} [${(shape as number[]).join(', ')}] needs ${expected}`);
    if (end > dataBytes) {
      bad(`its data ends at byte ${end} of the data section, which has only ${dataBytes} bytes: the file is truncated (re-download or re-save it)`);
    }
    entries.set(name, { name, dtype: e.dtype as string, shape: shape as number[], begin, end });
  }
  // Overlapping tensors would alias each other's bytes: the format forbids it.
  const sorted = [...entries.values()].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end)
      throw new ImportError(`${path}: tensors '${sorted[i - 1].name}' and '${sorted[i].name}' overlap in the data section; the file is corrupted`);
  }
  return { entries, metadata };
}

/** Opens a safetensors file and validates its header; tensors are read on demand. */
export function openSafetensors(path: string): SafetensorsFile {
  const fd = openSync(path, 'r');
  try {
    const fileBytes = fstatSync(fd).size;
    if (fileBytes < 8)
      throw new ImportError(`${path}: ${fileBytes} bytes is too short for a safetensors file (8-byte header length first); the file is truncated`);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > MAX_HEADER_BYTES)
      throw new ImportError(`${path}: header length ${headerLen} is implausible (over ${MAX_HEADER_BYTES} bytes); not a safetensors file, or corrupted`);
    if (8 + headerLen > fileBytes) {
      throw new ImportError(
        `${path}: the header says it is ${headerLen} bytes long but the file has only ${fileBytes - 8} after the length field: the file is truncated (or not a safetensors file)`,
      );
    }
    const headerBuf = Buffer.alloc(headerLen);
    readSync(fd, headerBuf, 0, headerLen, 8);
    const dataStart = 8 + headerLen;
    const { entries, metadata } = parseHeader(headerBuf.toString('utf8'), fileBytes - dataStart, path);
    let open = true;
    const entry = (name: string) => {
      const e = entries.get(name);
      if (!e) throw new ImportError(`${path}: no tensor named '${name}'`);
      if (!open) throw new Error(`${path}: file already closed`);
      return e;
    };
    const readBytes = (name: string): Buffer => {
      const e = entry(name);
      const buf = Buffer.alloc(e.end - e.begin);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, dataStart + e.begin + got);
        if (n === 0) throw new ImportError(`${path}: tensor '${name}': the file ended early (it changed while being read?)`);
        got += n;
      }
      return buf;
    };
    return {
      path,
      entries,
      metadata,
      readBytes,
      readFloat32(name) {
        const e = entry(name);
        if (!(FLOAT_DTYPES as readonly string[]).includes(e.dtype)) {
          throw new ImportError(
            `${path}: tensor '${name}' is ${e.dtype}; only ${FLOAT_DTYPES.join(', ')} tensors can be imported (convert the model to float32 first)`,
          );
        }
        return bytesToFloat32(readBytes(name), e.dtype as FloatDtype);
      },
      close() {
        if (open) closeSync(fd);
        open = false;
      },
    };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** Little-endian bytes of a float tensor -> float32 values (a fresh, aligned array). */
function bytesToFloat32(bytes: Uint8Array, dtype: FloatDtype): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F32') {
    const out = new Float32Array(bytes.byteLength / 4);
    if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(bytes);
    else for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  const bits = new Uint16Array(bytes.byteLength / 2);
  if (LITTLE_ENDIAN_HOST) new Uint8Array(bits.buffer).set(bytes);
  else for (let i = 0; i < bits.length; i++) bits[i] = view.getUint16(i * 2, true);
  return dtype === 'F16' ? decodeFloat16(bits) : decodeBFloat16(bits);
}

/** float32 values -> little-endian bytes of `dtype` (F16/BF16 rounded to nearest even). */
function float32ToBytes(values: Float32Array, dtype: FloatDtype): Uint8Array {
  const typed = dtype === 'F32' ? values : dtype === 'F16' ? encodeFloat16(values) : encodeBFloat16(values);
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  if (LITTLE_ENDIAN_HOST) return bytes;
  const out = new Uint8Array(bytes.length);
  const view = new DataView(out.buffer);
  if (dtype === 'F32') values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  else (typed as Uint16Array).forEach((v, i) => view.setUint16(i * 2, v, true));
  return out;
}

export interface TensorToWrite {
  dtype: FloatDtype;
  shape: number[];
  /** float32 values, converted to `dtype` on write. */
  data: Float32Array;
}

/**
 * Encodes tensors in the given order. `__metadata__` defaults to `{format: 'pt'}`: transformers'
 * `from_pretrained` refuses safetensors files without a known format tag.
 */
export function encodeSafetensors(tensors: Iterable<[string, TensorToWrite]>, metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__' || name in header) throw new Error(`safetensors: tensor name '${name}' is reserved or repeated`);
    if (numel(t.shape) !== t.data.length)
      throw new Error(`safetensors: tensor '${name}': shape [${t.shape}] holds ${numel(t.shape)} values but data has ${t.data.length}`);
    const bytes = float32ToBytes(t.data, t.dtype);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  // Pad with spaces so the data starts 8-byte aligned, as the Python writer does.
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let at = 8 + json.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export function writeSafetensors(path: string, tensors: Iterable<[string, TensorToWrite]>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
