import { joinBytes, displayName } from '../fsmgr/paths.js';
import type { Context } from './context.js';
import { locate, requireExisting } from './locate.js';
import { scanDirectory, type DriftState } from './scan.js';

export type FileState = DriftState | 'staged';

export interface StatusEntry {
  rel: Buffer;
  state: FileState;
  /** A deletion on disk that the backup does not hold yet. */
  pendingDelete: boolean;
}

export interface StatusResult {
  directory: string;
  /** The part shown, below the directory ("" for all of it). */
  scope: Buffer;
  files: StatusEntry[];
  summary: Record<FileState, number>;
  /** True when anything differs from the last backup (untracked, modified, staged, or deleted but not yet recorded). */
  dirty: boolean;
}

/**
 * The design's get_status: every file of a tracked directory (or the part
 * below `p`) with its state. The summary counts every file; `files` holds only
 * those `listed` accepts, so that a status of a large, mostly backed-up tree
 * does not hold an entry per file.
 */
export async function getStatus(ctx: Context, p?: string, listed: (s: StatusEntry) => boolean = () => true): Promise<StatusResult> {
  // No path: the whole tracked directory holding the working directory, as git status shows the whole repository.
  const found = locate(ctx, p ?? '.', 'dir status');
  const loc = p === undefined ? { ...found, rel: Buffer.alloc(0) } : found;
  if (loc.rel.length) requireExistingOrTracked(ctx, loc.abs, loc.directory.id, loc.rel);
  const staged = ctx.staging.stagedPaths();
  const rootBuf = Buffer.from(loc.directory.path);
  const files: StatusEntry[] = [];
  const summary: Record<FileState, number> = { staged: 0, modified: 0, untracked: 0, deleted: 0, backed_up: 0 };
  let dirty = false;
  const onSkip = (rel: Buffer, why: string) => ctx.reporter.warn(`${why}: ${displayName(joinBytes(rootBuf, rel))}`);
  for await (const items of scanDirectory(ctx, loc.directory, loc.rel, onSkip)) {
    for (const item of items) {
      const isStaged = staged.has(joinBytes(rootBuf, item.rel).toString('latin1'));
      const state: FileState = isStaged && (item.state !== 'deleted' || item.pending) ? 'staged' : item.state;
      summary[state]++;
      if (state === 'staged' || state === 'modified' || state === 'untracked' || (state === 'deleted' && item.pending)) dirty = true;
      const entry: StatusEntry = { rel: item.rel, state, pendingDelete: state === 'deleted' && item.pending };
      if (listed(entry)) files.push(entry);
    }
  }
  files.sort((a, b) => Buffer.compare(a.rel, b.rel));
  return { directory: loc.directory.path, scope: loc.rel, files, summary, dirty };
}

function requireExistingOrTracked(ctx: Context, abs: string, dirId: string, rel: Buffer): void {
  if (ctx.db.findFile(dirId, rel)) return;
  if (ctx.db.hasFilesBelow(dirId, rel)) return;
  requireExisting(abs);
}
