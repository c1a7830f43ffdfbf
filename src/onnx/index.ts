/** Public API of the ONNX exporter, inspector and runtime helpers. */
export { exportOnnx, quantizedValues, IR_VERSION, OPSET, type ExportInput, type ExportResult, type TensorStorage } from './export.js';
export { checkExportInput, graphWeightShapes, OnnxExportError, type ExportFormat } from './checks.js';
export {
  decodeOnnx, inspectOnnx, inspectOnnxFile, formatInspection, formatBytes,
  type OnnxInspection, type InitializerInfo, type QuantizedWeightInfo, type QuantizedActivationInfo,
} from './inspect.js';
export { createSession, runLogits, measureLatency, type Session, type SessionOptions, type Batch, type LatencyOptions, type Latency } from './runtime.js';
export { consumerMetadata, encoderSparsity, metadataProps, quantizationScheme, readMetadata, PRODUCER_NAME } from './metadata.js';
export { chooseStorage, candidateFormats, sparseBytes, type SparsePolicy, type SparseFormat, type StorageChoice, type IndexDtype, type SparseLayout } from './sparse.js';
