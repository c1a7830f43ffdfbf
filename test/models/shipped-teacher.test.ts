/**
 * The pre-trained teacher shipped in models/: its files are the ones the model card describes
 * (checksum), it imports, and its held-out masked-LM accuracy is re-measured here and equals the
 * card's figure (the evaluation is deterministic: fixed held-out addresses and fixed masks).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packSequences, sotuDocuments, splitDocuments } from '../../src/data/index.js';
import { importHfDirectory } from '../../src/import/import-hf.js';
import { disposeModel, modelFromSnapshot } from '../../src/model/bert.js';
import { evaluateMlm } from '../../src/pipeline/evaluate.js';
import { useTestBackend } from '../helpers.js';

const DIR = join(import.meta.dirname, '..', '..', 'models', 'bert-tiny-sotu');

interface ModelCard {
  files: Record<string, { bytes: number; sha256: string }>;
  training: { seed: number; steps: number };
  evaluation: {
    seed: number;
    heldOutFraction: number;
    seqLen: number;
    evalSequences: number;
    mlm_accuracy: number;
    mlm_perplexity: number;
    unigram_accuracy: number;
  };
}

const card = JSON.parse(readFileSync(join(DIR, 'model-card.json'), 'utf8')) as ModelCard;

beforeAll(async () => {
  await useTestBackend();
});

describe('the shipped pre-trained teacher', () => {
  it('holds exactly the files its model card lists (size and sha256)', () => {
    for (const [file, want] of Object.entries(card.files)) {
      const bytes = readFileSync(join(DIR, file));
      expect(bytes.length, file).toBe(want.bytes);
      expect(createHash('sha256').update(bytes).digest('hex'), file).toBe(want.sha256);
    }
    expect(Object.keys(card.files)).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'vocab.txt']));
  });

  it("re-measures the card's held-out masked-LM accuracy (>= 16%)", () => {
    const hf = importHfDirectory(DIR);
    const e = card.evaluation;
    const { heldOut } = splitDocuments(sotuDocuments(), { heldOutFraction: e.heldOutFraction, seed: e.seed });
    const held = packSequences(hf.tokenizer, heldOut, e.seqLen);
    held.sequences = held.sequences.slice(0, e.evalSequences);
    const model = modelFromSnapshot(hf.snapshot);
    const m = evaluateMlm(model, held, e.seed);
    disposeModel(model);
    expect(m.mlm_tokens).toBeGreaterThan(1000);
    expect(m.mlm_accuracy).toBeCloseTo(e.mlm_accuracy, 6);
    expect(m.mlm_perplexity).toBeCloseTo(e.mlm_perplexity, 2);
    expect(m.mlm_accuracy).toBeGreaterThanOrEqual(0.16);
    expect(m.mlm_accuracy).toBeGreaterThan(e.unigram_accuracy + 0.05);
  });
});
