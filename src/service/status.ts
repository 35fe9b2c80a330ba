import { joinBytes } from '../fsmgr/paths.js';
import type { Context } from './context.js';
import { locate, requireExisting, type PathArg } from './locate.js';
import { reportSkip, scanDirectory, type DriftState } from './scan.js';

export type FileState = DriftState | 'staged';

export interface StatusEntry {
  rel: Buffer;
  state: FileState;
  /** A deletion on disk that the backup does not hold yet (staged or not). */
  pendingDelete: boolean;
}

export interface StatusResult {
  directory: string;
  /** The part shown, below the directory ("" for all of it). */
  scope: Buffer;
  summary: Record<FileState, number>;
  /** True when anything differs from the last backup (untracked, modified, staged, or deleted but not yet recorded). */
  dirty: boolean;
}

/** Where getStatus hands its findings as it goes: the directory first, then each file in name order. */
export interface StatusSink {
  begin(directory: string): void;
  entry(e: StatusEntry): void;
}

/**
 * The design's get_status: every file of a tracked directory (or the part
 * below `p`) with its state, handed to `sink` as the scan finds it, in name
 * order (a file that turned into a directory during the walk may come a
 * little late), so that a status of a large tree holds no entry per file.
 * The summary counts every file.
 */
export async function getStatus(ctx: Context, p: PathArg | undefined, sink: StatusSink): Promise<StatusResult> {
  // No path: the whole tracked directory holding the working directory, as git status shows the whole repository.
  const found = locate(ctx, p ?? '.', 'dir status');
  const loc = p === undefined ? { ...found, rel: Buffer.alloc(0) } : found;
  if (loc.rel.length) requireExistingOrTracked(ctx, loc.abs, loc.directory.id, loc.rel);
  const rootBuf = Buffer.from(loc.directory.path);
  const staged = ctx.staging.stagedPaths(loc.rel.length ? joinBytes(rootBuf, loc.rel) : rootBuf);
  const summary: Record<FileState, number> = { staged: 0, modified: 0, untracked: 0, deleted: 0, backed_up: 0 };
  let dirty = false;
  const onSkip = (rel: Buffer, why: string) => {
    // What could not be read is not known to be backed up: --exit-code says 1.
    if (reportSkip(ctx, rootBuf, rel, why)) dirty = true;
  };
  sink.begin(loc.directory.path);
  for await (const items of scanDirectory(ctx, loc.directory, loc.rel, onSkip)) {
    for (const item of items) {
      const isStaged = staged.has(joinBytes(rootBuf, item.rel).toString('latin1'));
      const state: FileState = isStaged && (item.state !== 'deleted' || item.pending) ? 'staged' : item.state;
      summary[state]++;
      if (state === 'staged' || state === 'modified' || state === 'untracked' || (state === 'deleted' && item.pending)) dirty = true;
      sink.entry({ rel: item.rel, state, pendingDelete: item.state === 'deleted' && item.pending });
    }
  }
  return { directory: loc.directory.path, scope: loc.rel, summary, dirty };
}

function requireExistingOrTracked(ctx: Context, abs: Buffer, dirId: string, rel: Buffer): void {
  if (ctx.db.findFile(dirId, rel)) return;
  if (ctx.db.hasFilesBelow(dirId, rel)) return;
  requireExisting(abs);
}
