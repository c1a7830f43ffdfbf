/**
 * `export --format transformers.js`: a model folder that transformers.js (`@huggingface/transformers`)
 * loads offline with `pipeline(task, folder)`:
 *
 *   config.json                 BertForSequenceClassification (id2label/label2id) or BertForMaskedLM
 *   tokenizer.json              prune-once's WordPiece in the tokenizers format (./hf-tokenizer-json.ts)
 *   tokenizer_config.json, special_tokens_map.json
 *   onnx/model_quantized.onnx   dtype 'q8': the run's compact sparse int8 file (model.int8.onnx)
 *   onnx/model.onnx             dtype 'fp32': the run's sparse fp32 student (model.fp32.onnx), or the
 *                               pre-trained model with its MLM head (fill-mask)
 *   README.md                   model card, model-index from report.json (./model-card.ts)
 *
 * From a run directory (or a multi-task run's task directory): a text classifier, from the files the
 * export stage wrote. From a pre-trained checkpoint (`<run>/prune-distill/model.ckpt`, no
 * classifier): a fill-mask folder; its ONNX file is exported here with the MLM head.
 *
 * Both ONNX copies get the [SEP] prologue (../onnx/sep-prologue.ts), a no-op except on inputs that
 * transformers.js truncated; the graph's inputs (input_ids, attention_mask, token_type_ids) and its
 * `logits` output are already the names transformers.js feeds and reads.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { toHfConfig } from '../import/hf-config.js';
import { MLM } from '../model/weights.js';
import { decodeOnnx, encoderSparsity, exportOnnx, readMetadata } from '../onnx/index.js';
import { addSepPrologue } from '../onnx/sep-prologue.js';
import { MODEL_SOURCE_STAGE, ONNX_FILES, RUN_FILES, RUN_MARKER, modelPath, runFile, stageDir } from '../run/layout.js';
import { resolveScope } from '../run/locate.js';
import { recordedTokenizer, savedRunTokenizer } from '../run/tokenizer.js';
import { SPECIAL_TOKENS, type WordPieceTokenizer } from '../tokenizer/index.js';
import { checkOutputDirectory, writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { markOutputFolder, stopTracking, trackWrites } from '../util/owned-dir.js';
import { TOOL_VERSION } from '../version.js';
import { writeTokenizerJsonFiles } from './hf-tokenizer-json.js';
import { modelCard, type ReportFigures } from './model-card.js';
import { readModelCheckpoint } from './sources.js';

/** File names inside a transformers.js model folder. */
export const TFJS_FILES = {
  config: 'config.json',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  specialTokens: 'special_tokens_map.json',
  q8: 'onnx/model_quantized.onnx',
  fp32: 'onnx/model.onnx',
  card: 'README.md',
} as const;

/** Default output folder name (in the run directory, or next to a checkpoint). */
export const TFJS_EXPORT_DIR = 'transformers.js';

export interface TransformersJsExport {
  dir: string;
  task: 'text-classification' | 'fill-mask';
  files: Array<{ path: string; bytes: number }>;
  /** The run files or checkpoint the folder was made from. */
  sources: string[];
  labels: string[];
  maxLength: number;
  warnings: string[];
}

type TokenizerInfo = { vocab: readonly string[]; lowercase: boolean; source: string };

const infoOf = (t: WordPieceTokenizer | null): TokenizerInfo | null => (t ? { vocab: t.vocab, lowercase: t.lowercase, source: t.vocabSource } : null);

/** The run's tokenizer (by the run's own rule, from its pipeline.json), else `fallback`; an error naming `where` without one. */
function tokenizerOf(runDir: string | null, fallback: TokenizerInfo | null, where: string, warnings: string[]): TokenizerInfo {
  const t = (runDir ? infoOf(savedRunTokenizer(runDir, (m) => warnings.push(m))) : null) ?? fallback;
  if (!t)
    throw new Error(
      `${where}: the tokenizer is unknown (no pipeline.json with a tokenizer in the run, none recorded in the checkpoint); ${warnings.join('; ')}`,
    );
  return t;
}

/** Writes through `write` into `dir`, replacing only files an earlier export wrote there (util/owned-dir.ts). */
function inOwnedFolder<T>(dir: string, write: () => T): T {
  checkOutputDirectory(dir, '--out');
  trackWrites(dir, markOutputFolder(dir, RUN_MARKER));
  try {
    return write();
  } finally {
    stopTracking(dir);
  }
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** `input` (with `task` for a multi-task run): a run or task directory -> text-classification; a pre-trained checkpoint -> fill-mask. */
export function exportTransformersJs(input: string, outDir?: string, task?: string): TransformersJsExport {
  const { located, scope } = resolveScope(input, task, 'export', 'run directory, task directory or checkpoint');
  if (!statSync(located.path).isDirectory()) return fillMaskFolder(located.path, located.run?.dir ?? null, outDir);
  if (!scope || located.kind === 'stage' || located.kind === 'other')
    throw new Error(
      `${input}: not a run or task directory (no ${RUN_FILES.pipeline} here or in its run); give a run directory, a task directory, or a pre-trained model.ckpt`,
    );
  return classifierFolder(scope.dir, scope.runDir, outDir);
}

function finish(dir: string, written: string[]): Array<{ path: string; bytes: number }> {
  return written.map((p) => ({ path: p, bytes: statSync(p).size }));
}

/** A run's (or task directory's) classifier: the export stage's int8 and fp32 files. */
function classifierFolder(runDir: string, owner: string, outDir?: string): TransformersJsExport {
  const int8Path = join(runDir, ONNX_FILES.int8);
  if (!existsSync(int8Path)) {
    const hint = existsSync(modelPath(stageDir(runDir, MODEL_SOURCE_STAGE.int8)))
      ? `the run has a ${MODEL_SOURCE_STAGE.int8} checkpoint: write the file with \`prune-once export ${runDir} --format int8\` (or finish the run's export stage)`
      : `the run has no int8 model yet (its ${MODEL_SOURCE_STAGE.int8} and export stages have not run): finish the run first`;
    throw new Error(`${int8Path}: not found; a transformers.js folder ships the int8 model. ${hint}`);
  }
  const fp32Path = join(runDir, ONNX_FILES.fp32);
  const warnings: string[] = [];
  const int8 = readFileSync(int8Path);
  const meta = readMetadata(decodeOnnx(int8, int8Path));
  const labels = JSON.parse(meta.labels ?? '[]') as string[];
  const config = JSON.parse(meta.model_config ?? 'null') as Parameters<typeof toHfConfig>[0] | null;
  const maxLength = Number(meta.max_sequence_length);
  if (!config || !labels.length || !Number.isInteger(maxLength))
    throw new Error(
      `${int8Path}: its metadata lacks model_config, labels or max_sequence_length; re-export it with this version (prune-once export ${runDir} --format int8)`,
    );
  const tok = tokenizerOf(owner, null, runDir, warnings);
  if (tok.vocab.length !== config.vocabSize) throw new Error(`${runDir}: the run's tokenizer has ${tok.vocab.length} entries, the model ${config.vocabSize}`);

  const dir = resolve(outDir ?? join(runDir, TFJS_EXPORT_DIR));
  return inOwnedFolder(dir, () => writeClassifier(dir, { runDir, int8, int8Path, fp32Path, labels, config, maxLength, tok, warnings }));
}

function writeClassifier(
  dir: string,
  o: {
    runDir: string;
    int8: Uint8Array;
    int8Path: string;
    fp32Path: string;
    labels: string[];
    config: Parameters<typeof toHfConfig>[0];
    maxLength: number;
    tok: TokenizerInfo;
    warnings: string[];
  },
): TransformersJsExport {
  const { runDir, int8, int8Path, fp32Path, labels, config, maxLength, tok, warnings } = o;
  const sep = tok.vocab.indexOf(SPECIAL_TOKENS.sep);
  const written: string[] = [];
  const onnx = (rel: string, bytes: Uint8Array, source: string) => {
    const p = join(dir, rel);
    writeFileAtomic(p, addSepPrologue(bytes, sep, source));
    written.push(p);
  };
  onnx(TFJS_FILES.q8, int8, int8Path);
  if (existsSync(fp32Path)) onnx(TFJS_FILES.fp32, readFileSync(fp32Path), fp32Path);
  else warnings.push(`${fp32Path} not found: no ${TFJS_FILES.fp32} (dtype 'fp32'); the folder has the int8 model only`);
  written.push(...writeTokenizerJsonFiles(dir, { vocab: tok.vocab, lowercase: tok.lowercase, maxLength }));
  const configPath = join(dir, TFJS_FILES.config);
  writeJsonAtomic(
    configPath,
    toHfConfig(config, { architectures: ['BertForSequenceClassification'], labels, padTokenId: tok.vocab.indexOf(SPECIAL_TOKENS.pad), version: TOOL_VERSION }),
  );
  written.push(configPath);
  const report = readJson<ReportFigures>(join(runDir, RUN_FILES.reportJson));
  if (!report) warnings.push(`${join(runDir, RUN_FILES.reportJson)} not found: the model card has no accuracy`);
  const onnxFiles = finish(
    dir,
    written.filter((p) => p.endsWith('.onnx')),
  ).map((f) => ({ ...f, path: f.path.slice(dir.length + 1) }));
  const cardPath = join(dir, TFJS_FILES.card);
  const name = report?.run?.name ?? basename(runDir);
  writeFileAtomic(cardPath, modelCard({ name, pipelineTag: 'text-classification', files: onnxFiles, labels, maxLength, report, toolVersion: TOOL_VERSION }));
  written.push(cardPath);
  return {
    dir,
    task: 'text-classification',
    files: finish(dir, written),
    sources: [int8Path, ...(existsSync(fp32Path) ? [fp32Path] : [])],
    labels,
    maxLength,
    warnings,
  };
}

/** A pre-trained checkpoint (prune-distill's student): its MLM head on every position, for fill-mask. */
function fillMaskFolder(checkpoint: string, runDir: string | null, outDir?: string): TransformersJsExport {
  const ckpt = readModelCheckpoint(checkpoint).checkpoint;
  if (ckpt.config.numLabels > 0)
    throw new Error(
      `${checkpoint}: a fine-tuned checkpoint (a ${ckpt.config.numLabels}-class classifier); export its run directory for text-classification, or a pre-trained checkpoint (e.g. <run>/prune-distill/model.ckpt) for fill-mask`,
    );
  if (!ckpt.weights.has(MLM.outputBias)) throw new Error(`${checkpoint}: the model has no MLM head (weight ${MLM.outputBias}), so it cannot fill masks`);
  const warnings: string[] = [];
  const own = ckpt.state.stage === 'import' ? ckpt.state.tokenizer : null;
  const recorded = 'tokenizer' in ckpt.state ? infoOf(recordedTokenizer(ckpt.state.tokenizer)) : null;
  const tok = own ?? tokenizerOf(runDir, recorded, checkpoint, warnings);
  if (tok.vocab.length !== ckpt.config.vocabSize)
    throw new Error(`${checkpoint}: the tokenizer has ${tok.vocab.length} entries, the model ${ckpt.config.vocabSize}`);
  // The pre-training sequence length (later positions were never trained), else the model's maximum.
  const saved = runDir ? readJson<{ pipeline?: { corpus?: { seqLen?: number } } }>(runFile(runDir, 'pipeline')) : undefined;
  const maxLength = Math.min(saved?.pipeline?.corpus?.seqLen ?? ckpt.config.maxPositions, ckpt.config.maxPositions);

  const dir = resolve(outDir ?? join(dirname(checkpoint), TFJS_EXPORT_DIR));
  return inOwnedFolder(dir, () => writeFillMask(dir, { checkpoint, ckpt, runDir, tok, maxLength, warnings }));
}

function writeFillMask(
  dir: string,
  o: {
    checkpoint: string;
    ckpt: ReturnType<typeof readModelCheckpoint>['checkpoint'];
    runDir: string | null;
    tok: TokenizerInfo;
    maxLength: number;
    warnings: string[];
  },
): TransformersJsExport {
  const { checkpoint, ckpt, runDir, tok, maxLength, warnings } = o;
  const { bytes, tensors } = exportOnnx({
    snapshot: { config: ckpt.config, weights: ckpt.weights },
    format: 'fp32',
    head: 'mlm',
    metadata: {
      tool_version: TOOL_VERSION,
      model_config: JSON.stringify(ckpt.config),
      source_checkpoint: basename(checkpoint),
      max_sequence_length: String(maxLength),
    },
  });
  const written: string[] = [];
  const onnxPath = join(dir, TFJS_FILES.fp32);
  writeFileAtomic(onnxPath, addSepPrologue(bytes, tok.vocab.indexOf(SPECIAL_TOKENS.sep), onnxPath));
  written.push(onnxPath);
  written.push(...writeTokenizerJsonFiles(dir, { vocab: tok.vocab, lowercase: tok.lowercase, maxLength }));
  const configPath = join(dir, TFJS_FILES.config);
  writeJsonAtomic(
    configPath,
    toHfConfig(ckpt.config, { architectures: ['BertForMaskedLM'], padTokenId: tok.vocab.indexOf(SPECIAL_TOKENS.pad), version: TOOL_VERSION }),
  );
  written.push(configPath);
  const cardPath = join(dir, TFJS_FILES.card);
  const name = `${runDir ? basename(runDir) : basename(dirname(checkpoint))} (pre-trained, sparse)`;
  writeFileAtomic(
    cardPath,
    modelCard({
      name,
      pipelineTag: 'fill-mask',
      files: [{ path: TFJS_FILES.fp32, bytes: statSync(onnxPath).size }],
      maxLength,
      encoderSparsity: encoderSparsity(tensors),
      toolVersion: TOOL_VERSION,
    }),
  );
  written.push(cardPath);
  return { dir, task: 'fill-mask', files: finish(dir, written), sources: [checkpoint], labels: [], maxLength, warnings };
}
