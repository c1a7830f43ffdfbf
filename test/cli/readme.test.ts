/**
 * The README's user commands, its table "What users do" and its multi-task section, run as written
 * on a multi-task run laid out as the main job's: in a scratch directory holding
 * `pipelines/prune-once.yaml` (the shared multi-task smoke pipeline, test/shared-runs.ts, renamed
 * prune-once) and `artifacts/prune-once` (a copy of its run). Only the sizes change: the bench
 * shapes are made tiny, optional `[...]` parts are left out, and each command gets the few flags
 * that keep it short (`--brotli-quality 1`, `--port 0`, `--json`). Each must exit 0 and write what
 * it says; the commands that act on one model must ask for --task on the run, listing its tasks.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/checkpoint/format.js';
import { probeBatch } from '../../src/export/model-files.js';
import { createSession, runLogits } from '../../src/onnx/index.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { readReport } from '../../src/report/read.js';
import { cli, CLI } from '../reliability/fixtures.js';
import { tempDir } from '../helpers.js';
import { sharedMultiTaskRun } from '../shared-runs.js';

const README = readFileSync('README.md', 'utf8');
const RUN = 'artifacts/prune-once';
const TASKS = ['spam', 'era'];
let cwd = '';
const at = (...p: string[]) => join(cwd, ...p);

/** The `npx prune-once ...` commands of the table "What users do" and of the multi-task section's sh block. */
function readmeCommands(): string[] {
  for (const heading of ['## What users do', 'Every command has `--help`', '### Several tasks from one sparse model'])
    if (!README.includes(heading)) throw new Error(`README.md: '${heading}' not found; point test/cli/readme.test.ts at where its commands went`);
  const table = README.slice(README.indexOf('## What users do'), README.indexOf('Every command has `--help`'));
  const fromTable = [...table.matchAll(/`(npx prune-once [^`]+)`/g)].map((m) => m[1]);
  const section = README.slice(README.indexOf('### Several tasks from one sparse model'));
  const block = section.slice(section.indexOf('```sh') + 5, section.indexOf('```', section.indexOf('```sh') + 5));
  const fromSection = block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l.startsWith('npx prune-once '));
  return [...fromTable, ...fromSection];
}

/** The arguments of a README command: `[...]` parts left out, then the tiny sizes of its kind. */
function argsOf(command: string): string[] {
  let a = command
    .replace(/^npx prune-once /, '')
    .replace(/\s*\[[^\]]*\]/g, '')
    .trim();
  const tiny: Array<[RegExp, string, string]> = [
    [/^bench train-step/, '--vocab 30522 --seq 128 --batch 32 --steps 5', '--vocab 512 --seq 16 --batch 2 --steps 1 --warmup 0 --threads 1 --json'],
    [/^bench sparse-linear/, '--hidden 256', '--hidden 64 --tokens 64 --runs 1 --json'],
    [/^bench compression/, '--preset L12-H768', '--preset L2-H128 --vocab 512 --brotli-quality 1 --no-load --json'],
    // The smoke model has 64 positions.
    [/^bench inference/, '--seq 128', '--seq 32 --runs 2 --warmup 1'],
    [/^bundle/, '--out web/', '--out web/ --brotli-quality 1'],
  ];
  for (const [kind, from, to] of tiny) {
    if (!kind.test(a)) continue;
    expect(a, `the README's ${kind.source.slice(1)} command changed: update its tiny settings here`).toContain(from);
    a = a.replace(from, to);
  }
  return a.split(/\s+/);
}

beforeAll(async () => {
  const shared = await sharedMultiTaskRun();
  cwd = tempDir('prune-once-readme-');
  mkdirSync(at('pipelines'));
  // The same pipeline under the main job's name, so its run directory is artifacts/prune-once.
  writeFileSync(at('pipelines', 'prune-once.yaml'), `use: ${shared.pipelinePath}\nname: prune-once\n`);
  cpSync(shared.runDir, at(RUN), { recursive: true });
}, 1_800_000);

/** Each README command's check of what it printed and wrote, by its first words. */
const checks: Array<[string, (out: { stdout: string; stderr: string }) => Promise<void> | void]> = [
  [
    'run pipelines/prune-once.yaml',
    ({ stderr }) => {
      // A finished run: the command finds every stage of every task done and reruns none.
      expect(stderr.match(/: up to date/g)?.length, stderr).toBe(2 + TASKS.length * 5);
      expect(stderr).not.toMatch(/: done in/);
    },
  ],
  [
    `export ${RUN} --task spam --format int8`,
    async ({ stdout }) => {
      expect(stdout).toMatch(/^int8: .*my-model\/model\.int8\.onnx .* from .*tasks\/spam\/qat\/model\.ckpt; ONNX Runtime vs tfjs: 100% same predictions/m);
      // The file is the spam task's int8 model: the same logits as the one its export stage wrote.
      const batch = probeBatch({ config: loadCheckpoint(at(RUN, 'tasks', 'spam', 'qat', 'model.ckpt')).config, weights: new Map() });
      const logits = async (p: string) => Array.from(await runLogits(await createSession(p), batch));
      const exported = await logits(at('my-model', 'model.int8.onnx'));
      const fromRun = await logits(at(RUN, 'tasks', 'spam', 'model.int8.onnx'));
      expect(exported.length).toBe(batch.batchSize * 2);
      exported.forEach((v, i) => expect(v).toBeCloseTo(fromRun[i], 5));
      expect(existsSync(at('my-model', 'model.int8-alt-embeddings.onnx'))).toBe(true);
    },
  ],
  [
    `inspect ${RUN} --task spam`,
    ({ stdout }) => {
      // The spam task's report, as `inspect` of its directory shows it.
      expect(stdout).toBe(`${renderMarkdown(readReport(at(RUN, 'tasks', 'spam', 'report.json')))}\n`);
    },
  ],
  [
    `inspect ${RUN}`,
    ({ stdout }) => {
      expect(stdout).toMatch(/a multi-task run, 2 tasks \(spam, era\)/);
      expect(stdout).toMatch(/teacher +done in/);
      expect(stdout).toMatch(/prune-distill +done in/);
      for (const t of TASKS) expect(stdout).toMatch(new RegExp(`^  ${t} +5/5 stages done; report tasks/${t}/report\\.md$`, 'm'));
      // One row per task: name, where it was pruned, test examples, ...
      for (const t of TASKS) expect(stdout).toMatch(new RegExp(`^\\| ${t} \\| pruned upstream, transferred \\| \\d+ \\| `, 'm'));
      expect(stdout).not.toMatch(/not done|missing/);
    },
  ],
  [
    'bench train-step',
    ({ stdout }) => {
      const r = JSON.parse(stdout) as { steps: number; tokens_per_s: number };
      expect(r.steps).toBe(1);
      expect(r.tokens_per_s).toBeGreaterThan(0);
    },
  ],
  [
    'bench sparse-linear',
    ({ stdout }) => {
      const r = JSON.parse(stdout) as { hidden: number; rows: Array<{ sparsity: number; dense_ms: number }> };
      expect(r.hidden).toBe(64);
      expect(r.rows.map((x) => x.sparsity)).toEqual([0.9, 0.9, 0.9]);
    },
  ],
  [
    'bench compression',
    ({ stdout }) => {
      const r = JSON.parse(stdout) as { sparsity: number; config: { numLayers: number; vocabSize: number } };
      expect([r.sparsity, r.config.numLayers, r.config.vocabSize]).toEqual([0.9, 2, 512]);
    },
  ],
  [
    `bench inference ${RUN} --task spam`,
    ({ stdout }) => {
      const r = JSON.parse(stdout) as { model: string; batch: number; seq: number; median_ms: number };
      expect(r.model).toBe(at(RUN, 'tasks', 'spam', 'model.int8.onnx'));
      expect([r.batch, r.seq]).toEqual([1, 32]);
      expect(r.median_ms).toBeGreaterThan(0);
    },
  ],
  [
    `export ${RUN}/tasks/spam --format safetensors`,
    ({ stdout, stderr }) => {
      expect(stderr).not.toMatch(/warning/);
      // A usable classifier: the run's own vocabulary, lower-cased, with the task's labels.
      const vocab = readFileSync(at(RUN, 'vocab.txt'), 'utf8');
      expect(readFileSync(at('spam-hf', 'vocab.txt'), 'utf8')).toBe(vocab);
      const config = JSON.parse(readFileSync(at('spam-hf', 'config.json'), 'utf8')) as { vocab_size: number; id2label: Record<string, string> };
      expect(config.vocab_size).toBe(vocab.trimEnd().split('\n').length);
      expect(Object.keys(config.id2label)).toHaveLength(2);
      expect(JSON.parse(readFileSync(at('spam-hf', 'tokenizer_config.json'), 'utf8'))).toMatchObject({ do_lower_case: true });
      expect(stdout).toContain('vocab.txt');
    },
  ],
  [
    `bundle ${RUN} --task spam`,
    ({ stdout }) => {
      expect(stdout).toMatch(/wrote .*web: \d+ files/);
      expect(readFileSync(at('web', 'model.int8.onnx'))).toEqual(readFileSync(at(RUN, 'tasks', 'spam', 'model.int8.onnx')));
      expect(readFileSync(at('web', 'vocab.txt'), 'utf8')).toBe(readFileSync(at(RUN, 'vocab.txt'), 'utf8'));
      const manifest = JSON.parse(readFileSync(at('web', 'manifest.json'), 'utf8')) as { run: { name: string }; labels: string[] };
      expect(manifest.run.name).toBe('prune-once spam');
      expect(manifest.labels).toHaveLength(2);
    },
  ],
];

/** Starts `serve`, fetches the page and the model through it, stops it. */
async function serveAndFetch(args: string[]): Promise<{ page: string; model: Buffer }> {
  const child = spawn(process.execPath, [CLI, ...args, '--port', '0'], { cwd });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /serving .* at (http:\/\/\S+)/.exec(stdout);
      if (m) resolveUrl(m[1]);
    });
    void exited.then((code) => reject(new Error(`serve exited (${code}) before serving: ${stderr}`)));
  });
  try {
    const page = await (await fetch(url)).text();
    const model = Buffer.from(await (await fetch(`${url}model.int8.onnx`)).arrayBuffer());
    return { page, model };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

describe("the README's commands on a multi-task run (the main job's layout), as written: exit 0, writing what each says", () => {
  const commands = readmeCommands();
  it('are found in the README', () => expect(commands.length).toBeGreaterThanOrEqual(10));
  // In the README's order: serve serves what bundle wrote.
  for (const command of commands) {
    it(
      command,
      async () => {
        const args = argsOf(command);
        if (args[0] === 'serve') {
          // Runs until stopped: it must serve the bundle the command before it wrote.
          const { page, model } = await serveAndFetch(args);
          expect(page).toContain('<html');
          expect(model).toEqual(readFileSync(at(RUN, 'tasks', 'spam', 'model.int8.onnx')));
          return;
        }
        const check = checks.find(([start]) => args.join(' ').startsWith(start));
        expect(check, `no check for the README command '${command}': add one in test/cli/readme.test.ts`).toBeDefined();
        const out = await cli(args, { cwd });
        expect(out.status, `${command}\n${out.stderr}`).toBe(0);
        await check![1](out);
      },
      300_000,
    );
  }
});

describe('on a multi-task run, the commands that act on one model', () => {
  it('ask for --task and list the tasks, never reporting a missing file of the run', async () => {
    for (const args of [
      ['export', RUN, '--format', 'int8', '--out', 'x'],
      ['bundle', RUN, '--out', 'x'],
      ['serve', RUN, '--port', '0'],
      ['bench', 'inference', RUN, '--runs', '1'],
    ]) {
      const out = await cli(args, { cwd });
      expect(out.status, args.join(' ')).toBe(1);
      expect(out.stderr, args.join(' ')).toContain(`${RUN} is a multi-task run with 2 tasks (spam, era)`);
      expect(out.stderr, args.join(' ')).toContain('--task NAME');
    }
    expect(existsSync(at('x'))).toBe(false);
  }, 300_000);

  it("name each task's file when given a path the run keeps per task (the README's earlier bench command)", async () => {
    const out = await cli(['bench', 'inference', `${RUN}/model.int8.onnx`, '--runs', '1'], { cwd });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain(`${RUN}/tasks/spam/model.int8.onnx, ${RUN}/tasks/era/model.int8.onnx`);
  });

  it("export the safetensors of a task's checkpoint with its run's vocabulary", async () => {
    const out = await cli(['export', `${RUN}/tasks/era/finetune-teacher/model.ckpt`, '--format', 'safetensors', '--out', 'era-hf'], { cwd });
    expect(out.status, out.stderr).toBe(0);
    expect(out.stderr).not.toMatch(/tokenizer is unknown/);
    expect(readFileSync(at('era-hf', 'vocab.txt'), 'utf8')).toBe(readFileSync(at(RUN, 'vocab.txt'), 'utf8'));
  });
});
