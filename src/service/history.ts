import crypto from 'node:crypto';
import { NotFoundError } from '../errors.js';
import type { SnapshotRow } from '../db/types.js';
import type { Context } from './context.js';
import { displayName } from '../fsmgr/paths.js';
import { locate, type PathArg } from './locate.js';

export type Change = 'new' | 'content' | 'metadata' | 'deleted' | 'restored' | 'none';

export interface Version {
  snapshot: SnapshotRow;
  /** Content checksum; for a symlink, the SHA-256 of its target. */
  checksum: string;
  changes: Change[];
}

export function checksumOf(s: SnapshotRow): string {
  if (s.contentId) return s.contentId;
  return crypto.createHash('sha256').update(s.linkTarget ?? Buffer.alloc(0)).digest('hex');
}

function changesBetween(prev: SnapshotRow | undefined, s: SnapshotRow): Change[] {
  if (s.deleted) return ['deleted'];
  if (!prev) return ['new'];
  if (prev.deleted) return ['restored'];
  const out: Change[] = [];
  if (checksumOf(prev) !== checksumOf(s) || prev.fileType !== s.fileType) out.push('content');
  if (prev.mode !== s.mode || prev.uid !== s.uid || prev.gid !== s.gid || prev.mtimeNs !== s.mtimeNs) out.push('metadata');
  return out.length ? out : ['none'];
}

export interface FileHistory {
  directory: string;
  rel: Buffer;
  versions: Version[]; // newest first
}

/** The design's get_file_history: every version of one file, newest first. */
export function getFileHistory(ctx: Context, p: PathArg): FileHistory {
  const loc = locate(ctx, p, 'log', true);
  const file = loc.rel.length ? ctx.db.findFile(loc.directory.id, loc.rel) : null;
  if (!file) throw new NotFoundError(`never backed up: ${displayName(loc.abs)}`);
  const snaps = ctx.db.findFileSnapshotsForFile(file.id);
  if (!snaps.length) throw new NotFoundError(`never backed up: ${displayName(loc.abs)}`);
  const oldestFirst = [...snaps].reverse();
  const versions = oldestFirst.map((s, i) => ({ snapshot: s, checksum: checksumOf(s), changes: changesBetween(oldestFirst[i - 1], s) }));
  return { directory: loc.directory.path, rel: loc.rel, versions: versions.reverse() };
}
