/**
 * Which checkpoints the exported files come from, for the export stage, `prune-once export` and
 * `export --format safetensors`: one builder of ModelSources (./model-files.ts) and of each file's
 * consumer metadata. A file's labels, tokenizer and sequence length are the ones its own
 * checkpoint records (checkpoint/state.ts): the one source of labels, in a run and out of one.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { loadCheckpoint, type Checkpoint } from '../checkpoint/format.js';
import { labelsOf, ModelState, type TokenizerDescription } from '../checkpoint/state.js';
import type { ModelSnapshot } from '../model/snapshot.js';
import { consumerMetadata } from '../onnx/index.js';
import { quantizationFromJson } from '../quant/serialize.js';
import { MODEL_SOURCE_STAGE, modelPath, type OnnxFormat } from '../run/layout.js';
import { TOOL_VERSION } from '../version.js';
import type { ModelSources } from './model-files.js';

/** A model checkpoint and where it was read from. */
export interface SourceCheckpoint {
  path: string;
  checkpoint: Checkpoint<ModelState>;
}

/** A model checkpoint of any writer (a stage or `prune-once import`), its state checked. */
export function readModelCheckpoint(path: string): SourceCheckpoint {
  return { path, checkpoint: loadCheckpoint(path, ModelState) };
}

/**
 * The checkpoint a run's file of `role` comes from (MODEL_SOURCE_STAGE), given where the run keeps
 * each stage (`dirOf`); `who` starts the error when that stage has not finished.
 */
export function runCheckpoint(dirOf: (stage: string) => string, role: keyof typeof MODEL_SOURCE_STAGE, who: string): SourceCheckpoint {
  const stage = MODEL_SOURCE_STAGE[role];
  const path = modelPath(dirOf(stage));
  if (!existsSync(path)) throw new Error(`${who}: ${path} not found; the ${stage} stage of this run has not finished (run the pipeline first)`);
  return readModelCheckpoint(path);
}

/** The tokenizer a checkpoint records, as settings (an imported checkpoint stores the vocabulary itself). */
function tokenizerOf(state: ModelState): TokenizerDescription | undefined {
  if (state.stage === 'import')
    return { kind: 'wordpiece', lowercase: state.tokenizer.lowercase, vocabSize: state.tokenizer.vocab.length, vocabSource: state.tokenizer.source };
  return 'tokenizer' in state ? state.tokenizer : undefined;
}

export interface ExportSources {
  sources: ModelSources;
  /** The checkpoint the file of a format comes from. */
  origin(kind: OnnxFormat): SourceCheckpoint;
  /** ONNX consumer metadata of the file made from `snapshot`, from its checkpoint's state. */
  metadata(snapshot: ModelSnapshot): Record<string, string>;
}

/**
 * ModelSources from checkpoints: the dense teacher, the sparse fp32 student and the QAT student
 * (which must be a qat checkpoint: it holds the quantization parameters). `sourceCheckpoint` adds
 * the checkpoint's file name to the metadata (`prune-once export`; the stage's files do without).
 */
export function buildModelSources(
  from: { teacher?: SourceCheckpoint; student?: SourceCheckpoint; qat?: SourceCheckpoint },
  opts: { sourceCheckpoint?: boolean } = {},
): ExportSources {
  const origin = new Map<ModelSnapshot, SourceCheckpoint>();
  const snapshot = (c: SourceCheckpoint): ModelSnapshot => {
    const s = { config: c.checkpoint.config, weights: c.checkpoint.weights };
    origin.set(s, c);
    return s;
  };
  const sources: ModelSources = {};
  if (from.teacher) sources.teacher = snapshot(from.teacher);
  if (from.student) sources.student = snapshot(from.student);
  if (from.qat) {
    const { state } = from.qat.checkpoint;
    if (state.stage !== 'qat')
      throw new Error(
        `${from.qat.path}: checkpoint has no quantization parameters, so it cannot be exported as int8; export the qat stage's checkpoint, or use --format fp32`,
      );
    sources.qat = { snapshot: snapshot(from.qat), quantization: quantizationFromJson(state.quantization) };
  }
  const byKind = { teacher: from.teacher, fp32: from.student, int8: from.qat, int8_alt: from.qat };
  const known = <T>(c: T | undefined, what: string): T => {
    if (!c) throw new Error(`export: no checkpoint for ${what} among these sources`);
    return c;
  };
  return {
    sources,
    origin: (kind) => known(byKind[kind], kind),
    metadata: (s) => {
      const c = known(origin.get(s), 'this snapshot');
      const { state } = c.checkpoint;
      return consumerMetadata({
        toolVersion: TOOL_VERSION,
        config: s.config,
        labels: labelsOf(state) ?? [],
        tokenizer: tokenizerOf(state),
        maxSequenceLength: 'maxSequenceLength' in state ? state.maxSequenceLength : undefined,
        ...(opts.sourceCheckpoint ? { sourceCheckpoint: basename(c.path) } : {}),
      });
    },
  };
}
