import fs from 'node:fs';
import path from 'node:path';
import { UsageError, NotFoundError } from '../errors.js';
import { relativeBytes } from '../fsmgr/paths.js';
import type { DirectoryRow } from '../db/types.js';
import type { Context } from './context.js';

/** An absolute path with symlinks resolved in its parents but not in its last component (a tracked symlink stays itself). */
export function canonicalPath(ctx: Context, p: string): string {
  const abs = ctx.resolve(p);
  if (abs === '/') return abs;
  const parent = path.dirname(abs);
  try {
    return path.join(fs.realpathSync(parent), path.basename(abs));
  } catch {
    return abs;
  }
}

export interface Located {
  directory: DirectoryRow;
  abs: string;
  /** Path below the tracked directory, "" for its root. */
  rel: Buffer;
}

/** The tracked directory holding a user-given path, or a one-line error naming the path. */
export function locate(ctx: Context, p: string, what: string, includeRemoved = false): Located {
  let abs = canonicalPath(ctx, p);
  let directory = ctx.db.searchDirectoryForPath(abs, includeRemoved);
  if (!directory) {
    // The whole path may be a symlink to a tracked directory, as a shell's cd leaves it.
    try {
      const real = fs.realpathSync(abs);
      const d = ctx.db.searchDirectoryForPath(real, includeRemoved);
      if (d) {
        abs = real;
        directory = d;
      }
    } catch {
      // not there: keep the first answer
    }
  }
  if (!directory) throw new UsageError(`${what}: not inside a tracked directory: ${abs} (track one with 'bt dir init')`);
  return { directory, abs, rel: relativeBytes(directory.path, abs) };
}

export function requireExisting(abs: string): void {
  if (!fs.existsSync(abs)) throw new NotFoundError(`no such file or directory: ${abs}`);
}
