/**
 * ONNX `metadata_props`: free-form string pairs that travel with the file, so that a consumer can
 * use it alone. The exporter itself writes what it can derive from what it stores (`producer_name`,
 * `format`, `encoder_sparsity`, and for int8 the `quantization` scheme and `weight_storage`); callers add the rest
 * (labels, tokenizer, sequence length, model config, tool version) through `consumerMetadata`.
 */
import type { BertConfig } from '../model/config.js';
import { sparsityTotals } from '../model/sparsity.js';
import { quantizationSchemeLine } from '../quant/scheme.js';
import type { ModelQuantization } from '../quant/types.js';
import type { onnx } from './proto.js';

export const PRODUCER_NAME = 'prune-once';
/** Keys the exporter writes. A caller may repeat the first two with the same value, never the rest. */
export const EXPORTER_KEYS = ['producer_name', 'format', 'encoder_sparsity', 'quantization', 'weight_storage'] as const;

/** The quantization scheme of an int8 file, in words (the `quantization` metadata entry; wording in quant/scheme.ts). */
export const quantizationScheme = (q: ModelQuantization): string => quantizationSchemeLine(q);

/** Sparsity (zero fraction) of the encoder's Linear kernels as stored (the int8 integers in an int8 file). */
export function encoderSparsity(tensors: ReadonlyArray<{ role: string; numel: number; nonZeros: number }>): number {
  const enc = tensors.filter((t) => t.role === 'encoder-linear');
  return sparsityTotals(enc.map((t) => ({ params: t.numel, nonZeros: t.nonZeros }))).sparsity;
}

/** What is wrong with caller metadata: non-string values, empty keys, exporter keys. */
export function metadataProblems(format: string, user: Record<string, string> = {}): string[] {
  const problems: string[] = [];
  const fixed: Record<string, string> = { producer_name: PRODUCER_NAME, format };
  for (const k of EXPORTER_KEYS) {
    if (!(k in user)) continue;
    if (!(k in fixed)) problems.push(`metadata '${k}' is written by the exporter from what it stores; do not pass it (got '${user[k]}')`);
    else if (user[k] !== fixed[k]) problems.push(`metadata '${k}' is set by the exporter ('${fixed[k]}'); got '${user[k]}'`);
  }
  for (const [k, v] of Object.entries(user)) {
    if (k.length === 0) problems.push('metadata keys must be non-empty');
    if (typeof v !== 'string') problems.push(`metadata '${k}': value must be a string, got ${typeof v}`);
  }
  return problems;
}

/** The exporter's own entries (derived from what it stores) first, then the caller's. */
export function metadataProps(format: string, derived: Record<string, string>, user: Record<string, string> = {}): onnx.IStringStringEntryProto[] {
  const problems = metadataProblems(format, user);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const own = { producer_name: PRODUCER_NAME, format, ...derived };
  const entries = Object.entries(user).filter(([k]) => !(EXPORTER_KEYS as readonly string[]).includes(k));
  return [...Object.entries(own), ...entries].map(([key, value]) => ({ key, value }));
}

/** What a consumer needs besides the graph: labels, tokenizer, sequence length, config, versions. */
export function consumerMetadata(m: {
  toolVersion: string;
  config: BertConfig;
  labels: readonly string[];
  /** The tokenizer's settings (WordPieceTokenizer.describe()), where known. */
  tokenizer?: unknown;
  maxSequenceLength?: number;
  sourceCheckpoint?: string;
}): Record<string, string> {
  return {
    tool_version: m.toolVersion,
    labels: JSON.stringify(m.labels),
    ...(m.tokenizer !== undefined ? { tokenizer: JSON.stringify(m.tokenizer) } : {}),
    ...(m.maxSequenceLength !== undefined ? { max_sequence_length: String(m.maxSequenceLength) } : {}),
    model_config: JSON.stringify(m.config),
    ...(m.sourceCheckpoint !== undefined ? { source_checkpoint: m.sourceCheckpoint } : {}),
  };
}

/** metadata_props as a record (later duplicates win, as most readers do). */
export function readMetadata(model: onnx.IModelProto): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of model.metadataProps ?? []) out[e.key ?? ''] = e.value ?? '';
  return out;
}
