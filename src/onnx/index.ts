/** Public API of the ONNX exporter, inspector and runtime helpers. */
export {
  exportOnnx,
  quantizedValues,
  checkCompactRoundTrip,
  weightStorageNote,
  IR_VERSION,
  OPSET,
  type ExportInput,
  type ExportResult,
  type TensorStorage,
} from './export.js';
export { checkExportInput, graphWeightShapes, OnnxExportError, type ExportFormat } from './checks.js';
export {
  decodeOnnx,
  inspectOnnx,
  inspectOnnxFile,
  type InspectOptions,
  type OnnxInspection,
  type InitializerInfo,
  type QuantizedWeightInfo,
  type QuantizedActivationInfo,
} from './inspect/analyse.js';
export { formatInspection, formatBaselineRatios, formatParts, formatBytes, table } from './inspect/format.js';
export { fileSizes, partBreakdown, precomputeFileSizes, sizeRatios, type FileSizes, type PartBreakdown, type SizeRatios } from './sizes.js';
export {
  encodeMask,
  encodeGaps,
  encodeNibbles,
  decodeMask,
  decodeGaps,
  decodeNibbles,
  decodeCompact,
  CompactEncodingError,
  type CompactEncoded,
  type CompactEncoding,
} from './compact.js';
export { chooseWeightStorage, WEIGHT_STORAGES, type WeightStorage, type StorageKind } from './storage.js';
export {
  createSession,
  runLogits,
  measureLatency,
  latencyFeeds,
  type Session,
  type SessionOptions,
  type Batch,
  type LatencyOptions,
  type Latency,
} from './runtime.js';
export { consumerMetadata, encoderSparsity, metadataProps, quantizationScheme, readMetadata, PRODUCER_NAME } from './metadata.js';
export {
  chooseStorage,
  candidateFormats,
  sparseBytes,
  type SparsePolicy,
  type SparseFormat,
  type StorageChoice,
  type IndexDtype,
  type SparseLayout,
} from './sparse.js';
