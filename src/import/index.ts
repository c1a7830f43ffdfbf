/** Hugging Face BERT checkpoints in and out: safetensors, config.json, vocab.txt. */
export { ImportError } from './errors.js';
export { decodeBFloat16, decodeFloat16, encodeBFloat16, encodeFloat16, toBFloat16Bits, toFloat16Bits } from './half.js';
export { encodeSafetensors, openSafetensors, writeSafetensors, type FloatDtype, type SafetensorsEntry, type SafetensorsFile, type TensorToWrite } from './safetensors.js';
export { parseHfConfig, toHfConfig, type HfConfigInfo } from './hf-config.js';
export { hfLayout, transpose2d, type HfTensor } from './hf-names.js';
export { readHfTokenizer, writeHfTokenizer, type HfTokenizer } from './hf-tokenizer.js';
export { importHfDirectory, isHfDirectory, type HfImport, type ImportOptions } from './import-hf.js';
export { exportHfDirectory, hfTensors, type HfExportOptions, type HfExportResult } from './export-hf.js';
export { exportSafetensors, storedTokenizer, type SafetensorsExport, type StoredTokenizer } from './export-source.js';
export { importToCheckpoint, summarize, type ImportSummary } from './convert.js';
