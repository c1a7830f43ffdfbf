/**
 * prune-once as a library: the public API. Everything the CLI does is a call here, and custom
 * training loops get the same hooks and mask functions the pipeline stages use.
 *
 *   import { runPipeline } from 'prune-once';
 *   const run = await runPipeline({ pipelinePath: 'pipelines/prune-once.yaml', outDir: 'out/run' });
 *
 * Names not exported here are internal and may change without notice.
 */

// Running pipelines, and their files and settings.
export { runPipeline, type RunOptions, type RunSummary } from './pipeline/run.js';
export { ConfigError, loadPipeline, validatePipeline, type LoadedPipeline } from './pipeline/load.js';
export { PipelineSchema, type Pipeline, type Stages } from './pipeline/pipeline-schema.js';
export { STAGE_ORDER, STAGES, type StageName } from './pipeline/stages/index.js';
export type { StageDefinition, StageOutput, StageRun } from './pipeline/stages/types.js';
export { multiTaskStatus, runStatus, type MultiTaskStatus, type StageStatus, type TaskStatus } from './pipeline/status.js';
export { HF_EXPORT_DIR, MODEL_SOURCE_STAGE, ONNX_FILES, RUN_FILES, STAGE_FILES, onnxPath, runFile, stageDir, taskRunDir } from './run/layout.js';
export { locate, resolveScope, runTasks, type Located, type RunScope } from './run/locate.js';
export { readResult, type StageResult } from './run/result.js';

// Exporting and inspecting.
export { exportModel, type ExportedFile, type ExportFormatOption } from './pipeline/export-model.js';
export { exportSafetensors, type SafetensorsExport } from './export/hf-source.js';
export { exportHfDirectory, type HfExportOptions, type HfExportResult } from './export/hf.js';
export { importToCheckpoint, type ImportSummary } from './import/convert.js';
export { importHfDirectory, type HfImport } from './import/import-hf.js';
export { exportTransformersJs, TFJS_FILES, type TransformersJsExport } from './export/transformers-js.js';
export { inspectPath, writeHtmlReports, type Inspection, type InspectOptions } from './pipeline/inspect.js';
export {
  openPredictor,
  predict,
  predictionAccuracy,
  readPredictInputs,
  resolvePredictModel,
  type Prediction,
  type PredictInput,
  type PredictModel,
  type PredictOptions,
  type Predictor,
} from './predict/index.js';
export { readReport } from './report/read.js';
export { formatInspection, inspectOnnx, inspectOnnxFile, type OnnxInspection } from './onnx/index.js';
export { renderMarkdown } from './report/markdown.js';
export type { Report } from './report/schema.js';

// Models, checkpoints, tokenizers, backends.
export { selectBackend, type BackendInfo } from './backend/select.js';
export { loadCheckpoint, saveCheckpoint, type Checkpoint } from './checkpoint/format.js';
export { ImportState, ModelState, STAGE_STATES, type StageState } from './checkpoint/state.js';
export { createModel, disposeModel, modelFromSnapshot, snapshotModel, type BertModel, type ForwardOptions } from './model/bert.js';
export { defaultConfig, presetNames, presetShape, type BertConfig } from './model/config.js';
export { countNonZeros, sparsityTotals, type SparsityTotals } from './model/sparsity.js';
export {
  EMBEDDING_TABLES,
  ENCODER_LINEAR_GLOBS,
  encoderLinearKernels,
  isEncoderLinearKernel,
  weightRole,
  weightShapes,
  type WeightRole,
} from './model/weights.js';
export { bertUncasedVocab, WordPieceTokenizer, type Tokenizer } from './tokenizer/index.js';

// Custom training loops: the loop, its hook contract, and the hooks and mask functions the stages use.
export { trainLoop, type BatchSource, type LoopResult, type LoopSettings } from './train/loop.js';
export type { LoopContext, TrainHook } from './train/hooks.js';
export { classificationObjective, mlmObjective, type Batch, type Objective } from './train/tasks.js';
export { AdamW } from './train/optimizer.js';
export { distillationHook, type DistillSettings } from './distill/hook.js';
export { PrunerHook, type PrunerSettings } from './prune/pruner.js';
export {
  applyMask,
  blockMask,
  globalMagnitudeMask,
  magnitudeMask,
  maskRegistry,
  patternLockMask,
  type MaskFn,
  type MaskMap,
  type WeightMap,
} from './prune/masks.js';
export { selectWeights } from './prune/select.js';
export { QatHook, type QatSettings } from './quant/qat.js';
