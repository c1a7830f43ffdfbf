/**
 * Import rules for src/ (dependency-cruiser; `npm run depcruise`): no circular imports, and no import
 * from a lower layer to a higher one. The layers, lowest first (a module may import its own layer's
 * and lower layers' modules, never a higher layer's):
 */
const LAYERS = [
  ['util, backend, version', '^src/(util|backend)/|^src/version\\.ts$'],
  ['model, tokenizer, data, checkpoint', '^src/(model|tokenizer|data|checkpoint)/'],
  ['import (Hugging Face formats in)', '^src/import/'],
  ['run (the run directory: layout, results, tokenizer rule)', '^src/run/'],
  ['train (the loop and its hook contract)', '^src/train/'],
  ['prune, distill, quant (hooks)', '^src/(prune|distill|quant)/'],
  ['onnx', '^src/onnx/'],
  ['export (Hugging Face formats out)', '^src/export/'],
  // report/ builds report.json and report.md from a run's files (run layout, ONNX files); the report
  // *stage* is a pipeline stage (src/pipeline/stages/report.ts), so report/ sits below pipeline/.
  ['report', '^src/report/'],
  ['pipeline (stage table, stages, runner)', '^src/pipeline/'],
  ['bench', '^src/bench/'],
  ['cli and the library surface', '^src/cli/|^src/(index|inspect|export-model)\\.ts$'],
];

/**
 * TEMPORARY (issue 12): upward imports another branch is removing; the integrator deletes each entry
 * once that branch is merged. train/grad-worker.ts imports distill/hook.ts (arch-train: hooks register
 * their own worker recipes).
 */
const PENDING_UPWARD = { 4: '^src/train/grad-worker\\.ts$' };

const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `layer-${i}-imports-upward`,
  comment: `${name} may not import a higher layer (${LAYERS.slice(i + 1).map(([n]) => n).join('; ')})`,
  severity: 'error',
  from: { path, ...(PENDING_UPWARD[i] ? { pathNot: PENDING_UPWARD[i] } : {}) },
  to: { path: LAYERS.slice(i + 1).map(([, p]) => `(${p})`).join('|') },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'a circle of imports: split the shared part into a module both can import',
      severity: 'error',
      // TEMPORARY (issue 12): train/gradients.ts <-> train/loop.ts is the arch-train branch's to
      // untie (the hook contract moves to train/hooks.ts); the integrator deletes this pathNot.
      from: { pathNot: '^src/train/(gradients|loop)\\.ts$' },
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
