/**
 * The `bench` subcommands (./bench.ts lists them): loaded only when `bench` runs, since each
 * reads its defaults from the benchmark module it calls, which loads the engine.
 */
import type { Argv, CommandModule } from 'yargs';
import { COMPRESSION_DEFAULTS, compressionIssues, formatCompressionResult, runCompressionBench } from '../../bench/compression.js';
import { MODEL_LIMITS } from '../../model/config.js';
import type { RecomputeMode } from '../../model/recompute.js';
import { formatInferenceResult, INFERENCE_DEFAULTS, inferenceIssues, inferenceModelPath, runInferenceBench } from '../../bench/inference.js';
import { formatPresetInferenceResult, PRESET_INFERENCE_DEFAULTS, presetInferenceIssues, runPresetInferenceBench } from '../../bench/inference-preset.js';
import type { StepShape } from '../../bench/peer.js';
import { TASK_OPTION } from '../task-option.js';
import { formatSparseLinearResult, runSparseLinearBench } from '../../bench/sparse-linear.js';
import { formatSparseInferenceResult, runSparseInferenceBench, SPARSE_INFERENCE_DEFAULTS, sparseInferenceIssues } from '../../bench/sparse-inference.js';
import { fractionIssue, intIssue, issues } from '../../bench/issues.js';
import { formatProfile } from '../../bench/profiler.js';
import { formatTrainStepResult, runTrainStepBench, TRAIN_STEP_DEFAULTS, trainStepIssues } from '../../bench/train-step.js';

/** camelCase option -> its --kebab-case flag, for error messages. */
const flag = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Fails the command with every problem at once (the CLI's fail handler prints it). */
function check(issues: string[]): void {
  if (issues.length) throw new Error(issues.join('\n       '));
}

interface TrainStepArgs extends StepShape {
  warmup: number;
  sparsity: number;
  backend: string;
  threads: string;
  microBatch: number;
  recompute: string;
  peer?: string;
  json: boolean;
  profile: boolean;
}

const d = TRAIN_STEP_DEFAULTS;

export const trainStepCommand: CommandModule<object, TrainStepArgs> = {
  command: 'train-step',
  describe:
    'Time one prune-and-distill pre-training step (teacher forward, student forward+backward with MLM + KD loss, AdamW, magnitude masks re-applied), the same work as the PyTorch peer shared/peers/torch_ref.py with the same arguments',
  builder: (y: Argv) =>
    y
      .option('student-layers', { type: 'number', default: d.studentLayers, describe: 'encoder layers of the student (torch_ref --layers)' })
      .option('student-hidden', {
        type: 'number',
        default: d.studentHidden,
        describe: 'hidden size of the student; heads = hidden/64, FFN = 4 x hidden (torch_ref --hidden)',
      })
      .option('teacher-layers', { type: 'number', default: d.teacherLayers, describe: 'encoder layers of the frozen teacher (torch_ref --tlayers)' })
      .option('teacher-hidden', { type: 'number', default: d.teacherHidden, describe: 'hidden size of the teacher (torch_ref --thidden)' })
      .option('vocab', {
        type: 'number',
        default: d.vocab,
        describe: 'vocabulary size: the MLM head projects every selected position onto it, usually the largest matmul',
      })
      .option('seq', { type: 'number', default: d.seq, describe: 'sequence length (tokens per row)' })
      .option('batch', {
        type: 'number',
        default: d.batch,
        describe:
          'rows per batch; tokens/s counts batch x seq per step. On wasm the heap is 32-bit (4 GB max): lower it if a step fails with "memory access out of bounds"',
      })
      .option('steps', { type: 'number', default: d.steps, describe: 'timed steps (after the warm-up)' })
      .option('warmup', { type: 'number', default: d.warmupSteps, describe: 'untimed steps first (as torch_ref: 1)' })
      .option('sparsity', {
        type: 'number',
        default: d.sparsity,
        describe: 'final sparsity of the ramp: masks are recomputed after every step i to sparsity x min(1, i/10), as torch_ref does',
      })
      .option('backend', { type: 'string', default: 'auto', describe: 'tensorflow.js backend: gpu, node, wasm, cpu, or auto (the best that loads)' })
      .option('threads', {
        type: 'string',
        default: 'auto',
        describe:
          "threads sharing each batch (data parallelism over worker threads, as the pipeline's train.threads): auto = one per core on wasm/cpu, 1 = single-threaded",
      })
      .option('micro-batch', {
        type: 'number',
        default: 0,
        describe: "gradient accumulation: rows per forward/backward within each thread's share (0: all at once); lower it if a step runs out of memory",
      })
      .option('recompute', {
        type: 'string',
        choices: ['none', 'layers'],
        default: 'none',
        describe:
          "as the pipeline's train.recompute: 'layers' keeps only each encoder layer's input and recomputes the layer in the backward pass (less activation memory, one more forward of the encoder)",
      })
      .option('peer', {
        type: 'string',
        describe:
          'path of shared/peers/torch_ref.py: run the PyTorch peer first with the same arguments (one thread per core; python from PRUNE_ONCE_PYTHON, default /usr/bin/python3) and report both and their ratio',
      })
      .option('profile', {
        type: 'boolean',
        default: false,
        describe: 'also profile one step with tf.profile: time per kernel, summed by kernel name, and the slowest calls',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print one JSON line (every argument, tokens_per_s, step_ms, peak RSS, wasm heap, versions, CPU; the profile under "profile")',
      })
      .example(
        '$0 bench train-step --steps 5 --peer ../shared/peers/torch_ref.py',
        "torch_ref's default configuration, beside torch_ref itself in the same run, with the ratio",
      )
      .example('$0 bench train-step --backend wasm --json', 'the same without the peer, as one JSON line')
      .example('$0 bench train-step --batch 8 --steps 5 --profile', 'a smaller batch, with the kernels that take the time')
      .example(
        '$0 bench train-step --student-layers 12 --student-hidden 768 --teacher-layers 12 --teacher-hidden 768 --vocab 30522 --seq 128 --batch 8 --steps 2 --recompute layers',
        'a bert-base student and teacher on the wasm heap: peak heap per thread and tokens/s',
      )
      .example(
        '$0 bench train-step --student-layers 4 --student-hidden 256 --teacher-layers 12 --teacher-hidden 768',
        'a BERT-Base teacher distilling into L4-H256',
      ) as unknown as Argv<TrainStepArgs>,
  handler: async (a) => {
    const opts = {
      studentLayers: a.studentLayers,
      studentHidden: a.studentHidden,
      teacherLayers: a.teacherLayers,
      teacherHidden: a.teacherHidden,
      vocab: a.vocab,
      seq: a.seq,
      batch: a.batch,
      steps: a.steps,
      sparsity: a.sparsity,
      warmupSteps: a.warmup,
      backend: a.backend,
      threads: a.threads === 'auto' ? ('auto' as const) : Number(a.threads),
      microBatch: a.microBatch,
      recompute: a.recompute as RecomputeMode,
      peer: a.peer,
      profile: a.profile,
    };
    check(trainStepIssues(opts, (k) => flag(k === 'warmupSteps' ? 'warmup' : k)));
    const r = await runTrainStepBench(opts);
    if (a.json) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    process.stdout.write(`${formatTrainStepResult(r)}\n`);
    if (r.profile) process.stdout.write(`\n${formatProfile(r.profile)}\n`);
  },
};

interface InferenceArgs {
  model?: string;
  preset?: string;
  task?: string;
  batch?: number[];
  seq: number;
  runs: number;
  warmup: number;
  threads?: number[];
  sparsity: number;
  vocab: number;
  seed: number;
  embeddingBits: 8 | 4;
  out?: string;
  json: boolean;
}

const pd = PRESET_INFERENCE_DEFAULTS;

export const inferenceCommand: CommandModule<object, InferenceArgs> = {
  command: 'inference [model]',
  describe:
    'Latency (median, p90, min) and throughput of an ONNX model in onnxruntime-node, on random full-length inputs; or, with --preset, dense fp32 against sparse int8 at a model shape (random weights), interleaved',
  builder: (y: Argv) =>
    y
      .positional('model', {
        type: 'string',
        describe:
          'an .onnx file with int64 inputs input_ids, attention_mask, token_type_ids (e.g. from prune-once export), or a run directory: its model.int8.onnx (a multi-task run with --task, or its tasks/<task>); or none, with --preset',
      })
      .option('preset', {
        type: 'string',
        describe: `instead of a model: build the dense fp32 teacher and the sparse int8 file of this shape (bert-tiny ... bert-base, or L{2..12}-H{128..768}; random weights, as bench compression) and time both, interleaved, at each --batch and --threads (default ${pd.batches.join(' and ')}, ${pd.threads.join(' and ')} threads)`,
      })
      .option('task', TASK_OPTION)
      .option('batch', { type: 'array', number: true, describe: `rows per run (default ${INFERENCE_DEFAULTS.batch}); several with --preset` })
      .option('seq', { type: 'number', default: INFERENCE_DEFAULTS.seq, describe: "sequence length; at most the model's position embeddings" })
      .option('runs', {
        type: 'number',
        default: INFERENCE_DEFAULTS.runs,
        describe: 'timed runs (of each file with --preset); latency is their median, 90th percentile and minimum',
      })
      .option('warmup', { type: 'number', default: INFERENCE_DEFAULTS.warmup, describe: 'untimed runs first' })
      .option('threads', {
        type: 'array',
        number: true,
        describe: 'ONNX Runtime intra-op threads (default 0: its default, one per core); several with --preset',
      })
      .option('sparsity', { type: 'number', default: pd.sparsity, describe: 'with --preset: fraction of each encoder Linear kernel pruned (magnitude)' })
      .option('vocab', { type: 'number', default: pd.vocab, describe: 'with --preset: vocabulary size (BERT 30522, the pipeline 8192)' })
      .option('seed', { type: 'number', default: pd.seed, describe: 'with --preset: seed of the random weights and inputs' })
      .option('embedding-bits', { type: 'number', default: pd.embeddingBits, describe: "with --preset: bits of the int8 file's embedding tables, 8 or 4" })
      .option('out', { type: 'string', describe: 'with --preset: keep the two files in this directory (default: a temporary directory, removed at the end)' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON line instead of text' })
      .example('$0 bench inference artifacts/prune-once --task spam --batch 8 --seq 128', "the spam task's int8 model on 8 x 128 tokens")
      .example('$0 bench inference model.fp32.onnx --batch 1 --runs 100 --json', 'single-sequence latency of the fp32 baseline, as JSON')
      .example(
        '$0 bench inference --preset L12-H768',
        "BERT-Base's dense fp32 against its 90%-sparse int8 file, batch 1 and 8 x 128 tokens, 1 and 2 threads",
      ) as unknown as Argv<InferenceArgs>,
  handler: async (a) => {
    if (a.preset !== undefined) {
      if (a.model !== undefined || a.task !== undefined) throw new Error('give a model or --preset, not both (--preset builds its own files)');
      const opts = {
        ...a,
        preset: a.preset,
        batches: a.batch ?? [...pd.batches],
        threads: a.threads ?? [...pd.threads],
        log: a.json ? undefined : (m: string) => process.stderr.write(`${m}\n`),
      };
      check(presetInferenceIssues(opts, (k) => flag(k === 'batches' ? 'batch' : k)));
      const r = await runPresetInferenceBench(opts);
      process.stdout.write(`${a.json ? JSON.stringify(r) : formatPresetInferenceResult(r)}\n`);
      return;
    }
    if (a.model === undefined)
      throw new Error(
        'give an .onnx model or a run directory, or --preset NAME to build one (--batch and --threads take several values: put the model before them)',
      );
    const one = (k: 'batch' | 'threads', v: number[] | undefined, dflt: number): number => {
      if (v && v.length > 1) throw new Error(`--${k}: one value with a model (several with --preset), got ${v.join(' ')}`);
      return v?.[0] ?? dflt;
    };
    const opts = { batch: one('batch', a.batch, INFERENCE_DEFAULTS.batch), seq: a.seq, runs: a.runs, warmup: a.warmup, threads: one('threads', a.threads, 0) };
    check(inferenceIssues(opts, flag));
    const r = await runInferenceBench(inferenceModelPath(a.model, a.task), opts);
    process.stdout.write(`${a.json ? JSON.stringify(r) : formatInferenceResult(r)}\n`);
  },
};

interface SparseLinearArgs {
  hidden: number;
  tokens: number;
  sparsity: number[];
  runs: number;
  backend: string;
  json: boolean;
}

export const sparseLinearCommand: CommandModule<object, SparseLinearArgs> = {
  command: 'sparse-linear',
  describe:
    "Does pruning speed up training here? Times the encoder's Linear products dense (the backend's matMul) and sparse (only the non-zeros, compressed rows in JavaScript) at each sparsity",
  builder: (y: Argv) =>
    y
      .option('hidden', {
        type: 'number',
        default: 128,
        describe: 'hidden size H: the products are [tokens,H]x[H,H], [tokens,H]x[H,4H] and [tokens,4H]x[4H,H]',
      })
      .option('tokens', { type: 'number', default: 4096, describe: 'rows of the activation (batch x seq; the bench train-step default is 32 x 128)' })
      .option('sparsity', { type: 'array', number: true, default: [0.5, 0.9], describe: 'weight sparsities to time (magnitude-pruned random weights)' })
      .option('runs', { type: 'number', default: 5, describe: 'timed runs per product; the median is reported' })
      .option('backend', { type: 'string', default: 'auto', describe: 'tensorflow.js backend for the dense products' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON line' })
      .example('$0 bench sparse-linear --hidden 256 --sparsity 0.9 0.95', 'the teacher-sized products at 90% and 95%') as unknown as Argv<SparseLinearArgs>,
  handler: async (a) => {
    // The products' operands are [tokens, 4H] floats: 2^20 tokens at H = 1024 is already 16 GB.
    const max = { hidden: MODEL_LIMITS.hiddenSize, tokens: 2 ** 20, runs: 100_000 };
    check(
      issues(
        ...(['hidden', 'tokens', 'runs'] as const).map((k) => intIssue(flag(k), a[k], 1, max[k])),
        ...a.sparsity.map((s) => fractionIssue('--sparsity values', s)),
      ),
    );
    const r = await runSparseLinearBench({ hidden: a.hidden, tokens: a.tokens, sparsities: a.sparsity, runs: a.runs, backend: a.backend });
    process.stdout.write(`${a.json ? JSON.stringify(r) : formatSparseLinearResult(r)}\n`);
  },
};

interface SparseInferenceArgs {
  sparsity: number;
  hidden: number;
  layers: number;
  seq: number;
  batch: number[];
  threads: number[];
  seconds: number;
  minRuns: number;
  seed: number;
  json: boolean;
}

const sd = SPARSE_INFERENCE_DEFAULTS;

export const sparseInferenceCommand: CommandModule<object, SparseInferenceArgs> = {
  command: 'sparse-inference',
  describe:
    "Does sparsity pay at inference? Times the sparse int8 WebAssembly kernel against ONNX Runtime's dense int8 (MatMulIntegerToFloat) on the encoder's Linear shapes and on every Linear of a whole encoder, interleaved in one run (random weights)",
  builder: (y: Argv) =>
    y
      .option('sparsity', { type: 'number', default: sd.sparsity, describe: 'fraction of each weight that is zero (random positions)' })
      .option('hidden', { type: 'number', default: sd.hidden, describe: 'hidden size H: the Linears are HxH, Hx4H and 4HxH (768: BERT-Base)' })
      .option('layers', { type: 'number', default: sd.layers, describe: 'layers of the whole-encoder row: 6 Linears each (0: skip the row)' })
      .option('seq', { type: 'number', default: sd.seq, describe: 'tokens per sequence' })
      .option('batch', { type: 'array', number: true, default: [...sd.batches], describe: 'sequences per batch, each timed' })
      .option('threads', {
        type: 'array',
        number: true,
        default: [...sd.threads],
        describe: "threads, each timed: ONNX Runtime's intra-op threads and the kernel's (worker threads on one shared heap)",
      })
      .option('seconds', {
        type: 'number',
        default: sd.seconds,
        describe: 'seconds of interleaved rounds per row (the whole default run: 7 minutes on 2 heavily loaded cores, less when idle)',
      })
      .option('min-runs', { type: 'number', default: sd.minRuns, describe: 'rounds per row at least, however long they take' })
      .option('seed', { type: 'number', default: sd.seed, describe: 'seed of the random weights and inputs' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON line' })
      .example('$0 bench sparse-inference', "BERT-Base's Linears at 90% sparsity, batch 1 and 8 x 128 tokens, 1 and 2 threads")
      .example('$0 bench sparse-inference --sparsity 0.95 --batch 1 --threads 2', 'one setting at 95%') as unknown as Argv<SparseInferenceArgs>,
  handler: async (a) => {
    const opts = { ...a, batches: a.batch, threads: a.threads, log: a.json ? undefined : (m: string) => process.stderr.write(`${m}\n`) };
    check(sparseInferenceIssues(opts, (k) => flag(k === 'batches' ? 'batch' : k)));
    const r = await runSparseInferenceBench(opts);
    process.stdout.write(`${a.json ? JSON.stringify(r) : formatSparseInferenceResult(r)}\n`);
  },
};

interface CompressionArgs {
  preset: string;
  sparsity: number;
  vocab: number;
  seed: number;
  brotliQuality: number;
  embeddingBits: 8 | 4;
  out?: string;
  load: boolean;
  json: boolean;
}

const cd = COMPRESSION_DEFAULTS;

export const compressionCommand: CommandModule<object, CompressionArgs> = {
  command: 'compression',
  describe:
    "File sizes at a model's shape: builds a BERT of the preset's shape with random weights, prunes (magnitude) and quantizes it with the pipeline's code, exports the dense teacher and the int8 files, and prints raw / gzip / brotli bytes, bytes by part and the ratios",
  builder: (y: Argv) =>
    y
      .option('preset', { type: 'string', default: cd.preset, describe: 'model shape: bert-tiny ... bert-base, or L{2..12}-H{128..768}' })
      .option('sparsity', { type: 'number', default: cd.sparsity, describe: 'fraction of each encoder Linear kernel pruned (magnitude, per tensor)' })
      .option('vocab', {
        type: 'number',
        default: cd.vocab,
        describe: 'vocabulary size (rows of the word-embedding table); the pipeline uses 8192, BERT 30522',
      })
      .option('seed', { type: 'number', default: cd.seed, describe: 'seed of the random weights' })
      .option('brotli-quality', {
        type: 'number',
        default: cd.brotliQuality,
        describe:
          'brotli quality (11 is what the report uses; it compresses ~0.5 MB/s, so the 440 MB BERT-Base teacher takes many minutes: lower it to trade accuracy of that one figure for time)',
      })
      .option('embedding-bits', {
        type: 'number',
        default: cd.embeddingBits,
        describe: "bits of the int8 file's embedding tables: 8 (int8) or 4 (int4, stored two a byte), as the qat stage's quantization.embeddingBits",
      })
      .option('out', { type: 'string', describe: 'keep the files in this directory (default: a temporary directory, removed at the end)' })
      .option('load', { type: 'boolean', default: cd.load, describe: 'time ONNX Runtime session creation on the int8 file (--no-load to skip)' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON line' })
      .example('$0 bench compression --preset L12-H768 --sparsity 0.9', "BERT-Base shape at 90% sparsity (the paper's setting)")
      .example('$0 bench compression --preset bert-tiny --vocab 8192', "the shape of the main job's model")
      .example(
        '$0 bench compression --preset bert-tiny --vocab 8192 --embedding-bits 4',
        'the same with 4-bit embedding tables',
      ) as unknown as Argv<CompressionArgs>,
  handler: async (a) => {
    check(compressionIssues(a));
    const r = await runCompressionBench({ ...a, log: a.json ? undefined : (m) => process.stderr.write(`${m}\n`) });
    process.stdout.write(`${a.json ? JSON.stringify(r) : formatCompressionResult(r)}\n`);
  },
};
