import type { Argv, CommandModule } from 'yargs';
import type { StageName } from '../../pipeline/stages/index.js';

interface RunArgs {
  pipeline: string;
  out?: string;
  set: string[];
  fresh: boolean;
  backend?: string;
  until?: string;
  quiet: boolean;
  cache?: string;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run <pipeline>',
  describe: 'Run a pipeline file: teacher -> prune-distill -> finetune-teacher -> transfer -> qat -> export -> report',
  // Async, so the stages (the engine) load only for `run`, not for `--help` or another command.
  builder: async (y: Argv) => {
    const { STAGE_ORDER } = await import('../../pipeline/stages/index.js');
    return y
      .positional('pipeline', { type: 'string', demandOption: true, describe: 'pipeline YAML file, e.g. pipelines/prune-once.yaml' })
      .option('out', { type: 'string', describe: 'run directory (default: artifacts/<pipeline name>)' })
      .option('set', {
        type: 'string',
        array: true,
        default: [],
        describe: 'override a setting, key=value (repeatable), e.g. --set stages.teacher.train.steps=100',
      })
      .option('fresh', {
        type: 'boolean',
        default: false,
        describe:
          'start over: delete the files prune-once wrote in the run directory (only in one it made; other files are kept) (default: skip finished stages whose files verify, resume interrupted ones)',
      })
      .option('backend', { type: 'string', describe: "tfjs backend: auto, gpu, node, wasm or cpu (default: the pipeline's, else the best that loads)" })
      .option('until', { type: 'string', choices: [...STAGE_ORDER], describe: 'stop after this stage' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no progress output' })
      .option('cache', {
        type: 'string',
        describe: 'shared stage cache directory: reuse stage outputs stored there under the same fingerprint, store the ones computed here (hard links)',
      })
      .example('$0 run pipelines/prune-once.yaml', 'the main job: compress a BERT and write the sparse int8 ONNX model and the report')
      .example('$0 run pipelines/smoke.yaml --out /tmp/smoke --fresh', 'every stage on tiny settings in about a minute')
      .example('$0 run pipelines/prune-once.yaml --set stages.prune-distill.pruning.finalSparsity=0.85', 'rerun from prune-distill with another target')
      .example(
        '$0 run pipelines/smoke.yaml --out /tmp/a --cache /tmp/stage-cache',
        'a second run with --cache and another --out reuses every stage but the report',
      ) as unknown as Argv<RunArgs>;
  },
  handler: async (args) => {
    const [{ runPipeline }, { openCache }] = await Promise.all([import('../../pipeline/run.js'), import('../../pipeline/stage-cache.js')]);
    if (args.cache) openCache(args.cache); // an unusable cache fails now, not after a stage has run
    const summary = await runPipeline({
      pipelinePath: args.pipeline,
      outDir: args.out,
      sets: args.set,
      fresh: args.fresh,
      backend: args.backend,
      until: args.until as StageName | undefined,
      quiet: args.quiet,
      cacheDir: args.cache,
    });
    process.stderr.write(`run directory: ${summary.runDir}\n`);
  },
};
