/** The data layer: pre-training corpora, classification tasks, encoding and batching. */
export type * from './types.js';
export { DataFileError } from './files.js';
export { sotuAddresses, sotuDocuments, type SotuAddress } from './sotu.js';
export { textFileDocuments } from './text-files.js';
export { splitByGroup, splitDocuments, stratifiedSample, type Splits } from './split.js';
export { packSequences } from './packing.js';
export { maskSequence, type MaskOptions, type MaskedSequence } from './masking.js';
export { MlmBatches, mlmBatches, mlmEvalBatches, type MlmBatchOptions, type MlmBatchState } from './mlm-batches.js';
export { spamAssassinTask, type SpamTaskOptions } from './spam.js';
export { sotuEraTask, sotuPartyTask, type SotuTaskOptions } from './sotu-tasks.js';
export { sotuNextTask } from './sotu-next.js';
export { jsonlTask, tsvTask, type TaskFiles, type TsvColumns, type UserTaskOptions } from './user-tasks.js';
export { loadTask, TASK_KINDS, type TaskSpec } from './tasks.js';
export { encodeExamples } from './encode.js';
export { ClsBatches, clsBatches, clsEvalBatches, lengthOrder, orderedByLength, type ClsBatchOptions, type ClsBatchState } from './cls-batches.js';
