import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The compiled worker script `name` (e.g. 'vault/copy-worker.js'): beside the
 * calling module in dist/src, next to dist/bundle when bt runs bundled, or
 * under dist/ when bt runs from source (tests). Null when none exists, and
 * the caller does the work on its own thread.
 */
export function workerFile(name: string): string | null {
  for (const rel of [`../${name}`, `../src/${name}`, `../../dist/src/${name}`]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (fs.existsSync(p)) return p;
  }
  return null;
}
