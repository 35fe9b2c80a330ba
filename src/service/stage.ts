import { joinBytes, displayName } from '../fsmgr/paths.js';
import type { StagedEntry } from '../staging/staging-area.js';
import type { DirectoryRow } from '../db/types.js';
import type { Context } from './context.js';
import { locate, requireExisting } from './locate.js';
import { scanDirectory } from './scan.js';

export interface StageCounts {
  added: number;
  modified: number;
  deleted: number;
  unchanged: number;
  skipped: number;
}

export function emptyCounts(): StageCounts {
  return { added: 0, modified: 0, deleted: 0, unchanged: 0, skipped: 0 };
}

/** Collect the changes (new, modified, deleted) below `start` in one tracked directory as staging entries. */
export async function collectChanges(ctx: Context, dir: DirectoryRow, start: Buffer, counts: StageCounts, out: StagedEntry[]): Promise<void> {
  const rootBuf = Buffer.from(dir.path);
  const now = Date.now();
  const onSkip = (rel: Buffer, why: string) => {
    counts.skipped++;
    ctx.reporter.warn(`${why}: ${displayName(joinBytes(rootBuf, rel))}`);
  };
  for await (const item of scanDirectory(ctx, dir, start, onSkip)) {
    const abs = joinBytes(rootBuf, item.rel);
    switch (item.state) {
      case 'untracked':
        counts.added++;
        out.push({ abs, op: 'upsert', stagedAt: now });
        break;
      case 'modified':
        counts.modified++;
        out.push({ abs, op: 'upsert', stagedAt: now });
        break;
      case 'deleted':
        if (item.pending) {
          counts.deleted++;
          out.push({ abs, op: 'delete', stagedAt: now });
        }
        break;
      case 'backed_up':
        counts.unchanged++;
        break;
    }
  }
}

/** `bt add PATH...`: stage new, modified and deleted files below each path. */
export async function stagePaths(ctx: Context, paths: string[]): Promise<StageCounts> {
  const counts = emptyCounts();
  const entries: StagedEntry[] = [];
  const targets = paths.map((p) => {
    const loc = locate(ctx, p, 'add');
    const tracked = loc.rel.length > 0 && ctx.db.findFile(loc.directory.id, loc.rel);
    const hasBelow = loc.rel.length > 0 && !tracked && ctx.db.hasFilesBelow(loc.directory.id, loc.rel);
    if (!tracked && !hasBelow) requireExisting(loc.abs);
    return loc;
  });
  for (const loc of targets) await collectChanges(ctx, loc.directory, loc.rel, counts, entries);
  ctx.staging.stageForBackup(entries);
  return counts;
}

/** `bt backup -a`: stage every change under every tracked directory. */
export async function stageAll(ctx: Context): Promise<StageCounts> {
  const counts = emptyCounts();
  const entries: StagedEntry[] = [];
  for (const dir of ctx.db.listDirectories()) await collectChanges(ctx, dir, Buffer.alloc(0), counts, entries);
  ctx.staging.stageForBackup(entries);
  return counts;
}
