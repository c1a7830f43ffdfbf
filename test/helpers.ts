import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend, type BackendInfo } from '../src/backend/select.js';
import { defaultConfig, type BertConfig } from '../src/model/config.js';

/** The backend tests run on: PRUNE_ONCE_BACKEND if set, else wasm (what CI has). */
export async function useTestBackend(): Promise<BackendInfo> {
  return selectBackend(process.env.PRUNE_ONCE_BACKEND || 'wasm');
}

/** A fresh temporary directory for one test. */
export function tempDir(prefix = 'prune-once-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * The tiny BERT the tests build and train (vocabulary 60, 2 layers, hidden 16, 2 heads, FFN 32, 16
 * positions, 2 labels, no dropout): each test overrides only what it exercises.
 */
export function tinyConfig(overrides: Partial<BertConfig> = {}): BertConfig {
  return defaultConfig({
    vocabSize: 60,
    hiddenSize: 16,
    numLayers: 2,
    numHeads: 2,
    intermediateSize: 32,
    maxPositions: 16,
    numLabels: 2,
    hiddenDropout: 0,
    attentionDropout: 0,
    ...overrides,
  });
}
