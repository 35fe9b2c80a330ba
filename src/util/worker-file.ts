import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The built worker script `name` (e.g. 'vault/copy-worker'): in dist/bundle
 * beside the calling chunk when bt runs bundled (bin/bt), beside the calling
 * module in dist/src when the tsc output is imported (the benchmark), or
 * under dist/ when bt runs from source (unit tests). Null when none exists,
 * and the caller does the work on its own thread.
 */
export function workerFile(name: string): string | null {
  for (const rel of [`./${name}.mjs`, `../${name}.mjs`, `../${name}.js`, `../../dist/src/${name}.js`]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (fs.existsSync(p)) return p;
  }
  return null;
}
