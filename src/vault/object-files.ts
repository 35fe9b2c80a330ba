import fs from 'node:fs';
import path from 'node:path';
import { makeDirs } from '../util/make-dirs.js';

/**
 * Rename temp files to their object paths: `moves` alternates from, to. A
 * missing shard directory (`content/<2 hex>`) is made on the first rename
 * into it. Stops at the first failure; the renames before it are done.
 */
export function renameObjects(moves: string[]): void {
  for (let i = 0; i + 1 < moves.length; i += 2) {
    const from = moves[i]!;
    const to = moves[i + 1]!;
    try {
      fs.renameSync(from, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      makeDirs(path.dirname(to));
      fs.renameSync(from, to); // ENOENT again: the temp file itself is gone
    }
  }
}

/** The path of object `id` below a vault's content directory. */
export function objectPath(contentDir: string, id: string): string {
  return path.join(contentDir, id.slice(0, 2), id);
}

/** True when the object is there (with this size, when given: a put of the same bytes stores nothing). */
export function objectExists(contentDir: string, id: string, size?: number): boolean {
  const st = fs.statSync(objectPath(contentDir, id), { throwIfNoEntry: false });
  return st !== undefined && (size === undefined || st.size === size);
}
