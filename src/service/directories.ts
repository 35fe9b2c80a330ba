import fs from 'node:fs';
import { NotFoundError, UsageError } from '../errors.js';
import { displayName, isValidUtf8, isWithin } from '../fsmgr/paths.js';
import type { DirectoryRow, DirectorySummary } from '../db/types.js';
import type { Context } from './context.js';
import { canonicalPath, realpathBytes, type PathArg } from './locate.js';

export type AddDirectoryResult =
  | { status: 'created'; directory: DirectoryRow; absorbed: DirectoryRow[] }
  | { status: 'already'; directory: DirectoryRow };

/** The design's add_directory: track a directory, absorbing tracked ones below it. */
export function addDirectory(ctx: Context, p: PathArg): AddDirectoryResult {
  const abs = canonicalPath(ctx, p);
  let realBytes: Buffer;
  try {
    realBytes = realpathBytes(abs);
  } catch {
    throw new NotFoundError(`no such directory: ${displayName(abs)}`);
  }
  if (!fs.statSync(realBytes).isDirectory()) throw new UsageError(`not a directory: ${displayName(realBytes)}`);
  // Directory paths are stored as text. The files below a tracked directory may have any name, its own path may not.
  if (!isValidUtf8(realBytes)) throw new UsageError(`cannot track ${displayName(realBytes)}: a tracked directory's own path must be valid UTF-8 (track a directory above it)`);
  const real = realBytes.toString('utf8');
  if (ctx.excludedPaths.some((e) => isWithin(e, real))) throw new UsageError(`cannot track bt's own base directory: ${real}`);
  const holder = ctx.db.searchDirectoryForPath(real);
  if (holder) return { status: 'already', directory: holder };
  const { directory, absorbed } = ctx.db.createDirectory(real);
  return { status: 'created', directory, absorbed };
}

export function removeDirectory(ctx: Context, p: PathArg): DirectoryRow {
  const abs = canonicalPath(ctx, p);
  let real = abs;
  try {
    real = realpathBytes(abs);
  } catch {
    // a directory that is gone from disk can still be untracked
  }
  // Tracked paths are text: a path that is not UTF-8 is none of them (and its lossy text could be another's).
  const tracked = (b: Buffer) => (isValidUtf8(b) ? ctx.db.findDirectoryByPath(b.toString('utf8')) : null);
  const d = tracked(real) ?? tracked(abs);
  if (!d) throw new NotFoundError(`not a tracked directory: ${displayName(real)}`);
  ctx.db.removeDirectory(d.id);
  return d;
}

export function listDirectories(ctx: Context): DirectorySummary[] {
  return ctx.db.directorySummaries();
}
