/**
 * Loading a pipeline file: YAML, `use:` references to presets in configs/, `--set` overrides, then
 * validation. Every error names the file, the field, what was found and what is allowed.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { PipelineSchema, type Pipeline } from './pipeline-schema.js';

export class ConfigError extends Error {}

type Json = unknown;

function readYaml(path: string): Json {
  if (!existsSync(path)) throw new ConfigError(`${path}: file not found`);
  if (statSync(path).isDirectory()) throw new ConfigError(`${path}: is a directory, not a YAML file; name a .yaml file in it`);
  try {
    return parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const pos = e.linePos?.[0];
      throw new ConfigError(`${path}${pos ? `:${pos.line}:${pos.col}` : ''}: not valid YAML: ${e.message.split('\n')[0]}`);
    }
    throw e;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Replaces every object's `use: <file>` with that file's content merged under the object's own
 * fields (the object's fields win). Paths resolve from the referring file's directory, then from
 * the working directory (so `configs/...` works from the repository root).
 */
function resolveUses(value: Json, file: string, seen: string[] = []): Json {
  if (Array.isArray(value)) return value.map((v) => resolveUses(v, file, seen));
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  if ('use' in value) {
    const ref = value.use;
    if (typeof ref !== 'string') throw new ConfigError(`${file}: 'use' must be a path to a YAML preset, found ${JSON.stringify(ref)}`);
    const candidates = [resolve(dirname(file), ref), resolve(ref)];
    const path = candidates.find((p) => existsSync(p));
    if (!path) throw new ConfigError(`${file}: use: ${ref}: preset not found (looked in ${candidates.join(' and ')})`);
    if (statSync(path).isDirectory())
      throw new ConfigError(`${file}: use: ${ref}: ${path} is a directory, not a YAML file; name a preset file in it (e.g. ${ref}/<name>.yaml)`);
    if (seen.includes(path)) throw new ConfigError(`${file}: use: ${ref}: circular reference (${[...seen, path].join(' -> ')})`);
    const base = resolveUses(readYaml(path), path, [...seen, path]);
    if (!isObject(base)) throw new ConfigError(`${path}: a preset must be a YAML mapping`);
    Object.assign(out, base);
  }
  for (const [k, v] of Object.entries(value)) if (k !== 'use') out[k] = resolveUses(v, file, seen);
  return out;
}

/** Keys that would reach JavaScript object internals instead of a setting. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The first number in a parsed value that is not finite (1e400, .inf, .nan), if any. */
function nonFinite(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : v;
  if (Array.isArray(v)) return v.map(nonFinite).find((x) => x !== undefined);
  if (isObject(v))
    return Object.values(v)
      .map(nonFinite)
      .find((x) => x !== undefined);
  return undefined;
}

/**
 * Applies `a.b.c=value` overrides; values are parsed as YAML scalars (numbers, booleans, lists).
 * Works on a copy (a failed --set changes nothing) and only ever on own properties of plain objects.
 */
export function applySets(config: Json, sets: string[], source = '--set'): Json {
  const root = structuredClone(config) as Record<string, unknown>;
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${source} ${s}: expected key=value, e.g. stages.teacher.train.steps=100`);
    const keys = s.slice(0, eq).split('.');
    for (const k of keys) {
      if (FORBIDDEN_KEYS.has(k))
        throw new ConfigError(
          `${source} ${s}: key '${k}' is not allowed (it names JavaScript object internals, not a setting); name a pipeline field, e.g. stages.teacher.train.steps=100`,
        );
      if (!k) throw new ConfigError(`${source} ${s}: empty key segment; write dotted field names, e.g. stages.teacher.train.steps=100`);
    }
    const text = s.slice(eq + 1);
    const value = parseYaml(text) as unknown;
    const bad = nonFinite(value);
    if (bad !== undefined)
      throw new ConfigError(`${source} ${s}: '${text}' is not a finite number (it parses as ${bad}); give a value a 64-bit float holds, e.g. 100 or 0.001`);
    let node: Record<string, unknown> = root;
    for (const k of keys.slice(0, -1)) {
      if (!Object.hasOwn(node, k) || !isObject(node[k])) node[k] = {};
      node = node[k] as Record<string, unknown>;
    }
    node[keys.at(-1)!] = value;
  }
  return root;
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let v = raw;
  for (const k of path) v = isObject(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function allowedKeys(schema: z.ZodType, path: PropertyKey[]): string[] | null {
  // Walk the schema along the path to list the fields an object there may have.
  let s: unknown = schema;
  const unwrap = (x: unknown): unknown => {
    let cur = x as { def?: { innerType?: unknown; in?: unknown; schema?: unknown }; shape?: unknown };
    for (let i = 0; i < 10 && cur?.def && !cur.shape; i++) cur = (cur.def.innerType ?? cur.def.in ?? cur.def.schema ?? null) as typeof cur;
    return cur;
  };
  s = unwrap(s);
  for (const k of path) {
    const shape = (s as { shape?: Record<string, unknown> })?.shape;
    if (!shape || !(String(k) in shape)) return null;
    s = unwrap(shape[String(k)]);
  }
  const shape = (s as { shape?: Record<string, unknown> })?.shape;
  return shape ? Object.keys(shape) : null;
}

/**
 * The field an issue is about as the file wrote it, and its value. A schema may move a field before
 * checking it (the flat `pruning: { finalSparsity }` is checked as `pruning.schedule.finalSparsity`):
 * the value zod saw (`input`, parsed with reportInput) is then looked for one level up, so a present
 * field is never reported missing.
 */
function asWritten(raw: unknown, issue: z.core.$ZodIssue): { path: PropertyKey[]; found: unknown; defaulted?: unknown } {
  const at = valueAt(raw, issue.path);
  if (at !== undefined || issue.input === undefined) return { path: issue.path, found: at };
  // A check across fields (code custom) on a field the file does not set: its default.
  // (zod gives a custom issue the refined object as its input unless the check says the value.)
  if (issue.code === 'custom') return { path: issue.path, found: undefined, defaulted: typeof issue.input === 'object' ? undefined : issue.input };
  for (let i = issue.path.length - 2; i >= 0; i--) {
    const path = [...issue.path.slice(0, i), ...issue.path.slice(i + 1)];
    if (Object.is(valueAt(raw, path), issue.input)) return { path, found: issue.input };
  }
  return { path: issue.path, found: issue.input };
}

export function formatIssues(file: string, raw: unknown, error: z.ZodError, schema: z.ZodType): string {
  const lines = error.issues.map((issue) => {
    const field = issue.path.length ? issue.path.join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(schema, issue.path);
      return `${field}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}${allowed ? `; allowed: ${allowed.join(', ')}` : ''}`;
    }
    const { path, found, defaulted } = asWritten(raw, issue);
    const foundText =
      found === undefined
        ? defaulted !== undefined
          ? `nothing: the field is not set, its default is ${JSON.stringify(defaulted)}`
          : 'nothing (the field is missing)'
        : typeof found === 'number' && !Number.isFinite(found)
          ? `${found} (not a finite number)`
          : JSON.stringify(found);
    return `${path.length ? path.join('.') : field}: ${issue.message}; found ${foundText}`;
  });
  return `${file}: invalid pipeline:\n  - ${lines.join('\n  - ')}`;
}

/** Validates an already-resolved config object. */
export function validatePipeline(raw: unknown, file: string): Pipeline {
  const result = PipelineSchema.safeParse(raw, { reportInput: true });
  if (!result.success) throw new ConfigError(formatIssues(file, raw, result.error, PipelineSchema));
  return result.data;
}

export interface LoadedPipeline {
  file: string;
  pipeline: Pipeline;
}

/**
 * A pipeline from an object as a pipeline file would hold it: `use:` references resolved from
 * `file`'s directory (then the working directory), `--set` overrides applied, then validated.
 */
export function pipelineFromObject(raw: unknown, file: string, sets: string[] = []): Pipeline {
  if (!isObject(raw)) throw new ConfigError(`${file}: a pipeline must be a YAML mapping with at least 'name' and 'stages'`);
  return validatePipeline(applySets(resolveUses(raw, resolve(file)), sets), file);
}

/** A run's pipeline.json (what the runner records): the validated pipeline with its source and --set values. */
function runRecord(raw: unknown): unknown {
  return isObject(raw) && isObject(raw.pipeline) && 'source' in raw && !('stages' in raw) ? raw.pipeline : raw;
}

/** Loads a pipeline file, or a run's pipeline.json (so `run <run>/pipeline.json` redoes that run's settings). */
export function loadPipeline(file: string, sets: string[] = []): LoadedPipeline {
  const path = resolve(file);
  if (existsSync(path) && statSync(path).isDirectory())
    throw new ConfigError(`${file}: is a directory, not a pipeline YAML file; name a pipeline file, e.g. pipelines/smoke.yaml`);
  return { file: path, pipeline: pipelineFromObject(runRecord(readYaml(path)), file, sets) };
}
