/**
 * Import rules for src/ (dependency-cruiser; `npm run depcruise`): no circular imports, and no import
 * from a lower layer to a higher one. The layers, lowest first (a module may import its own layer's
 * and lower layers' modules, never a higher layer's):
 */
const LAYERS = [
  ['util, backend, version', '^src/(util|backend)/|^src/version\\.ts$'],
  ['model, tokenizer, data, checkpoint', '^src/(model|tokenizer|data|checkpoint)/'],
  ['import (Hugging Face formats in)', '^src/import/'],
  ['baselines (majority class, naive Bayes)', '^src/baselines/'],
  ['run (the run directory: layout, results, tokenizer rule; browser metrics and bundle manifest files)', '^src/run/'],
  ['train (the loop and its hook contract)', '^src/train/'],
  ['prune, distill, quant (hooks)', '^src/(prune|distill|quant)/'],
  ['onnx', '^src/onnx/'],
  ['export (Hugging Face formats out)', '^src/export/'],
  ['predict (labels for texts from an exported model)', '^src/predict/'],
  // report/ builds report.json and report.md from a run's files (run layout, ONNX files); the report
  // *stage* is a pipeline stage (src/pipeline/stages/report.ts), so report/ sits below pipeline/.
  ['report', '^src/report/'],
  ['pipeline (stage table, stages, runner)', '^src/pipeline/'],
  ['bench, web (benchmarks; the browser bundle, its server and in-browser measurement)', '^src/bench/|^src/web/'],
  ['sweep (grids of pipeline runs on local or BullMQ workers)', '^src/sweep/'],
  ['cli and the library surface', '^src/cli/|^src/index\\.ts$'],
];

const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `layer-${i}-imports-upward`,
  comment: `${name} may not import a higher layer (${LAYERS.slice(i + 1)
    .map(([n]) => n)
    .join('; ')})`,
  severity: 'error',
  from: { path },
  to: {
    path: LAYERS.slice(i + 1)
      .map(([, p]) => `(${p})`)
      .join('|'),
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'a circle of imports: split the shared part into a module both can import',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'every-module-in-a-layer',
      comment: 'a new top-level folder of src/ needs its place in LAYERS above',
      severity: 'error',
      from: { path: '^src/', pathNot: LAYERS.map(([, p]) => `(${p})`).join('|') },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: they tie the modules' designs together just the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
