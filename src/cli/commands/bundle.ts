import type { Argv, CommandModule } from 'yargs';
import { formatBytes } from '../../run/bundle-manifest.js';
import { describeDownload } from '../../web/serve.js';
import { TASK_OPTION } from '../task-option.js';

interface BundleArgs {
  run: string;
  out?: string;
  vocab?: string;
  'brotli-quality': number;
  measure: boolean;
  chromium?: string;
  'force-into': boolean;
  task?: string;
}

export const bundleCommand: CommandModule<object, BundleArgs> = {
  command: 'bundle <run>',
  describe:
    "Write a static web page that classifies text with the run's sparse int8 model in the browser (onnxruntime-web, wasm; works offline, nothing from a CDN)",
  builder: (y: Argv) =>
    y
      .positional('run', {
        type: 'string',
        demandOption: true,
        describe: 'a run directory with model.int8.onnx (artifacts/<name>; a multi-task run with --task, or its tasks/<task>)',
      })
      .option('task', TASK_OPTION)
      .option('out', {
        type: 'string',
        describe: 'output directory (default: <run>/web): new, empty, or an earlier bundle (whose files alone are replaced); see docs/safety.md',
      })
      .option('force-into', {
        type: 'boolean',
        default: false,
        describe: 'write into a non-empty folder that holds no bundle, beside its files; never deletes or replaces one of them',
      })
      .option('vocab', { type: 'string', describe: "the run's vocab.txt, when neither the run nor the model's metadata leads to it" })
      .option('brotli-quality', {
        type: 'number',
        default: 11,
        describe: 'brotli quality of the precompressed .br files (0-11; 11 is what static hosts precompress with, and takes ~30 s for the wasm)',
      })
      .option('measure', {
        type: 'boolean',
        default: false,
        describe:
          "then open the page in headless Chromium (/usr/bin/chromium or $PRUNE_ONCE_CHROMIUM), classify the run's test split through it, compare with onnxruntime-node, and write <run>/web/browser-metrics.json, screenshots, and the in-browser section of report.html/report.md",
      })
      .option('chromium', { type: 'string', describe: 'the Chromium executable for --measure (default /usr/bin/chromium)' })
      .example('$0 bundle artifacts/prune-once --task spam --out web/', "the spam task's page in web/; then `prune-once serve web/`")
      .example(
        '$0 bundle artifacts/prune-once/tasks/spam --measure',
        'bundle into artifacts/prune-once/tasks/spam/web and measure it in Chromium',
      ) as unknown as Argv<BundleArgs>,
  handler: async (args) => {
    const log = (m: string) => process.stderr.write(`${m}\n`);
    const { bundleRun } = await import('../../web/bundle.js');
    const { outDir, manifest } = await bundleRun({
      runDir: args.run,
      task: args.task,
      outDir: args.out,
      vocabFile: args.vocab,
      brotliQuality: args['brotli-quality'],
      log,
      forceInto: args['force-into'],
    });
    process.stdout.write(`wrote ${outDir}: ${manifest.files.length} files; ${describeDownload(manifest)}\n`);
    process.stdout.write(`serve it with: prune-once serve ${args.out ?? outDir}\n`);
    if (args.measure) {
      const { measureInBrowser } = await import('../../web/measure.js');
      const r = await measureInBrowser({ runDir: args.run, task: args.task, bundleDir: outDir, chromium: args.chromium, log });
      const m = r.metrics;
      process.stdout.write(
        [
          `in ${m.browser.name} ${m.browser.version} (onnxruntime-web ${m.runtime.version}, wasm, 1 thread):`,
          `  download (brotli): ${formatBytes(m.download.brotliBytes)}, model ${formatBytes(m.download.modelBrotliBytes)}`,
          `  time to first prediction: ${m.timeToFirstPredictionMs.toFixed(0)} ms`,
          `  latency per example, median: ${m.latency.browserMedianMs.toFixed(2)} ms (onnxruntime-node ${m.latency.ortNodeMedianMs.toFixed(2)} ms)`,
          `  test accuracy: ${(m.accuracy.browser * 100).toFixed(2)}% (onnxruntime-node ${(m.accuracy.ortNode * 100).toFixed(2)}%), same prediction on ${(m.accuracy.agreement * 100).toFixed(2)}% of ${m.accuracy.examples} examples`,
          `wrote ${r.metricsPath}, ${r.page.screenshot}${r.report ? `, ${r.report.screenshot}` : ''}`,
          '',
        ].join('\n'),
      );
      const errors = [...r.page.consoleErrors, ...(r.report?.consoleErrors ?? [])];
      if (errors.length) throw new Error(`the browser reported errors: ${errors.join(' | ')}`);
    }
  },
};
