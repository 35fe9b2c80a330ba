import { describeSystemError } from '../errors.js';
import { displayName, joinBytes } from '../fsmgr/paths.js';
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

/**
 * Compare a file on disk with its current snapshot (the design's
 * is_modified_since), both given as Database.driftPage values and
 * fingerprint() strings.
 */
export function driftOf(recorded: string | undefined, print: string): DriftState {
  if (recorded === undefined || recorded === '' || recorded === '-') return 'untracked';
  return recorded === print ? 'backed_up' : 'modified';
}

/**
 * Whether a skip reported by the walk or the scan is a failure to read
 * (a directory that cannot be listed, a file that cannot be stat'ed or
 * checked): then what lies there is unknown, unlike a FIFO or a socket,
 * which bt skips by design.
 */
export function isReadFailure(why: string): boolean {
  return why.startsWith('cannot ');
}

/**
 * Report a skip of the walk or the scan below `root`: a FIFO and the like as
 * a warning, a failure to read as a failure, shown with -q too (a timer's run
 * must not pass over it in silence). Returns whether it was a failure.
 */
export function reportSkip(ctx: Context, root: Buffer, rel: Buffer, why: string): boolean {
  const message = `${why}: ${displayName(joinBytes(root, rel))}`;
  if (!isReadFailure(why)) {
    ctx.reporter.warn(message);
    return false;
  }
  ctx.reporter.fail(message);
  return true;
}

/** Rows read from the database at a time. */
const PAGE = 2048;

/** A directory's recorded files in name order, read a page at a time (Database.driftPage). */
class RecordedFiles {
  private page: Array<[Buffer, string]> = [];
  private at = 0;
  private more = true;
  /** The last name taken: the walk has passed it. */
  passed: Buffer | null = null;

  constructor(private readonly ctx: Context, private readonly dirId: string, private readonly below: Buffer | null) {}

  peek(): [Buffer, string] | null {
    if (this.at < this.page.length) return this.page[this.at]!;
    if (!this.more) return null;
    this.page = this.ctx.db.driftPage(this.dirId, this.passed, this.below, PAGE);
    this.at = 0;
    this.more = this.page.length === PAGE;
    return this.page[0] ?? null;
  }

  take(): void {
    this.passed = this.page[this.at++]![0];
  }
}

/**
 * Walk a tracked directory (or the part below `start`) and classify every
 * file against the database, a batch of items at a time. The walk (on a
 * worker thread) and the database both give names in byte order, so the two
 * are merged as streams, and memory stays the same however many files there
 * are. A recorded file the walk passed without meeting is gone, or now
 * ignored or unreadable: only one that is really gone is a deletion.
 */
export async function* scanDirectory(ctx: Context, dir: DirectoryRow, start: Buffer, onSkip: (rel: Buffer, why: string) => void): AsyncGenerator<ScanItem[]> {
  const rootBuf = Buffer.from(dir.path);
  const startStat = start.length ? statPath(joinBytes(rootBuf, start)) : { type: 'dir' as const };
  let items: ScanItem[] = [];
  const unseen = (name: Buffer, value: string) => {
    if (value === '-') {
      items.push({ rel: name, state: 'deleted', pending: false });
      return;
    }
    let st;
    try {
      st = statPath(joinBytes(rootBuf, name));
    } catch (err) {
      // Below a directory that cannot be read (the walk has said so): whether it is still there is unknown, so it is no deletion.
      onSkip(name, `cannot check (${describeSystemError(err)})`);
      return;
    }
    if (st.type === 'missing' || st.type === 'dir') items.push({ rel: name, state: 'deleted', pending: true });
  };
  if (startStat.type === 'entry') {
    items.push({ rel: start, state: driftOf(ctx.db.driftPrint(dir.id, start), fingerprint(startStat.meta)), pending: false });
  } else if (start.length) {
    // The start itself, recorded as a file that is now gone or a directory.
    const value = ctx.db.driftPrint(dir.id, start);
    if (value !== undefined) unseen(start, value);
  }
  if (startStat.type === 'special') onSkip(start, `skipped ${startStat.what}`);
  const recorded = new RecordedFiles(ctx, dir.id, start.length ? start : null);
  /** The recorded files before `name` (all that are left when null): the walk has passed them. A deleted subtree can lie between two walked names, so full pieces are handed over as they fill. */
  function* passRecorded(name: Buffer | null): Generator<ScanItem[]> {
    for (let r = recorded.peek(); r !== null && (name === null || Buffer.compare(r[0], name) < 0); r = recorded.peek()) {
      unseen(r[0], r[1]);
      recorded.take();
      if (items.length >= PAGE) {
        yield items;
        items = [];
      }
    }
  }
  if (startStat.type === 'dir') {
    // Stopping early ends the walk: the iterator's return terminates its worker.
    const walk = startWalk({ root: dir.path, start, patterns: ctx.ignorePatterns(dir.path), exclude: ctx.excludedPaths });
    for await (const batch of walk) {
      for (const s of batch.skips) onSkip(Buffer.from(s.rel.buffer, s.rel.byteOffset, s.rel.length), s.why);
      const names = Buffer.from(batch.names.buffer, batch.names.byteOffset, batch.names.length);
      const prints = batch.prints.split('\n');
      let from = 0;
      for (let i = 0; i < batch.ends.length; i++) {
        const rel = names.subarray(from, batch.ends[i]!);
        from = batch.ends[i]!;
        yield* passRecorded(rel);
        const r = recorded.peek();
        let value: string | undefined;
        if (r !== null && r[0].equals(rel)) {
          value = r[1];
          recorded.take();
        } else if (recorded.passed !== null && Buffer.compare(rel, recorded.passed) <= 0) {
          // Out of order (a file that became a directory during the walk): look it up on its own.
          value = ctx.db.driftPrint(dir.id, rel);
        }
        items.push({ rel, state: driftOf(value, prints[i]!), pending: false });
      }
      if (items.length) {
        yield items;
        items = [];
      }
    }
  }
  yield* passRecorded(null);
  if (items.length) yield items;
}
