import { joinBytes } from '../fsmgr/paths.js';
import { statPath, type FileMeta } from '../fsmgr/stat.js';
import { walkFiles } from '../fsmgr/walk.js';
import type { DirectoryRow, TrackedFile } from '../db/types.js';
import type { Context } from './context.js';

export type DriftState = 'untracked' | 'modified' | 'backed_up' | 'deleted';

export interface ScanItem {
  rel: Buffer;
  state: DriftState;
  /** For `deleted`: true when the backup still holds the file as present (a deletion not yet recorded). */
  pending: boolean;
  meta: FileMeta | null;
}

/** True when `rel` equals `start` or lies below it. */
export function underStart(rel: Buffer, start: Buffer): boolean {
  if (start.length === 0) return true;
  if (rel.length < start.length) return false;
  if (!rel.subarray(0, start.length).equals(start)) return false;
  return rel.length === start.length || rel[start.length] === 0x2f;
}

/** Compare a file on disk with its current snapshot: the design's is_modified_since. */
export function driftOf(tracked: TrackedFile | undefined, meta: FileMeta): DriftState {
  if (!tracked || tracked.deleted || !tracked.current) return 'untracked';
  const c = tracked.current;
  if (c.fileType !== meta.kind || c.size !== meta.size || c.mode !== meta.mode || c.uid !== meta.uid || c.gid !== meta.gid) return 'modified';
  if (c.mtimeNs !== meta.mtimeNs.toString()) return 'modified';
  if (meta.kind === 'symlink' && !(c.linkTarget && meta.linkTarget && c.linkTarget.equals(meta.linkTarget))) return 'modified';
  return 'backed_up';
}

/**
 * Walk a tracked directory (or the part below `start`) and classify every
 * file against the database; then report tracked files that are gone.
 */
export function* scanDirectory(ctx: Context, dir: DirectoryRow, start: Buffer, onSkip: (rel: Buffer, why: string) => void): Generator<ScanItem> {
  const tracked = ctx.db.trackedFiles(dir.id);
  const seen = new Set<string>();
  const rootBuf = Buffer.from(dir.path);
  const startStat = start.length ? statPath(joinBytes(rootBuf, start)) : { type: 'dir' as const };
  if (startStat.type === 'entry') {
    seen.add(start.toString('latin1'));
    yield { rel: start, state: driftOf(tracked.get(start.toString('latin1')), startStat.meta), pending: false, meta: startStat.meta };
  } else if (startStat.type === 'dir') {
    const ignore = ctx.ignoreFor(dir.path);
    for (const e of walkFiles({ root: dir.path, start, ignore, exclude: ctx.excludedPaths, onSkip })) {
      const key = e.rel.toString('latin1');
      seen.add(key);
      yield { rel: e.rel, state: driftOf(tracked.get(key), e.meta), pending: false, meta: e.meta };
    }
  } else if (startStat.type === 'special') {
    onSkip(start, `skipped ${startStat.what}`);
  }
  for (const [key, t] of tracked) {
    if (seen.has(key) || !underStart(t.name, start)) continue;
    if (t.deleted) {
      yield { rel: t.name, state: 'deleted', pending: false, meta: null };
      continue;
    }
    // Not seen by the walk: gone, or now ignored or unreadable. Only a file that is really gone is a deletion.
    const st = statPath(joinBytes(rootBuf, t.name));
    if (st.type === 'missing' || st.type === 'dir') yield { rel: t.name, state: 'deleted', pending: true, meta: null };
  }
}
