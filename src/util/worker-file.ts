import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The compiled worker script `name` (e.g. 'vault/copy-worker.js'): beside the
 * calling module when built, under dist/ when bt runs from source (tests).
 * Null when neither exists, and the caller does the work on its own thread.
 */
export function workerFile(name: string): string | null {
  for (const rel of [`../${name}`, `../../dist/src/${name}`]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (fs.existsSync(p)) return p;
  }
  return null;
}
