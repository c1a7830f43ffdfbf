/** Stage `teacher`: a dense BERT pre-trained with masked-LM on the corpus (or loaded from a checkpoint). */
import { join } from 'node:path';
import { z } from 'zod';
import { mlmBatches } from '../../data/index.js';
import { createModel, disposeModel, modelFromSnapshot } from '../../model/bert.js';
import { defaultConfig, presetShape } from '../../model/config.js';
import { loadCheckpoint } from '../../checkpoint/format.js';
import { HF_TOKENIZER_FILES, writeHfTokenizer } from '../../import/hf-tokenizer.js';
import { importHfDirectory, isHfDirectory } from '../../import/import-hf.js';
import { mlmObjective } from '../../train/tasks.js';
import { evaluateMlm, unigramBaseline } from '../evaluate.js';
import { HF_TOKENIZER_STAGE, inStage } from '../../run/layout.js';
import { ModelSchema, noEarlyStopping, TrainSchema } from '../schema.js';
import { externalIdentity, saveModel } from '../stage-io.js';
import { curve, trainStage } from './train.js';
import { defineStage, type StageOutput, type StageRun } from './types.js';
import { memoryMetrics } from '../../train/memory-watch.js';

export const TeacherSettings = z
  .strictObject({
    model: ModelSchema.prefault({ preset: 'bert-tiny' }),
    /**
     * Start from existing weights instead of pre-training (skips training when train is absent): a
     * prune-once checkpoint file, or a Hugging Face BERT directory (config.json, model.safetensors,
     * vocab.txt), whose vocabulary and do_lower_case then replace tokenizer.vocab.
     */
    from: z.string().optional(),
    train: TrainSchema.optional(),
  })
  .superRefine(noEarlyStopping('pre-training has no dev split of the task'));
export type TeacherSettings = z.infer<typeof TeacherSettings>;

export async function runTeacher(run: StageRun<TeacherSettings>): Promise<StageOutput> {
  const { ctx, settings: s } = run;
  const tok = ctx.tokenizer();
  let model;
  let imported: Record<string, unknown> | undefined;
  let labels: string[] | undefined;
  let hfNoMlm = false;
  if (s.from && isHfDirectory(s.from)) {
    // A Hugging Face BERT directory: the context's tokenizer is already its vocab.txt.
    const hf = importHfDirectory(s.from, { seed: run.seed });
    for (const w of hf.warnings) ctx.log(`teacher: ${w}`);
    if (hf.snapshot.config.vocabSize !== tok.vocabSize) {
      throw new Error(
        `teacher.from: ${s.from}: config.json has vocab_size ${hf.snapshot.config.vocabSize} but its vocab.txt has ${tok.vocabSize} entries; they must match`,
      );
    }
    model = modelFromSnapshot(hf.snapshot);
    labels = hf.labels.length ? hf.labels : undefined;
    hfNoMlm = hf.heads.mlm === 'initialised';
    imported = { from: hf.dir, architectures: hf.architectures, heads: hf.heads, labels: hf.labels, dtypes: hf.dtypes, warnings: hf.warnings };
    // Keep the tokenizer with the run, so `export --format safetensors` can write it back.
    writeHfTokenizer(run.dir, hf.tokenizer.vocab, hf.tokenizer.lowercase, hf.snapshot.config.maxPositions);
  } else if (s.from) {
    const ckpt = loadCheckpoint(s.from);
    if (ckpt.config.vocabSize !== tok.vocabSize) {
      throw new Error(
        `teacher.from: ${s.from} has vocabSize ${ckpt.config.vocabSize} but the pipeline's tokenizer has ${tok.vocabSize}; set tokenizer.vocab to that model's vocabulary`,
      );
    }
    model = modelFromSnapshot({ config: ckpt.config, weights: ckpt.weights });
  } else {
    const config = defaultConfig({
      ...presetShape(s.model.preset),
      vocabSize: tok.vocabSize,
      maxPositions: s.model.maxPositions,
      hiddenDropout: s.model.hiddenDropout,
      attentionDropout: s.model.attentionDropout,
    });
    model = createModel(config, run.seed);
  }
  // A classifier imported without an MLM head and not trained has no masked-LM figures to give
  // (its head would be random): the corpus is not read at all.
  if (imported && hfNoMlm && !s.train) {
    saveModel(run.dir, model, { stage: 'teacher', fingerprint: run.fingerprint, ...(labels ? { labels } : {}) });
    disposeModel(model);
    return {
      metrics: { tokens_per_s: 0 },
      details: { config: model.config, imported, mlm: 'not measured: no MLM head (cls.predictions.*) in the imported model' },
    };
  }
  const corpus = ctx.corpus();
  const details: Record<string, unknown> = {
    config: model.config,
    ...(imported ? { imported } : {}),
    corpus: {
      source: ctx.pipeline.corpus.source,
      trainSequences: corpus.train.sequences.length,
      heldOutSequences: corpus.heldOut.sequences.length,
      seqLen: corpus.train.seqLen,
    },
  };
  const evaluate = (m: typeof model) => ({ ...evaluateMlm(m, corpus.heldOut, ctx.pipeline.seed) });
  let tokensPerSecond = 0;
  let memory: Record<string, number> = {};
  if (s.train) {
    const result = await trainStage({
      ctx,
      dir: run.dir,
      fingerprint: run.fingerprint,
      label: 'teacher',
      seed: run.seed,
      model,
      objective: mlmObjective,
      data: mlmBatches(corpus.train, { batchSize: s.train.batchSize, seed: run.seed }),
      train: s.train,
      hooks: [],
      evaluate,
    });
    details.curve = curve(result);
    details.evaluations = result.evaluations;
    tokensPerSecond = result.tokensPerSecond;
    memory = memoryMetrics(result.memory);
  }
  const final = evaluate(model);
  const unigram = unigramBaseline(corpus.train, corpus.heldOut, ctx.pipeline.seed);
  saveModel(run.dir, model, { stage: 'teacher', fingerprint: run.fingerprint, ...(labels ? { labels } : {}) });
  disposeModel(model);
  return {
    metrics: { ...final, unigram_accuracy: unigram.accuracy, tokens_per_s: tokensPerSecond, ...memory },
    details: { ...details, unigramToken: tok.idsToTokens([unigram.token])[0] },
  };
}

export const teacherStage = defineStage({
  name: 'teacher',
  describe: 'the dense teacher: MLM pre-training on the corpus, or imported weights (teacher.from)',
  schema: TeacherSettings,
  inputs: [],
  data: 'corpus',
  externalFiles: (s) => externalIdentity(s.from),
  // A Hugging Face teacher's tokenizer is kept with the run (export --format safetensors reads it).
  outputs: (s) => [
    inStage('teacher', 'model'),
    ...(s.from && isHfDirectory(s.from) ? Object.values(HF_TOKENIZER_FILES).map((f) => join(HF_TOKENIZER_STAGE, f)) : []),
  ],
  run: runTeacher,
});
