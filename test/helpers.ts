import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend, type BackendInfo } from '../src/backend/select.js';

/** The backend tests run on: PRUNE_ONCE_BACKEND if set, else wasm (what CI has). */
export async function useTestBackend(): Promise<BackendInfo> {
  return selectBackend(process.env.PRUNE_ONCE_BACKEND || 'wasm');
}

/** A fresh temporary directory for one test. */
export function tempDir(prefix = 'prune-once-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
