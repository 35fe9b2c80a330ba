import fs from 'node:fs';
import { UsageError, NotFoundError } from '../errors.js';
import { basenameBytes, dirnameBytes, displayName, joinBytes, relativeBytes, textAncestor } from '../fsmgr/paths.js';
import type { DirectoryRow } from '../db/types.js';
import type { Context } from './context.js';

/** A path as the user gave it: text, or the bytes of an argument that is not valid UTF-8. */
export type PathArg = string | Buffer;

/** realpath(3) of a path given as bytes. Node's JavaScript realpath turns a Buffer into text on the way, losing bytes that are not UTF-8. */
export function realpathBytes(p: Buffer): Buffer {
  return fs.realpathSync.native(p, { encoding: 'buffer' });
}

/** An absolute path with symlinks resolved in its parents but not in its last component (a tracked symlink stays itself). */
export function canonicalPath(ctx: Context, p: PathArg): Buffer {
  const abs = ctx.resolve(p);
  if (abs.length === 1) return abs; // the root
  try {
    return joinBytes(realpathBytes(dirnameBytes(abs)), basenameBytes(abs));
  } catch {
    return abs;
  }
}

export interface Located {
  directory: DirectoryRow;
  abs: Buffer;
  /** Path below the tracked directory, "" for its root. */
  rel: Buffer;
}

/** The tracked directory holding `abs`: directory paths are text, so it is the one holding the longest UTF-8 part of `abs`. */
function holderOf(ctx: Context, abs: Buffer, includeRemoved: boolean): DirectoryRow | null {
  return ctx.db.searchDirectoryForPath(textAncestor(abs), includeRemoved);
}

/** The tracked directory holding a user-given path, or a one-line error naming the path. */
export function locate(ctx: Context, p: PathArg, what: string, includeRemoved = false): Located {
  let abs = canonicalPath(ctx, p);
  let directory = holderOf(ctx, abs, includeRemoved);
  if (!directory) {
    // The whole path may be a symlink to a tracked directory, as a shell's cd leaves it.
    try {
      const real = realpathBytes(abs);
      const d = holderOf(ctx, real, includeRemoved);
      if (d) {
        abs = real;
        directory = d;
      }
    } catch {
      // not there: keep the first answer
    }
  }
  if (!directory) throw new UsageError(`${what}: not inside a tracked directory: ${displayName(abs)} (track one with 'bt dir init')`);
  if (includeRemoved) directory = knowingHolder(ctx, abs) ?? directory;
  return { directory, abs, rel: relativeBytes(directory.path, abs) };
}

/**
 * For history (log, restore): the deepest directory, active or removed,
 * whose records know the path, so that a file backed up under a directory
 * since removed is found after a directory below it is tracked anew.
 */
function knowingHolder(ctx: Context, abs: Buffer): DirectoryRow | null {
  for (const d of ctx.db.directoriesHolding(textAncestor(abs))) {
    const rel = relativeBytes(d.path, abs);
    if (rel.length === 0 || ctx.db.findFile(d.id, rel) || ctx.db.hasFilesBelow(d.id, rel)) return d;
  }
  return null;
}

export function requireExisting(abs: Buffer): void {
  if (!fs.existsSync(abs)) throw new NotFoundError(`no such file or directory: ${displayName(abs)}`);
}
