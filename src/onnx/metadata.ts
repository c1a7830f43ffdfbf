/**
 * ONNX `metadata_props`: free-form string pairs that travel with the file (sparsity, scheme,
 * tokenizer, labels, tool version...). The exporter adds `producer_name` and `format`.
 */
import type { onnx } from './proto.js';

export const PRODUCER_NAME = 'prune-once';
const RESERVED = ['producer_name', 'format'] as const;

/** What is wrong with caller metadata: non-string values, empty keys, reserved keys set differently. */
export function metadataProblems(format: string, user: Record<string, string> = {}): string[] {
  const problems: string[] = [];
  for (const k of RESERVED) {
    const expected = k === 'producer_name' ? PRODUCER_NAME : format;
    if (k in user && user[k] !== expected) problems.push(`metadata '${k}' is set by the exporter ('${expected}'); got '${user[k]}'`);
  }
  for (const [k, v] of Object.entries(user)) {
    if (k.length === 0) problems.push('metadata keys must be non-empty');
    if (typeof v !== 'string') problems.push(`metadata '${k}': value must be a string, got ${typeof v}`);
  }
  return problems;
}

export function metadataProps(format: string, user: Record<string, string> = {}): onnx.IStringStringEntryProto[] {
  const problems = metadataProblems(format, user);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const entries = Object.entries(user).filter(([k]) => !(RESERVED as readonly string[]).includes(k));
  return [
    { key: 'producer_name', value: PRODUCER_NAME },
    { key: 'format', value: format },
    ...entries.map(([key, value]) => ({ key, value })),
  ];
}

/** metadata_props as a record (later duplicates win, as most readers do). */
export function readMetadata(model: onnx.IModelProto): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of model.metadataProps ?? []) out[e.key ?? ''] = e.value ?? '';
  return out;
}
