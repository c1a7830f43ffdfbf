/**
 * `prune-once import`: a Hugging Face BERT directory -> one prune-once checkpoint, converted once.
 * The checkpoint carries the tokenizer (vocabulary + casing) and the class names in its state, so
 * `export --format safetensors` can write a complete directory back from it alone.
 */
import { resolve } from 'node:path';
import { saveCheckpoint } from '../checkpoint/format.js';
import type { ImportState } from '../checkpoint/state.js';
import type { BertConfig } from '../model/config.js';
import { checkOutputFile } from '../util/fs.js';
import { importHfDirectory, type HfImport, type ImportOptions } from './import-hf.js';

export interface ImportSummary {
  source: string;
  checkpoint: string;
  config: BertConfig;
  architectures: string[];
  heads: HfImport['heads'];
  labels: string[];
  tokenizer: { vocabSize: number; lowercase: boolean; vocabFile: string };
  dtypes: Record<string, number>;
  parameters: number;
  warnings: string[];
}

function summarize(imp: HfImport, checkpoint: string): ImportSummary {
  let parameters = 0;
  for (const w of imp.snapshot.weights.values()) parameters += w.data.length;
  return {
    source: imp.dir,
    checkpoint,
    config: imp.snapshot.config,
    architectures: imp.architectures,
    heads: imp.heads,
    labels: imp.labels,
    tokenizer: { vocabSize: imp.tokenizer.vocabSize, lowercase: imp.tokenizer.lowercase, vocabFile: imp.tokenizer.vocabSource },
    dtypes: imp.dtypes,
    parameters,
    warnings: imp.warnings,
  };
}

export function importToCheckpoint(dir: string, out: string, opts: ImportOptions = {}): ImportSummary {
  const checkpoint = resolve(out);
  checkOutputFile(checkpoint, '--out');
  const imp = importHfDirectory(dir, opts);
  const state: ImportState = {
    stage: 'import',
    source: { kind: 'huggingface', dir: imp.dir, architectures: imp.architectures },
    labels: imp.labels,
    tokenizer: { vocab: [...imp.tokenizer.vocab], lowercase: imp.tokenizer.lowercase, source: imp.tokenizer.vocabSource },
    importWarnings: imp.warnings,
  };
  saveCheckpoint(checkpoint, { config: imp.snapshot.config, weights: imp.snapshot.weights, tensors: new Map(), state });
  return summarize(imp, checkpoint);
}
