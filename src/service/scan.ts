import { joinBytes } from '../fsmgr/paths.js';
import { fingerprint, statPath } from '../fsmgr/stat.js';
import { startWalk } from '../fsmgr/parallel-walk.js';
import type { DirectoryRow } from '../db/types.js';
import type { Context } from './context.js';

export type DriftState = 'untracked' | 'modified' | 'backed_up' | 'deleted';

export interface ScanItem {
  rel: Buffer;
  state: DriftState;
  /** For `deleted`: true when the backup still holds the file as present (a deletion not yet recorded). */
  pending: boolean;
}

/** True when `rel` equals `start` or lies below it. */
export function underStart(rel: Buffer, start: Buffer): boolean {
  if (start.length === 0) return true;
  if (rel.length < start.length) return false;
  if (!rel.subarray(0, start.length).equals(start)) return false;
  return rel.length === start.length || rel[start.length] === 0x2f;
}

/**
 * Compare a file on disk with its current snapshot (the design's
 * is_modified_since), both given as Database.driftIndex values and
 * fingerprint() strings.
 */
export function driftOf(recorded: string | undefined, print: string): DriftState {
  if (recorded === undefined || recorded === '' || recorded === '-') return 'untracked';
  return recorded === print ? 'backed_up' : 'modified';
}

/**
 * Walk a tracked directory (or the part below `start`) and classify every
 * file against the database, a batch of items at a time; then report tracked
 * files that are gone. The walk runs on a worker thread while this one loads
 * the database's side. Keys are names as latin1 strings (Database.driftIndex).
 */
export async function* scanDirectory(ctx: Context, dir: DirectoryRow, start: Buffer, onSkip: (rel: Buffer, why: string) => void): AsyncGenerator<ScanItem[]> {
  const rootBuf = Buffer.from(dir.path);
  const startStat = start.length ? statPath(joinBytes(rootBuf, start)) : { type: 'dir' as const };
  const walk = startStat.type === 'dir'
    ? startWalk({ root: dir.path, start, patterns: ctx.ignorePatterns(dir.path), exclude: ctx.excludedPaths })
    : null;
  // Entries are removed as the walk meets them: what is left was not seen.
  let recorded: Map<string, string>;
  try {
    recorded = ctx.db.driftIndex(dir.id);
  } catch (err) {
    await walk?.close(); // nobody will read it
    throw err;
  }
  if (startStat.type === 'entry') {
    const key = start.toString('latin1');
    yield [{ rel: start, state: driftOf(recorded.get(key), fingerprint(startStat.meta)), pending: false }];
    recorded.delete(key);
  } else if (walk) {
    for await (const batch of walk) {
      for (const s of batch.skips) onSkip(Buffer.from(s.rel.buffer, s.rel.byteOffset, s.rel.length), s.why);
      const names = Buffer.from(batch.names.buffer, batch.names.byteOffset, batch.names.length);
      const prints = batch.prints.split('\n');
      const items: ScanItem[] = new Array(batch.ends.length);
      let from = 0;
      for (let i = 0; i < batch.ends.length; i++) {
        const to = batch.ends[i]!;
        const key = names.toString('latin1', from, to);
        items[i] = { rel: names.subarray(from, to), state: driftOf(recorded.get(key), prints[i]!), pending: false };
        recorded.delete(key);
        from = to;
      }
      yield items;
    }
  } else if (startStat.type === 'special') {
    onSkip(start, `skipped ${startStat.what}`);
  }
  const gone: ScanItem[] = [];
  for (const [key, value] of recorded) {
    const name = Buffer.from(key, 'latin1');
    if (!underStart(name, start)) continue;
    if (value === '-') {
      gone.push({ rel: name, state: 'deleted', pending: false });
      continue;
    }
    // Not seen by the walk: gone, or now ignored or unreadable. Only a file that is really gone is a deletion.
    const st = statPath(joinBytes(rootBuf, name));
    if (st.type === 'missing' || st.type === 'dir') gone.push({ rel: name, state: 'deleted', pending: true });
  }
  if (gone.length) yield gone;
}
