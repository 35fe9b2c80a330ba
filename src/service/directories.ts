import fs from 'node:fs';
import { NotFoundError, UsageError } from '../errors.js';
import { isWithin } from '../fsmgr/paths.js';
import type { DirectoryRow, DirectorySummary } from '../db/types.js';
import type { Context } from './context.js';
import { canonicalPath } from './locate.js';

export type AddDirectoryResult =
  | { status: 'created'; directory: DirectoryRow; absorbed: DirectoryRow[] }
  | { status: 'already'; directory: DirectoryRow };

/** The design's add_directory: track a directory, absorbing tracked ones below it. */
export function addDirectory(ctx: Context, p: string): AddDirectoryResult {
  const abs = canonicalPath(ctx, p);
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    throw new NotFoundError(`no such directory: ${abs}`);
  }
  if (!fs.statSync(real).isDirectory()) throw new UsageError(`not a directory: ${real}`);
  if (isWithin(ctx.config.base_dir, real)) throw new UsageError(`cannot track bt's own base directory: ${real}`);
  const holder = ctx.db.searchDirectoryForPath(real);
  if (holder) return { status: 'already', directory: holder };
  const { directory, absorbed } = ctx.db.createDirectory(real);
  return { status: 'created', directory, absorbed };
}

export function removeDirectory(ctx: Context, p: string): DirectoryRow {
  const abs = canonicalPath(ctx, p);
  let real = abs;
  try {
    real = fs.realpathSync(abs);
  } catch {
    // a directory that is gone from disk can still be untracked
  }
  const d = ctx.db.findDirectoryByPath(real) ?? ctx.db.findDirectoryByPath(abs);
  if (!d) throw new NotFoundError(`not a tracked directory: ${real}`);
  ctx.db.removeDirectory(d.id);
  return d;
}

export function listDirectories(ctx: Context): DirectorySummary[] {
  return ctx.db.directorySummaries();
}
