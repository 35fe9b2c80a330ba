import fs from 'node:fs';
import crypto from 'node:crypto';
import { ArchivedObjectError, BtError, IoError, NotFoundError, UsageError, VaultError, describeSystemError } from '../errors.js';
import { displayName, isAtOrBelow, joinBytes } from '../fsmgr/paths.js';
import type { RestorableVersion, SnapshotRow } from '../db/types.js';
import { createVault } from '../vault/factory.js';
import type { Vault } from '../vault/vault.js';
import type { Context } from './context.js';
import { checksumOf } from './history.js';
import { locate, type PathArg } from './locate.js';
import { textPathOnSameFilesystem } from '../fsmgr/same-fs.js';
import { runPool } from './pool.js';
import { syncFilesystem } from '../util/sync-fs.js';
import { isoFromMs, parseAt } from './time.js';
import { makeDirs } from '../util/make-dirs.js';
import { spreadDirectories } from './spread.js';
import { RestoreUndo, describeUndo, type UndoOutcome, type UndoRow } from './restore-undo.js';
import { count } from '../util/count.js';

export interface RestoreOptions {
  checksum?: string;
  at?: string;
  contentOnly: boolean;
  target?: PathArg;
  overwrite: boolean;
}

export interface RestoreResult {
  kind: 'file' | 'directory';
  files: number;
  bytes: number;
  /** Where the file went, or the target directory. */
  destination: Buffer;
  checksum: string | null;
  durationMs: number;
}

/**
 * Files in flight at once. Many, because each file waits on a round trip to
 * a copy worker (a filesystem vault) or a request (S3, which caps its own
 * connections): with 8, a 50,000-file restore left the copy workers idle a
 * third of the time; 64 was fastest of 8-128.
 */
const CONCURRENCY = 64;
/**
 * Jobs reordered together so that the files in flight lie in different
 * directories (see spreadDirectories): wide enough to find more directories
 * than files in flight in a tree of ~20 files per directory. 1,024 beat 256
 * and 4,096 on the 50,000-file corpus.
 */
const SPREAD_WINDOW = 16 * CONCURRENCY;

/** Vaults for reading, in config order; one that cannot be opened is skipped while another can serve. */
class VaultReader {
  // One promise, so that the concurrent first fetches of a restore share one set of open vaults.
  private opening: Promise<Vault[]> | null = null;
  private readonly openErrors: string[] = [];
  constructor(private readonly ctx: Context) {}

  private open(): Promise<Vault[]> {
    this.opening ??= this.openAll();
    return this.opening;
  }

  private async openAll(): Promise<Vault[]> {
    const out: Vault[] = [];
    for (const spec of this.ctx.config.vaults) {
      const v = await createVault(spec);
      try {
        await v.open();
        out.push(v);
      } catch (err) {
        this.openErrors.push((err as Error).message);
      }
    }
    if (!out.length) throw new VaultError(this.openErrors[0] ?? `no vault is configured: add one with 'bt config vault add'`);
    return out;
  }

  async close(): Promise<void> {
    const vaults = this.opening ? await this.opening.catch(() => []) : [];
    // Nothing was written to a vault: a failure to close one has nothing to lose.
    await Promise.all(vaults.map((v) => v.close().catch(() => undefined)));
  }

  /** Fetch an object into `out`, from the first vault that holds it intact. */
  async fetch(id: string, out: Buffer): Promise<void> {
    const errors: string[] = [];
    let archived: ArchivedObjectError | null = null;
    for (const v of await this.open()) {
      try {
        await v.getContent(id, out);
        return;
      } catch (err) {
        fs.rmSync(out, { force: true });
        if (isLocalWriteError(err)) throw err;
        if (err instanceof ArchivedObjectError) archived ??= err;
        errors.push((err as Error).message);
      }
    }
    if (archived) throw archived; // only an archive holds it: say how to get it back
    throw new VaultError(errors.length === 1 ? errors[0]! : `no vault could provide object ${id}: ${errors.join('; ')}`);
  }
}

function isLocalWriteError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS' || code === 'EACCES' || code === 'EEXIST';
}

/** fs.utimes takes seconds as a double; nudge by a quarter microsecond so truncation keeps the exact microsecond. */
function utimeSeconds(ns: bigint): number {
  const us = ns / 1000n;
  return Number(us) / 1e6 + 2.5e-7;
}

interface Writer {
  reader: VaultReader;
  opts: RestoreOptions;
  ownershipWarned: boolean;
  /** Directories known to exist (latin1 keys map bytes one to one), so that a tree of many files costs one mkdir per directory. */
  madeDirs: Set<string>;
  /** What this run created, for taking a failed restore back. */
  undo: RestoreUndo;
  warn(msg: string): void;
}

function applyMetadata(w: Writer, p: Buffer, s: RestorableVersion): void {
  const isLink = s.fileType === 'symlink';
  try {
    if (isLink) fs.lchownSync(p, s.uid, s.gid);
    else fs.chownSync(p, s.uid, s.gid);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EINVAL') throw err;
    if (!w.ownershipWarned) {
      w.ownershipWarned = true;
      w.warn(`cannot restore file ownership (uid/gid) as this user; mode and times are restored`);
    }
  }
  if (!isLink) fs.chmodSync(p, s.mode);
  const atime = utimeSeconds(s.atimeNs);
  const mtime = utimeSeconds(s.mtimeNs);
  if (isLink) fs.lutimesSync(p, atime, mtime);
  else fs.utimesSync(p, atime, mtime);
}

// Temp names: unique to this process (pid and a random tag, as a stale temp file of a dead process may remain) and a counter.
const TMP_PREFIX = `${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
let tmpSeq = 0;

/** Write one version at `dest`: temp file, verified content, metadata, rename. True when it replaced an existing file. */
async function writeVersion(w: Writer, s: RestorableVersion, dest: Buffer): Promise<boolean> {
  const slash = dest.lastIndexOf(0x2f);
  const dirBuf = slash > 0 ? dest.subarray(0, slash) : Buffer.from('/');
  const tmpPath = joinBytes(dirBuf, Buffer.from(`.bt-tmp-${TMP_PREFIX}-${tmpSeq++}.restore`));
  const dirKey = dirBuf.toString('latin1');
  if (!w.madeDirs.has(dirKey)) {
    makeRestoreDirs(dirBuf, w.undo.dirs);
    w.madeDirs.add(dirKey);
  }
  try {
    if (s.fileType === 'symlink') fs.symlinkSync(s.linkTarget!, tmpPath);
    else await w.reader.fetch(s.contentId!, tmpPath);
    if (!w.opts.contentOnly) applyMetadata(w, tmpPath, s);
    // Looked at again just before the rename, which replaces without asking: a file that appeared since
    // the check before the restore is not replaced without --overwrite, and the undo of a failed restore
    // must know which files it replaced (those it leaves) from those it created (those it removes).
    const replacing = exists(dest);
    if (replacing && !w.opts.overwrite) throw new UsageError(`${displayName(dest)} exists: use --overwrite to replace it`);
    fs.renameSync(tmpPath, dest);
    return replacing;
  } catch (err) {
    fs.rmSync(tmpPath, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new IoError(`no space left on device while restoring ${displayName(dest)}`, { cause: err });
    if (err instanceof BtError) throw err;
    if (code) throw new IoError(`cannot restore ${displayName(dest)}: ${describeSystemError(err)}`, { cause: err });
    throw err;
  }
}

/** The directories a restore writes into (those it makes go into `made`), or one line naming the one that cannot be made. */
function makeRestoreDirs(dir: Buffer, made: Buffer[]): void {
  try {
    makeDirs(dir, made);
  } catch (err) {
    if (!(err as NodeJS.ErrnoException).code) throw err;
    throw new IoError(`cannot create directory ${displayName(dir)}: ${describeSystemError(err)}`, { cause: err });
  }
}

function exists(p: Buffer): boolean {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined;
  } catch (err) {
    // Below a file: nothing there, and creating the directory says why.
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw err;
  }
}

/** Bytes written between background flushes of a large restore. */
const FLUSH_EVERY = 256 * 1024 * 1024;

/**
 * Flushes of the target's filesystem. While a large restore runs, one starts
 * after every FLUSH_EVERY bytes (one at a time), so that the disk writes
 * overlap the restore and the final flush has little left to wait for. A
 * failed flush (a write-back error is reported to one flush only) fails the
 * restore at the end: restored files that may not be on disk are no restore.
 */
class TargetFlush {
  private pending = 0;
  private running: Promise<void> | null = null;
  /** Why a flush failed, once one has. */
  private failed: string | null = null;
  constructor(private readonly target: string) {}

  wrote(n: number): void {
    this.pending += n;
    if (this.pending < FLUSH_EVERY || this.running) return;
    this.pending = 0;
    this.running = this.flush().finally(() => {
      this.running = null;
    });
  }

  private async flush(): Promise<void> {
    const why = await syncFilesystem(this.target);
    if (why) this.failed ??= why;
  }

  /** Wait for a running flush to end, whatever it found: the restore has failed already. */
  async settle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /** Wait for a running flush, flush once more, and throw if any flush failed. */
  async finish(): Promise<void> {
    await this.running;
    await this.flush();
    if (this.failed) throw new IoError(`cannot flush the restored files to disk at ${this.target} (${this.failed}): check the disk and restore again with --overwrite`);
  }
}

/** A text path for syncfs on the target's filesystem, or a one-line refusal before anything is written. */
function flushPath(target: Buffer): string {
  const p = textPathOnSameFilesystem(target);
  if (p === null) throw new UsageError(`cannot restore into ${displayName(target)}: it lies on a filesystem mounted at a path that is not valid UTF-8, which bt cannot flush to disk`);
  return p;
}

/** Pick one version of a file: by checksum prefix, by time, or the latest backed up. */
export function chooseVersion(versions: SnapshotRow[], opts: RestoreOptions, display: string): SnapshotRow {
  if (opts.checksum !== undefined) {
    const prefix = opts.checksum.toLowerCase();
    if (!/^[0-9a-f]{4,64}$/.test(prefix)) throw new UsageError(`invalid checksum prefix '${opts.checksum}': give 4 to 64 hex digits`);
    const matches = versions.filter((v) => !v.deleted && checksumOf(v).startsWith(prefix));
    const distinct = [...new Set(matches.map(checksumOf))];
    if (distinct.length === 0) throw new NotFoundError(`no version of ${display} has checksum ${prefix}`);
    if (distinct.length > 1) throw new UsageError(`ambiguous checksum prefix ${prefix} for ${display}: matches ${distinct.map((c) => c.slice(0, 12)).join(', ')}`);
    return matches[0]!;
  }
  if (opts.at !== undefined) {
    const at = parseAt(opts.at);
    const v = versions.find((s) => s.createdAt <= at);
    if (!v) throw new NotFoundError(`${display} has no version at ${opts.at}: its first version is from ${isoFromMs(versions[versions.length - 1]!.createdAt)}`);
    if (v.deleted) throw new NotFoundError(`${display} was deleted at ${opts.at} (deleted in the backup of ${isoFromMs(v.createdAt)})`);
    return v;
  }
  const v = versions.find((s) => !s.deleted);
  if (!v) throw new NotFoundError(`${display} has no version to restore`);
  return v;
}

/** `bt restore PATH`: one file (next to the original, or into --target) or a directory (into --target). */
export async function restore(ctx: Context, p: PathArg, opts: RestoreOptions): Promise<RestoreResult> {
  const reader = new VaultReader(ctx);
  try {
    return await restoreWith(ctx, p, opts, reader);
  } finally {
    await reader.close();
  }
}

async function restoreWith(ctx: Context, p: PathArg, opts: RestoreOptions, reader: VaultReader): Promise<RestoreResult> {
  const started = Date.now();
  const loc = locate(ctx, p, 'restore', true);
  const dirRoot = Buffer.from(loc.directory.path);
  const file = loc.rel.length ? ctx.db.findFile(loc.directory.id, loc.rel) : null;
  const target = opts.target !== undefined ? ctx.resolve(opts.target) : undefined;
  const shown = displayName(loc.abs);
  const undo = new RestoreUndo();
  const writer: Writer = { reader, opts, ownershipWarned: false, madeDirs: new Set(), undo, warn: (m) => ctx.reporter.warn(m) };
  ctx.takeLock('restore');

  if (file) {
    const versions = ctx.db.findFileSnapshotsForFile(file.id);
    if (!versions.length) throw new NotFoundError(`never backed up: ${shown}`);
    const s = chooseVersion(versions, opts, shown);
    const checksum = checksumOf(s);
    const dest = target !== undefined ? joinBytes(target, loc.rel) : Buffer.concat([joinBytes(dirRoot, loc.rel), Buffer.from('.' + checksum.slice(0, 12))]);
    if (exists(dest) && !opts.overwrite) throw new UsageError(`${displayName(dest)} exists: use --overwrite to replace it`);
    // Any path on the same filesystem will do for syncfs; the destination's name may not be valid UTF-8.
    let flushAt = loc.directory.path;
    try {
      if (target !== undefined) {
        makeRestoreDirs(target, undo.dirs);
        flushAt = flushPath(target);
      }
      await writeVersion(writer, s, dest);
    } catch (err) {
      // A file that failed left no temp file behind; the directories made for it go too.
      throw undone(err, () => undo.undo([]));
    }
    await new TargetFlush(flushAt).finish();
    return { kind: 'file', files: 1, bytes: s.size, destination: dest, checksum, durationMs: Date.now() - started };
  }

  if (opts.checksum !== undefined) {
    // Not a file bt knows: a directory only when something was backed up below it.
    if (loc.rel.length && !ctx.db.hasFilesBelow(loc.directory.id, loc.rel)) throw new NotFoundError(`never backed up: ${shown}`);
    throw new UsageError(`--checksum selects a version of one file; ${shown} is a directory (use --at)`);
  }
  const at = opts.at !== undefined ? parseAt(opts.at) : Date.now() + 60_000;
  // Two streaming passes over the versions (check, then restore) keep memory flat however large the tree.
  // The first pass reads names only; the second reads whole versions as it restores them.
  const namesInScope = function* (when: number) {
    for (const x of ctx.db.iterNamesAt(loc.directory.id, when)) if (isAtOrBelow(x.name, loc.rel)) yield x;
  };
  const targetBuf = target ?? Buffer.from('/');
  // A target that does not exist yet cannot hold a file in the way.
  const checkClash = target !== undefined && !opts.overwrite && exists(targetBuf);
  let total = 0;
  let live = 0;
  let clash: Buffer | null = null;
  for (const x of namesInScope(at)) {
    total++;
    if (x.deleted) continue;
    live++;
    if (checkClash && clash === null) {
      const dest = joinBytes(targetBuf, x.name);
      if (exists(dest)) clash = dest;
    }
  }
  if (total === 0) {
    let anyEver = false;
    for (const _ of namesInScope(Number.MAX_SAFE_INTEGER)) {
      anyEver = true;
      break;
    }
    if (anyEver && opts.at !== undefined) throw new NotFoundError(`nothing under ${shown} was backed up at or before ${opts.at}`);
    throw new NotFoundError(`never backed up: ${shown}`);
  }
  if (target === undefined) throw new UsageError(`restoring a directory needs --target DIR`);
  if (clash) throw new UsageError(`${displayName(clash)} exists: use --overwrite to replace files in ${displayName(target)}`);
  // Read twice when the restore fails: once to restore, once more for the undo to find what it wrote.
  const rows = function* (): Generator<UndoRow> {
    for (const x of ctx.db.iterRestorableAt(loc.directory.id, at)) {
      if (isAtOrBelow(x.name, loc.rel)) yield { fileRowid: x.fileRowid, s: x.version, dest: joinBytes(targetBuf, x.name) };
    }
  };
  let done = 0;
  let bytes = 0;
  const archived: ArchivedObjectError[] = [];
  let flusher: TargetFlush | null = null;
  try {
    makeRestoreDirs(target, undo.dirs);
    const flush = (flusher = new TargetFlush(flushPath(target)));
    await runPool(spreadDirectories(rows(), SPREAD_WINDOW), CONCURRENCY, async (j) => {
      try {
        undo.placed(j.fileRowid, await writeVersion(writer, j.s, j.dest));
      } catch (err) {
        // Archived objects are collected so that one run names every object to bring back.
        if (!(err instanceof ArchivedObjectError)) throw err;
        archived.push(err);
        return;
      }
      done++;
      bytes += j.s.size;
      flush.wrote(j.s.size);
      ctx.reporter.progress({ phase: 'restore', files: done, bytes, totalFiles: live });
    }).finally(() => ctx.reporter.progressDone());
  } catch (err) {
    // Every write has ended (runPool waits for those in flight): take back what this run created.
    await flusher?.settle();
    throw undone(err, () => undo.undo(rows()));
  }
  await flusher!.finish();
  if (archived.length) {
    const seen = new Set<string>();
    for (const a of archived) if (!seen.has(a.key)) {
      seen.add(a.key);
      ctx.reporter.warn(`in an archive storage class, restore it first: ${a.restoreCommand}`);
    }
    throw new VaultError(`${count(seen.size, 'object is', 'objects are')} in an archive storage class and must be restored first (commands above); ${count(done, 'file was', 'files were')} restored, run bt restore again with --overwrite once the archive restores complete`);
  }
  return { kind: 'directory', files: done, bytes, destination: targetBuf, checksum: null, durationMs: Date.now() - started };
}

/** Undo a failed restore; its error, with what the undo left said after it in the same line and exit code. */
function undone(err: unknown, undo: () => UndoOutcome): unknown {
  let outcome: string;
  try {
    outcome = describeUndo(undo());
  } catch (undoErr) {
    // Only reading the files again can fail here (each removal answers for itself).
    outcome = `what it wrote could not be removed: ${(undoErr as Error).message}`;
  }
  // Not a BtError: a bug, reported as such; the undo has run all the same.
  if (!(err instanceof BtError)) return err;
  return new BtError(`${err.message}; ${outcome}`, err.exitCode, { cause: err });
}
