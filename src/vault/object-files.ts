import fs from 'node:fs';
import path from 'node:path';
import { makeDirs } from '../util/make-dirs.js';
import { isContentId, type HeldObject } from './vault.js';

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

/**
 * The objects below a content directory, one shard directory (`<2 hex>/`)
 * read at a time: a shard holds about 1/256 of the vault, so memory stays
 * small for any vault size. Only regular files named by an id of their own
 * shard count (getContent finds nothing else); temp files, strays and a
 * missing content directory are no objects. Errors other than a name gone
 * between readdir and lstat are thrown as they are. Listed in id order (as
 * an S3 listing is): a caller looking each id up in an index then reads it
 * in order (a rewrite of 500,000 records took 6 s so, and 14 s in random
 * order, on a busy machine).
 */
export function* listObjects(contentDir: string): Generator<HeldObject> {
  let shards: string[];
  try {
    shards = fs.readdirSync(contentDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const shard of shards.filter((n) => /^[0-9a-f]{2}$/.test(n)).sort()) {
    const dir = path.join(contentDir, shard);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
      throw err;
    }
    for (const id of names.sort()) {
      if (!id.startsWith(shard) || !isContentId(id)) continue;
      const st = fs.lstatSync(path.join(dir, id), { throwIfNoEntry: false });
      if (st?.isFile()) yield { id, size: st.size };
    }
  }
}
