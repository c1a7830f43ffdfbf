import { afterEach, describe, expect, it, vi } from 'vitest';
import yargs from 'yargs';
import { benchCommand } from '../../src/cli/commands/bench.js';

/** Runs `prune-once <args>` with the bench command only, in this process; returns stdout or the failure. */
async function cli(args: string[]): Promise<{ out: string; error?: string }> {
  let out = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  // yargs prints --help through console.log.
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    out += `${a.join(' ')}\n`;
  });
  try {
    await yargs(args)
      .scriptName('prune-once')
      .command(benchCommand)
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .parseAsync();
    return { out };
  } catch (e) {
    return { out, error: (e as Error).message };
  } finally {
    write.mockRestore();
    log.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('prune-once bench', () => {
  it('train-step --json prints one JSON line with the arguments it was given', async () => {
    const backend = process.env.PRUNE_ONCE_BACKEND || 'wasm';
    const { out, error } = await cli([
      'bench',
      'train-step',
      '--student-layers',
      '1',
      '--student-hidden',
      '16',
      '--teacher-layers',
      '1',
      '--teacher-hidden',
      '32',
      '--vocab',
      '60',
      '--seq',
      '8',
      '--batch',
      '2',
      '--steps',
      '1',
      '--backend',
      backend,
      '--json',
    ]);
    expect(error).toBeUndefined();
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]);
    expect(r).toMatchObject({
      bench: 'train-step',
      student_layers: 1,
      student_hidden: 16,
      teacher_layers: 1,
      teacher_hidden: 32,
      vocab: 60,
      seq: 8,
      batch: 2,
      steps: 1,
      sparsity: 0.9,
    });
    expect(r.tokens_per_s).toBeGreaterThan(0);
  });

  it('rejects bad flags naming each one, before doing any work', async () => {
    const { error } = await cli(['bench', 'train-step', '--batch', '0', '--seq', 'x', '--student-hidden', '200', '--warmup', '-2']);
    expect(error).toMatch(/--batch must be a positive integer, got 0/);
    expect(error).toMatch(/--seq must be a positive integer, got NaN/);
    expect(error).toMatch(/--student-hidden must be divisible/);
    expect(error).toMatch(/--warmup must be an integer >= 0/);
    expect((await cli(['bench', 'inference', 'm.onnx', '--runs', '0'])).error).toMatch(/--runs must be a positive integer/);
    expect((await cli(['bench', 'inference'])).error).toMatch(/give an \.onnx model or a run directory, or --preset NAME/);
    expect((await cli(['bench', 'inference', 'm.onnx', '--preset', 'bert-tiny'])).error).toMatch(/give a model or --preset, not both/);
    expect((await cli(['bench', 'inference', 'm.onnx', '--batch', '1', '8'])).error).toMatch(
      /--batch: one value with a model \(several with --preset\), got 1 8/,
    );
    const preset = (await cli(['bench', 'inference', '--preset', 'L3-H100', '--threads', '0', '--batch', '1', '0'])).error;
    expect(preset).toMatch(/--preset: unknown model preset 'L3-H100'/);
    expect(preset).toMatch(/--threads must be a positive integer, got 0/);
    expect(preset).toMatch(/--batch must be a positive integer, got 0/);
    expect((await cli(['bench', 'compression', '--embedding-bits', '6'])).error).toMatch(/--embedding-bits must be 8 or 4, got 6/);
    const sparse = (await cli(['bench', 'sparse-inference', '--sparsity', '1', '--batch', '0', '--min-runs', '0'])).error;
    expect(sparse).toMatch(/--sparsity must be in \[0, 1\), got 1/);
    expect(sparse).toMatch(/--batch must be positive integers, got 0/);
    expect(sparse).toMatch(/--min-runs must be a positive integer, got 0/);
    expect((await cli(['bench', 'nonsense'])).error).toMatch(/train-step or inference/);
  });

  it('refuses absurd sizes at once, naming the flag and the limit (bench inference --batch 100000000 used to hang)', async () => {
    const inference = async (...flags: string[]) => (await cli(['bench', 'inference', 'm.onnx', ...flags])).error;
    expect(await inference('--batch', '100000000')).toMatch(/--batch must be at most 65536 rows, got 100000000/);
    expect(await inference('--batch', '8192', '--seq', '512')).toMatch(/--batch x --seq must be at most 1048576 tokens per run, got 8192 x 512/);
    expect(await inference('--seq', '100000')).toMatch(/--seq must be at most 8192/);
    expect(await inference('--runs', '100000000')).toMatch(/--runs must be at most 100000, got 100000000/);
    expect(await inference('--warmup', '100000000')).toMatch(/--warmup must be at most 10000, got 100000000/);
    expect(await inference('--threads', '100000')).toMatch(/--threads must be at most 1024, got 100000/);
    const step = async (...flags: string[]) => (await cli(['bench', 'train-step', ...flags])).error;
    expect(await step('--batch', '100000000')).toMatch(/--batch must be at most 65536, got 100000000/);
    expect(await step('--student-layers', '1000000000')).toMatch(/--student-layers must be at most 24, got 1000000000/);
    expect(await step('--teacher-hidden', '65536')).toMatch(/--teacher-hidden must be at most 1024, got 65536/);
    expect(await step('--vocab', '1000000000')).toMatch(/--vocab must be at most 262144, got 1000000000/);
    expect(await step('--seq', '1000000')).toMatch(/--seq must be at most 8192, got 1000000/);
    expect((await cli(['bench', 'sparse-linear', '--tokens', '1000000000000'])).error).toMatch(/--tokens must be at most 1048576, got 1000000000000/);
    expect((await cli(['bench', 'compression', '--vocab', '1000000000'])).error).toMatch(/--vocab must be an integer from 2 to 262144, got 1000000000/);
  });

  it('--help describes every flag and gives examples', async () => {
    const { out } = await cli(['bench', 'train-step', '--help']);
    for (const f of [
      '--student-layers',
      '--student-hidden',
      '--teacher-layers',
      '--teacher-hidden',
      '--vocab',
      '--seq',
      '--batch',
      '--steps',
      '--sparsity',
      '--backend',
      '--json',
      '--profile',
    ]) {
      expect(out).toContain(f);
    }
    expect(out).toMatch(/Examples:/);
    expect(out).toMatch(/torch_ref/);
  });
});
