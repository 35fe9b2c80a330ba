import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { compileIgnore, isIgnoredPath } from '../fsmgr/ignore.js';
import { joinBytes, displayName, isAtOrBelow } from '../fsmgr/paths.js';
import type { StagedEntry } from '../staging/staging-area.js';
import type { DirectoryRow } from '../db/types.js';
import type { Context } from './context.js';
import { locate, requireExisting, type Located, type PathArg } from './locate.js';
import { reportSkip, scanDirectory } from './scan.js';

export interface StageCounts {
  added: number;
  modified: number;
  deleted: number;
  unchanged: number;
  skipped: number;
  /** Of the skipped, paths that could not be read: what lies there is neither staged nor known. */
  unreadable: number;
}

export function emptyCounts(): StageCounts {
  return { added: 0, modified: 0, deleted: 0, unchanged: 0, skipped: 0, unreadable: 0 };
}

/** Where collected entries go: a staging batch being written, or a list. */
export interface EntrySink {
  add(e: StagedEntry): void;
}

/** Collect the changes (new, modified, deleted) below `start` in one tracked directory as staging entries. */
export async function collectChanges(ctx: Context, dir: DirectoryRow, start: Buffer, counts: StageCounts, out: EntrySink): Promise<void> {
  const rootBuf = Buffer.from(dir.path);
  const onSkip = (rel: Buffer, why: string) => {
    counts.skipped++;
    if (reportSkip(ctx, rootBuf, rel, why)) counts.unreadable++; // and the command exits non-zero
  };
  for await (const items of scanDirectory(ctx, dir, start, onSkip)) {
    // After the walk's stat of these files: a change to one before it was reached is in what is staged, and
    // only a change after this counts as "changed since it was staged" at backup time.
    const now = Date.now();
    for (const item of items) {
      let op: StagedEntry['op'];
      switch (item.state) {
        case 'untracked':
          counts.added++;
          op = 'upsert';
          break;
        case 'modified':
          counts.modified++;
          op = 'upsert';
          break;
        case 'deleted':
          if (!item.pending) continue; // recorded as deleted already
          counts.deleted++;
          op = 'delete';
          break;
        case 'backed_up':
          counts.unchanged++;
          continue;
      }
      out.add({ abs: joinBytes(rootBuf, item.rel), op, stagedAt: now });
    }
  }
}

/** `bt add PATH...`: stage new, modified and deleted files below each path. */
export async function stagePaths(ctx: Context, paths: PathArg[]): Promise<StageCounts> {
  const targets = paths.map((p) => {
    const loc = locate(ctx, p, 'add');
    const tracked = loc.rel.length > 0 && ctx.db.findFile(loc.directory.id, loc.rel);
    const hasBelow = loc.rel.length > 0 && !tracked && ctx.db.hasFilesBelow(loc.directory.id, loc.rel);
    if (!tracked && !hasBelow) requireExisting(loc.abs);
    refuseExcluded(ctx, loc, Boolean(tracked));
    return loc;
  });
  return stageInto(ctx, outermost(targets).map((loc) => ({ dir: loc.directory, start: loc.rel })));
}

/**
 * A path the walk would never stage is refused rather than staged because it
 * was named (as git refuses to add an ignored path): bt's own base directory
 * always, and an ignored path unless it is a file bt already tracks (ignore
 * rules keep new files out; they do not hide a tracked file's changes).
 */
function refuseExcluded(ctx: Context, loc: Located, tracked: boolean): void {
  const excluded = ctx.excludedPaths.find((e) => isAtOrBelow(loc.abs, Buffer.from(e)));
  const shown = displayName(loc.abs);
  if (excluded !== undefined) throw new UsageError(`add: ${shown} is inside bt's own base directory (${excluded}), which is never backed up`);
  if (tracked || loc.rel.length === 0) return;
  const isDir = fs.lstatSync(loc.abs, { throwIfNoEntry: false })?.isDirectory() ?? false;
  if (isIgnoredPath(compileIgnore(ctx.ignorePatterns(loc.directory.path)), loc.rel, isDir)) {
    throw new UsageError(`add: ${shown} is ignored by the ignore_list or ${loc.directory.path === '/' ? '' : loc.directory.path}/.btignore`);
  }
}

/** The targets not inside another one (a path given twice counts once), so that a batch names each file once. */
function outermost<T extends { directory: DirectoryRow; rel: Buffer }>(targets: T[]): T[] {
  const covers = (o: T, t: T) => o.directory.id === t.directory.id && isAtOrBelow(t.rel, o.rel);
  return targets.filter((t, i) => !targets.some((o, j) => j !== i && covers(o, t) && (!o.rel.equals(t.rel) || j < i)));
}

/** `bt backup -a`: stage every change under every tracked directory. */
export async function stageAll(ctx: Context): Promise<StageCounts> {
  return stageInto(ctx, ctx.db.listDirectories().map((dir) => ({ dir, start: Buffer.alloc(0) })));
}

/** Walk each part and write what changed into one new staging batch as it is found. */
async function stageInto(ctx: Context, parts: Array<{ dir: DirectoryRow; start: Buffer }>): Promise<StageCounts> {
  const counts = emptyCounts();
  const batch = ctx.staging.newBatch();
  try {
    for (const { dir, start } of parts) await collectChanges(ctx, dir, start, counts, batch);
  } catch (err) {
    batch.abort();
    throw err;
  }
  batch.commit();
  return counts;
}
