/**
 * The stage contract (src/checkpoint/state.ts): each stage's checkpoint state survives a save and a
 * load checked against its declaration, and a malformed state is refused at load with the file,
 * the field and the fix, instead of being read as "nothing pruned" or "no labels".
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../../src/checkpoint/format.js';
import { ImportState, ModelState, STAGE_STATES, type StageState } from '../../src/checkpoint/state.js';
import { initWeights } from '../../src/model/bert.js';
import { defaultConfig } from '../../src/model/config.js';
import { loadModel } from '../../src/pipeline/stage-io.js';
import { ResumeState } from '../../src/pipeline/stages/train.js';
import { INT4_EMBEDDINGS, INT8_WEIGHTS, UINT8_ACTIVATIONS, paramsFromRange, weightParams } from '../../src/quant/quantize.js';
import { quantizationFromJson, quantizationToJson } from '../../src/quant/serialize.js';
import type { ModelQuantization } from '../../src/quant/types.js';
import { WordPieceTokenizer } from '../../src/tokenizer/index.js';
import { tempDir } from '../helpers.js';

const config = defaultConfig({ vocabSize: 40, hiddenSize: 8, numLayers: 1, numHeads: 2, intermediateSize: 16, maxPositions: 12, numLabels: 2 });
const weights = initWeights(config, 3);
const KERNEL = 'encoder/layer_0/attention/query/kernel';

function save(state: unknown): string {
  const path = join(tempDir(), 'model.ckpt');
  saveCheckpoint(path, { config, weights, tensors: new Map(), state });
  return path;
}

/** A quantization as the qat stage makes it: per-channel int8 kernel, uint8 input, int4 embedding table. */
function quantization(): ModelQuantization {
  const k = weights.get(KERNEL)!;
  const table = weights.get('embeddings/word_embeddings')!;
  return {
    weightSpec: INT8_WEIGHTS,
    activationSpec: UINT8_ACTIVATIONS,
    embeddingSpec: INT4_EMBEDDINGS,
    weights: { [KERNEL]: weightParams(k.data, k.shape, INT8_WEIGHTS) },
    inputs: { [KERNEL]: paramsFromRange([-1.5], [2.25], UINT8_ACTIVATIONS, -1) },
    embeddings: { 'embeddings/word_embeddings': weightParams(table.data, table.shape, INT4_EMBEDDINGS, 0) },
    bias: 'float32',
  };
}

// What each stage writes, built the way the stages build it (taskState's tokenizer is describe()).
const task = {
  labels: ['ham', 'spam'],
  tokenizer: new WordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a'], { lowercase: true, vocabSource: 'test vocab' }).describe(),
  maxSequenceLength: 32,
};
const pruned = [KERNEL, 'encoder/layer_0/attention/key/kernel'];
const written: { [S in keyof typeof STAGE_STATES]: StageState<S> } = {
  teacher: { stage: 'teacher', fingerprint: '0123456789abcdef', labels: ['neg', 'pos'] },
  'prune-distill': {
    stage: 'prune-distill',
    fingerprint: 'fedcba9876543210',
    prunedWeights: pruned,
    takenFrom: { file: '/runs/a/prune-distill/model.ckpt', fingerprint: 'aa' },
  },
  'finetune-teacher': { stage: 'finetune-teacher', fingerprint: '1', ...task },
  transfer: { stage: 'transfer', fingerprint: '2', ...task, prunedWeights: pruned },
  qat: { stage: 'qat', fingerprint: '3', ...task, prunedWeights: pruned, quantization: quantizationToJson(quantization()) },
};

describe('stage checkpoint state', () => {
  for (const stage of Object.keys(STAGE_STATES) as Array<keyof typeof STAGE_STATES>) {
    it(`${stage}: the state it writes loads back equal, checked against its declaration and as any model state`, () => {
      const path = save(written[stage]);
      expect(loadCheckpoint(path, STAGE_STATES[stage]).state).toEqual(written[stage]);
      expect(loadCheckpoint(path, ModelState).state).toEqual(written[stage]);
    });
  }

  it('qat: the quantization parameters come back bit-exact through the state', () => {
    const q = quantization();
    const back = quantizationFromJson(loadCheckpoint(save(written.qat), STAGE_STATES.qat).state.quantization);
    expect(back).toEqual(q);
    expect(Buffer.from(back.weights[KERNEL].scale.buffer).equals(Buffer.from(q.weights[KERNEL].scale.buffer))).toBe(true);
  });

  it('import and resume checkpoints round-trip too', () => {
    const imported: ImportState = {
      stage: 'import',
      source: { kind: 'huggingface', dir: '/models/x', architectures: ['BertForSequenceClassification'] },
      labels: ['a', 'b'],
      tokenizer: { vocab: ['[PAD]', 'a'], lowercase: false, source: '/models/x/vocab.txt' },
      importWarnings: [],
    };
    expect(loadCheckpoint(save(imported), ImportState).state).toEqual(imported);
    const resume: ResumeState = {
      fingerprint: 'abc',
      loop: {
        step: 4,
        rng: 99,
        data: { kind: 'mlm', sequences: 10, epoch: 0, cursor: 4, rng: 3 },
        optimizerStep: 4,
        hooks: { pruner: { lastTarget: 0.5 } },
        history: [{ step: 1, loss: 2.5 }],
      },
    };
    expect(loadCheckpoint(save(resume), ResumeState).state).toEqual(resume);
  });

  it('refuses a state with a missing field, naming the file, the field and the stage to rerun', () => {
    const { prunedWeights: _, ...noPruned } = written.transfer;
    const path = save(noPruned);
    const load = () => loadCheckpoint(path, STAGE_STATES.transfer);
    expect(load).toThrow(CheckpointError);
    expect(load).toThrow(`${path}: state.prunedWeights:`);
    expect(load).toThrow(/found nothing \(the field is missing\); it was written by an older prune-once or another tool; rerun the transfer stage/);
  });

  it('transfer refuses a prune-distill output that lists no pruned weights (it would lock nothing)', () => {
    const run = tempDir();
    const { prunedWeights: _, ...noPruned } = written['prune-distill'];
    mkdirSync(join(run, 'prune-distill'));
    saveCheckpoint(join(run, 'prune-distill', 'model.ckpt'), { config, weights, tensors: new Map(), state: noPruned });
    expect(() => loadModel({ dirOf: (s) => join(run, s) }, 'prune-distill', 'transfer needs the sparse student')).toThrow(
      /prune-distill\/model\.ckpt: state\.prunedWeights: .*rerun the prune-distill stage/,
    );
  });

  it('refuses a field of the wrong type, deep inside the state', () => {
    const json = quantizationToJson(quantization());
    const path = save({ ...written.qat, quantization: { ...json, weights: { [KERNEL]: { ...json.weights[KERNEL], scale: 'big' } } } });
    expect(() => loadCheckpoint(path, STAGE_STATES.qat)).toThrow(
      new RegExp(`^${path}: state\\.quantization\\.weights\\.${KERNEL.replace(/\//g, '\\/')}\\.scale: .*expected array.*found "big"; .*rerun the qat stage`),
    );
    expect(() => loadCheckpoint(save({ ...written['prune-distill'], prunedWeights: 'all' }), STAGE_STATES['prune-distill'])).toThrow(
      /state\.prunedWeights: .*expected array.*found "all"/,
    );
  });

  it("refuses another stage's checkpoint where one stage's is expected, and an unknown writer", () => {
    const path = save(written.teacher);
    expect(() => loadCheckpoint(path, STAGE_STATES.transfer)).toThrow(
      new RegExp(`^${path}: state\\.stage: .*found "teacher"; it is not a checkpoint of the kind expected here`),
    );
    expect(() => loadCheckpoint(save({ step: 17 }), ModelState)).toThrow(/state\.stage: .*found nothing/);
  });

  it('loads any state unchecked when no schema is given (teacher.from reads only the weights)', () => {
    expect(loadCheckpoint(save({ anything: [1, 2] })).state).toEqual({ anything: [1, 2] });
  });
});
