/**
 * Checkpoint file format (one file, written atomically):
 *
 *   "PRUNEONC" | u32 format version | u32 header length | header JSON (UTF-8) | tensor data | sha256
 *
 * The header lists every tensor (name, shape, dtype, byte offset into the data section) plus the
 * model config and a JSON state (what each writer stores is declared in ./state.ts and checked on
 * load against the reader's schema). The trailing SHA-256 covers everything before it, so
 * truncation or corruption is caught on load and never turns into a silent partial load.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { BertConfig } from '../model/config.js';
import type { WeightData } from '../model/snapshot.js';
import { writeFileAtomic } from '../util/fs.js';

export const CHECKPOINT_MAGIC = 'PRUNEONC';
export const CHECKPOINT_VERSION = 1;

export interface Checkpoint<State = unknown> {
  config: BertConfig;
  /** Model weights by stable name. */
  weights: Map<string, WeightData>;
  /** Other tensors: optimizer moments, masks, distillation projections (by group/name). */
  tensors: Map<string, WeightData>;
  /** JSON state: unknown until parsed with the schema of what the reader needs (./state.ts). */
  state: State;
}

interface TensorEntry {
  name: string;
  group: 'weights' | 'tensors';
  shape: number[];
  offset: number;
  length: number;
}

interface Header {
  formatVersion: number;
  config: BertConfig;
  state: unknown;
  entries: TensorEntry[];
}

export class CheckpointError extends Error {}

export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  const entries: TensorEntry[] = [];
  let offset = 0;
  const add = (group: TensorEntry['group'], map: Map<string, WeightData>) => {
    for (const [name, w] of map) {
      const size = w.shape.reduce((a, b) => a * b, 1);
      if (size !== w.data.length) throw new CheckpointError(`tensor '${name}': shape [${w.shape}] holds ${size} values but data has ${w.data.length}`);
      entries.push({ name, group, shape: w.shape, offset, length: w.data.length });
      offset += w.data.length * 4;
    }
  };
  add('weights', ckpt.weights);
  add('tensors', ckpt.tensors);
  const header: Header = { formatVersion: CHECKPOINT_VERSION, config: ckpt.config, state: ckpt.state, entries };
  let headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  // Pad the header with spaces so the float data starts 4-byte aligned.
  const pad = (4 - ((16 + headerBytes.length) % 4)) % 4;
  if (pad) headerBytes = Buffer.concat([headerBytes, Buffer.alloc(pad, 0x20)]);
  const total = 16 + headerBytes.length + offset + 32;
  const out = Buffer.alloc(total);
  out.write(CHECKPOINT_MAGIC, 0, 'latin1');
  out.writeUInt32LE(CHECKPOINT_VERSION, 8);
  out.writeUInt32LE(headerBytes.length, 12);
  headerBytes.copy(out, 16);
  const dataStart = 16 + headerBytes.length;
  for (const e of entries) {
    const w = (e.group === 'weights' ? ckpt.weights : ckpt.tensors).get(e.name)!;
    Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength).copy(out, dataStart + e.offset);
  }
  createHash('sha256')
    .update(out.subarray(0, total - 32))
    .digest()
    .copy(out, total - 32);
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Checkpoint {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 48 || buf.toString('latin1', 0, 8) !== CHECKPOINT_MAGIC) {
    throw new CheckpointError(`${source}: not a prune-once checkpoint (bad magic bytes or too short: ${buf.length} bytes)`);
  }
  const version = buf.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(`${source}: checkpoint format version ${version} is not supported (this build reads version ${CHECKPOINT_VERSION})`);
  }
  const digest = createHash('sha256')
    .update(buf.subarray(0, buf.length - 32))
    .digest();
  if (!digest.equals(buf.subarray(buf.length - 32))) {
    throw new CheckpointError(
      `${source}: checksum mismatch: the file is truncated or corrupted; rerun the stage that wrote it (or delete it to start that stage over)`,
    );
  }
  const headerLen = buf.readUInt32LE(12);
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', 16, 16 + headerLen)) as Header;
  } catch (e) {
    throw new CheckpointError(`${source}: unreadable header (${(e as Error).message})`);
  }
  const dataStart = 16 + headerLen;
  const dataEnd = buf.length - 32;
  const weights = new Map<string, WeightData>();
  const tensors = new Map<string, WeightData>();
  for (const e of header.entries) {
    const start = dataStart + e.offset;
    if (start + e.length * 4 > dataEnd) throw new CheckpointError(`${source}: tensor '${e.name}' runs past the end of the data`);
    // Copy so the arrays are 4-byte aligned and independent of the file buffer.
    const data = new Float32Array(e.length);
    Buffer.from(data.buffer).set(buf.subarray(start, start + e.length * 4));
    (e.group === 'weights' ? weights : tensors).set(e.name, { shape: e.shape, data });
  }
  return { config: header.config, weights, tensors, state: header.state };
}

export function saveCheckpoint(path: string, ckpt: Checkpoint): void {
  writeFileAtomic(path, encodeCheckpoint(ckpt));
}

/** A checkpoint, its state checked against `state` (./state.ts) when given: unknown otherwise. */
export function loadCheckpoint(path: string): Checkpoint;
export function loadCheckpoint<S extends z.ZodType>(path: string, state: S): Checkpoint<z.output<S>>;
export function loadCheckpoint(path: string, state?: z.ZodType): Checkpoint {
  if (!existsSync(path)) throw new CheckpointError(`${path}: checkpoint not found`);
  const ckpt = decodeCheckpoint(readFileSync(path), path);
  return { ...ckpt, state: state ? parseState(state, ckpt.state, path) : ckpt.state };
}

/** Who wrote a checkpoint, when its state says (./state.ts). */
const Writer = z.object({ stage: z.string() });

/**
 * The state checked against `schema`, or a CheckpointError naming the file, the field and the fix;
 * the fix depends on who wrote the file (its `stage`, when it has one).
 */
export function parseState<S extends z.ZodType>(schema: S, state: unknown, file: string): z.output<S> {
  const r = schema.safeParse(state);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = ['state', ...issue.path].join('.');
  const found = issue.path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? Reflect.get(v, k) : undefined), state);
  const foundText = found === undefined ? 'nothing (the field is missing)' : JSON.stringify(found).slice(0, 80);
  const writer = Writer.safeParse(state).data?.stage;
  const fix =
    issue.path.length === 1 && issue.path[0] === 'stage'
      ? 'it is not a checkpoint of the kind expected here; check the path'
      : writer === 'import'
        ? 'it was written by an older prune-once or another tool; run `prune-once import` on the Hugging Face directory again'
        : `it was written by an older prune-once or another tool; rerun ${writer ? `the ${writer} stage` : 'the stage that wrote it'} (remove ${dirname(file)} and run the pipeline again)`;
  throw new CheckpointError(`${file}: ${field}: ${issue.message}, found ${foundText}; ${fix}`);
}

/** The model config of a checkpoint, from its header alone (no tensor is read or checked). */
export function readCheckpointConfig(path: string): BertConfig {
  if (!existsSync(path)) throw new CheckpointError(`${path}: checkpoint not found`);
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(16);
    readSync(fd, head, 0, 16, 0);
    if (head.toString('latin1', 0, 8) !== CHECKPOINT_MAGIC) throw new CheckpointError(`${path}: not a prune-once checkpoint (bad magic bytes)`);
    const header = Buffer.alloc(head.readUInt32LE(12));
    readSync(fd, header, 0, header.length, 16);
    return (JSON.parse(header.toString('utf8')) as Header).config;
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`${path}: unreadable header (${(e as Error).message})`);
  } finally {
    closeSync(fd);
  }
}
