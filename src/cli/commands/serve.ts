import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { MANIFEST_FILE, MODEL_FILE } from '../../run/bundle-manifest.js';
import { resolveScope } from '../../run/locate.js';
import { DEFAULT_PORT, describeDownload, serveBundle } from '../../web/serve.js';
import { TASK_OPTION } from '../task-option.js';

interface ServeArgs {
  target: string;
  port: number;
  verbose: boolean;
  task?: string;
}

/**
 * A run directory (model.int8.onnx, no manifest) is bundled into <run>/web first, unless that bundle
 * is newer than the model; a multi-task run's task (--task, or its directory) into <run>/tasks/<task>/web.
 */
async function bundleDirOf(target: string, task: string | undefined): Promise<string> {
  if (!existsSync(target)) return target;
  if (existsSync(join(target, MANIFEST_FILE))) {
    if (task !== undefined) throw new Error(`--task ${task}: ${target} is a web bundle, which holds one model; drop --task`);
    return target;
  }
  const runDir = resolveScope(target, task, 'serve').scope?.dir ?? target;
  if (!existsSync(join(runDir, MODEL_FILE))) return target;
  const web = join(runDir, 'web');
  const fresh = existsSync(join(web, MANIFEST_FILE)) && statSync(join(web, MANIFEST_FILE)).mtimeMs >= statSync(join(runDir, MODEL_FILE)).mtimeMs;
  if (!fresh) {
    process.stderr.write(`${runDir} is a run directory: bundling it into ${web} first\n`);
    const { bundleRun } = await import('../../web/bundle.js');
    await bundleRun({ runDir, outDir: web, log: (m) => process.stderr.write(`${m}\n`) });
  }
  return web;
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve <target>',
  describe: 'Serve a web bundle (or a run, bundled into <run>/web first) on 127.0.0.1 with brotli/gzip content encoding',
  builder: (y: Argv) =>
    y
      .positional('target', {
        type: 'string',
        demandOption: true,
        describe: 'a folder written by `prune-once bundle`, or a run directory (a multi-task run with --task, or its tasks/<task>)',
      })
      .option('task', TASK_OPTION)
      .option('port', { type: 'number', default: DEFAULT_PORT, describe: 'TCP port on 127.0.0.1 (0: any free port)' })
      .option('verbose', { type: 'boolean', default: false, describe: 'log every request with the bytes sent' })
      .example('$0 serve web/', 'serve the bundle in web/ at http://127.0.0.1:8321/')
      .example(
        '$0 serve artifacts/prune-once --task spam --port 9000',
        "bundle the spam task's model (if needed) and serve it on port 9000",
      ) as unknown as Argv<ServeArgs>,
  handler: async (args) => {
    const dir = await bundleDirOf(args.target, args.task);
    const s = await serveBundle({ dir, port: args.port, log: args.verbose ? (l) => process.stderr.write(`${l}\n`) : undefined });
    process.stdout.write(`serving ${dir} at ${s.url}\n${describeDownload(s.manifest)}\n(Ctrl+C to stop)\n`);
    await new Promise<void>((done) => {
      const stop = () => void s.close().then(done);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};
