/**
 * Writing a model as a Hugging Face BERT directory, so a pruned model can go back to Python tools:
 * `config.json` (model_type bert), `model.safetensors` (HF names, Linear weights [out, in], float32),
 * and, when the tokenizer is known, `vocab.txt` + `tokenizer_config.json`.
 *
 * One directory serves both heads: with a classifier it is a BertForSequenceClassification (the MLM
 * tensors are also written; transformers ignores them there and BertForMaskedLM loads them).
 * The tied decoder weight is not written: transformers re-ties it from the word embeddings on load.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { MLM } from '../model/weights.js';
import type { ModelSnapshot } from '../model/snapshot.js';
import { writeJsonAtomic } from '../util/fs.js';
import { TOOL_VERSION } from '../version.js';
import { toHfConfig } from '../import/hf-config.js';
import { hfLayout, transpose2d, type EncoderPrefix } from '../import/hf-names.js';
import { writeHfTokenizer } from '../import/hf-tokenizer.js';
import { writeSafetensors, type FloatDtype, type TensorToWrite } from '../import/safetensors.js';

export interface HfExportOptions {
  tokenizer?: { vocab: readonly string[]; lowercase: boolean; padTokenId?: number };
  /** Class names in id order (id2label). */
  labels?: readonly string[];
  /** Storage type of the weights (default F32); F16 halves the file, and import reads all three. */
  dtype?: FloatDtype;
}

export interface HfExportResult {
  dir: string;
  architectures: string[];
  files: Array<{ path: string; bytes: number }>;
  warnings: string[];
}

function architectureOf(s: ModelSnapshot): { architectures: string[]; mlmHead: boolean; prefix: EncoderPrefix } {
  const mlmHead = s.weights.has(MLM.outputBias);
  if (s.config.numLabels > 0) return { architectures: ['BertForSequenceClassification'], mlmHead, prefix: 'bert.' };
  if (mlmHead) return { architectures: ['BertForMaskedLM'], mlmHead, prefix: 'bert.' };
  return { architectures: ['BertModel'], mlmHead, prefix: '' };
}

/** The snapshot's weights under their Hugging Face names and layout, in the project's weight order. */
function hfTensors(snapshot: ModelSnapshot, dtype: FloatDtype = 'F32'): { architectures: string[]; tensors: Array<[string, TensorToWrite]> } {
  const { architectures, mlmHead, prefix } = architectureOf(snapshot);
  const layout = hfLayout(snapshot.config, { mlmHead, prefix });
  const expected = new Set(layout.map((t) => t.ours));
  const extra = [...snapshot.weights.keys()].filter((n) => !expected.has(n));
  if (extra.length) throw new Error(`cannot write a Hugging Face BERT: weights without a BERT name: ${extra.join(', ')}`);
  const tensors = layout.map((t): [string, TensorToWrite] => {
    const w = snapshot.weights.get(t.ours);
    if (!w) throw new Error(`cannot write a Hugging Face BERT: the model lacks weight '${t.ours}'`);
    if (w.shape.join(',') !== t.shape.join(','))
      throw new Error(`cannot write a Hugging Face BERT: weight '${t.ours}' has shape [${w.shape}], expected [${t.shape}]`);
    return [t.hf, { dtype, shape: t.hfShape, data: t.transpose ? transpose2d(w.data, t.shape[0], t.shape[1]) : w.data }];
  });
  return { architectures, tensors };
}

export function exportHfDirectory(snapshot: ModelSnapshot, outDir: string, opts: HfExportOptions = {}): HfExportResult {
  const { architectures, tensors } = hfTensors(snapshot, opts.dtype);
  const warnings: string[] = [];
  const paths: string[] = [];
  const weightsPath = join(outDir, 'model.safetensors');
  writeSafetensors(weightsPath, tensors, { format: 'pt' });
  paths.push(weightsPath);
  let tokenizer = opts.tokenizer;
  if (tokenizer && tokenizer.vocab.length !== snapshot.config.vocabSize) {
    warnings.push(`the tokenizer has ${tokenizer.vocab.length} entries but the model's vocabulary ${snapshot.config.vocabSize}: vocab.txt not written`);
    tokenizer = undefined;
  }
  if (tokenizer) paths.push(...writeHfTokenizer(outDir, tokenizer.vocab, tokenizer.lowercase, snapshot.config.maxPositions));
  else warnings.push('the tokenizer is unknown: no vocab.txt / tokenizer_config.json written (copy the vocabulary the model was trained with)');
  const configPath = join(outDir, 'config.json');
  const padTokenId = tokenizer ? (tokenizer.padTokenId ?? Math.max(0, tokenizer.vocab.indexOf('[PAD]'))) : 0;
  writeJsonAtomic(configPath, toHfConfig(snapshot.config, { architectures, labels: opts.labels, padTokenId, version: TOOL_VERSION }));
  paths.push(configPath);
  return { dir: outDir, architectures, files: paths.map((path) => ({ path, bytes: statSync(path).size })), warnings };
}
