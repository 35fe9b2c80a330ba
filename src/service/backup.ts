import fs from 'node:fs';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import { ExitCode, VaultError, describeSystemError } from '../errors.js';
import { displayName } from '../fsmgr/paths.js';
import { sameVersion, statPath, type FileMeta } from '../fsmgr/stat.js';
import type { BackupRecord, DirectoryRow, TrackedFile } from '../db/types.js';
import { BackupRecorder } from '../db/backup-recorder.js';
import type { StagedEntry } from '../staging/staging-area.js';
import { ContentChangedError, type Vault } from '../vault/vault.js';
import { VaultSet, type DownVault } from './vault-set.js';
import type { Context } from './context.js';
import { runPool } from './pool.js';
import { stageAll, type StageCounts } from './stage.js';
import { uploadMetadata } from './metadata.js';
import { anyVaultBehind, catchUpVault, type SyncResult } from './sync.js';

/** Files up to this size are read once into memory, hashed, and written from that buffer. */
const SMALL_FILE = 1 << 20;
const CONCURRENCY = 8;
// A commit costs two syncfs calls, which wait for every dirty page on the
// vault's filesystem, and the files of a commit are held in memory until it
// is recorded. 2,000 files a commit measured as fast as 10,000 for 50,000
// files on disk (25 commits instead of 5) and took the peak RSS from about
// 210 to 165 MB; 1,000 or 500 saved little more and were slower. A killed run
// redoes the files of at most two commits (one being recorded, one filling).
// BT_COMMIT_FILES sets another batch size (the tests use it to cover runs of
// many commits).
const COMMIT_FILES = positiveInt(process.env.BT_COMMIT_FILES) ?? 2_000;
const COMMIT_BYTES = 1024 * 1024 * 1024;
const COMMIT_MS = 10_000;
const READ_CHUNK = 1 << 20;

function positiveInt(text: string | undefined): number | null {
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

export interface BackupFailure {
  path: string;
  why: string;
}

export interface BackupSummary {
  runId: string;
  status: 'ok' | 'partial' | 'nothing';
  files: number;
  stored: number;
  unchanged: number;
  deleted: number;
  failed: number;
  bytesNew: number;
  bytesDedup: number;
  durationMs: number;
  staged: StageCounts | null;
  failures: BackupFailure[];
  changedDuringRead: number;
  /** Files whose inode changed after they were staged: backed up as they were at backup time. */
  changedSinceStaged: number;
  metadata: string | null;
  /** Vaults that could not be used; the run stored to the others. */
  vaultsDown: DownVault[];
  /** Objects copied to vaults that lacked them. */
  caughtUp: number;
  /** Commits that recorded files (a vault flush and one database transaction each). */
  commits: number;
}

function newSummary(runId: string, status: BackupSummary['status'], staged: StageCounts | null): BackupSummary {
  return {
    runId, status, files: 0, stored: 0, unchanged: 0, deleted: 0, failed: 0, bytesNew: 0, bytesDedup: 0, durationMs: 0,
    staged, failures: [], changedDuringRead: 0, changedSinceStaged: 0, metadata: null, vaultsDown: [], caughtUp: 0, commits: 0,
  };
}

type Outcome =
  | { kind: 'delete'; dir: DirectoryRow; rel: Buffer }
  | { kind: 'upsert'; dir: DirectoryRow; rel: Buffer; meta: FileMeta; contentId: string | null; held: string[]; entry: StagedEntry };

interface DirPrefix {
  dir: DirectoryRow;
  prefix: Buffer; // path + '/'
}

function directoryFor(dirs: DirPrefix[], abs: Buffer): { dir: DirectoryRow; rel: Buffer } | null {
  for (const d of dirs) {
    if (abs.length > d.prefix.length && abs.subarray(0, d.prefix.length).equals(d.prefix)) return { dir: d.dir, rel: abs.subarray(d.prefix.length) };
  }
  return null;
}

/** Read a file of at most buf.length - 1 bytes into `buf`; a result of buf.length bytes means it is larger. */
function readSmallFile(abs: Buffer, buf: Buffer): Buffer {
  const fd = fs.openSync(abs, 'r');
  try {
    let n = 0;
    while (n < buf.length) {
      const r = fs.readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

async function hashFile(abs: Buffer): Promise<string> {
  const h = crypto.createHash('sha256');
  const fh = await fsp.open(abs, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

function sameAsTracked(c: NonNullable<TrackedFile['current']>, meta: FileMeta): boolean {
  if (c.fileType !== meta.kind || c.size !== meta.size || c.mode !== meta.mode || c.uid !== meta.uid || c.gid !== meta.gid) return false;
  if (c.mtimeNs !== meta.mtimeNs.toString()) return false;
  return meta.kind !== 'symlink' || Boolean(c.linkTarget && meta.linkTarget && c.linkTarget.equals(meta.linkTarget));
}


/** Warn once per vault that shares a filesystem with a tracked directory. */
function warnSameFilesystem(ctx: Context, vaults: { kind: string; name: string; location: string }[], dirs: DirectoryRow[]): void {
  for (const v of vaults) {
    if (v.kind !== 'fs') continue;
    const vst = fs.statSync(v.location, { throwIfNoEntry: false });
    if (!vst) continue;
    const shared = dirs.find((d) => fs.statSync(d.path, { throwIfNoEntry: false })?.dev === vst.dev);
    if (shared) ctx.reporter.warn(`vault '${v.name}' (${v.location}) is on the same filesystem as ${shared.path}: this copy does not survive the disk`);
  }
}

class BackupRun {
  private readonly summary: BackupSummary;
  private readonly pending: Outcome[] = [];
  private pendingBytes = 0;
  private lastCommit = Date.now();
  private committing: Promise<void> = Promise.resolve();
  private readonly failedEntries = new Set<StagedEntry>();
  private readBytes = 0;
  private readonly runStarted = Date.now();
  private readonly run;
  private recorder: BackupRecorder | null = null;

  constructor(private readonly ctx: Context, private readonly vaults: VaultSet, private readonly dirs: DirPrefix[], staged: StageCounts | null) {
    this.run = ctx.db.startRun();
    this.emptyAtStart = new Set(dirs.filter((d) => !ctx.db.hasFiles(d.dir.id)).map((d) => d.dir.id));
    this.summary = newSummary(this.run.id, 'ok', staged);
  }

  /** Process `entries` (streamed from the staging batches; `total` of them at most). */
  async process(entries: Iterable<StagedEntry>, total: number): Promise<BackupSummary> {
    // The record thread overlaps one commit's database writes with the next commit's files. A run of one commit
    // has nothing to overlap them with, and starting the thread would cost it about 50 ms and 12 MB.
    this.recorder = new BackupRecorder(this.ctx.db, total > COMMIT_FILES);
    await Promise.all(this.vaults.up.map((v) => v.expectPuts?.(total)));
    await runPool(entries, CONCURRENCY, async (entry) => {
      try {
        const outcome = await this.processEntry(entry);
        if (outcome) this.pending.push(outcome);
      } catch (err) {
        this.vaults.requireOne(); // every vault gone: nothing more can be stored
        this.fail(entry, err);
      }
      this.summary.files++;
      this.ctx.reporter.progress({ phase: 'backup', files: this.summary.files, bytes: this.readBytes, totalFiles: total });
      if (this.commitDue()) await this.commit();
    }).finally(() => this.ctx.reporter.progressDone());
    await this.commit(true);
    return this.summary;
  }

  private fail(entry: StagedEntry, err: unknown): void {
    if (this.failedEntries.has(entry)) return;
    const why = describeSystemError(err);
    const p = displayName(entry.abs);
    this.summary.failed++;
    this.summary.failures.push({ path: p, why });
    this.failedEntries.add(entry);
    this.ctx.reporter.fail(`cannot back up ${p}: ${why} (left staged)`);
  }

  get remaining(): StagedEntry[] {
    return [...this.failedEntries];
  }

  private async processEntry(entry: StagedEntry): Promise<Outcome | null> {
    const located = directoryFor(this.dirs, entry.abs);
    if (!located) {
      this.ctx.reporter.warn(`no longer in a tracked directory, dropped from staging: ${displayName(entry.abs)}`);
      return null;
    }
    const { dir, rel } = located;
    const st = statPath(entry.abs);
    if (st.type === 'missing' || st.type === 'dir') return { kind: 'delete', dir, rel };
    if (st.type === 'special') {
      this.ctx.reporter.warn(`skipped ${st.what}: ${displayName(entry.abs)}`);
      return null;
    }
    const meta = st.meta;
    // Changed since `bt add` (or since `backup -a` staged it): backed up as it is now, and said so.
    if (meta.ctimeNs > BigInt(entry.stagedAt) * 1_000_000n) {
      this.summary.changedSinceStaged++;
      this.ctx.reporter.warn(`changed since it was staged, backed up as it is now: ${displayName(entry.abs)}`);
    }
    if (meta.kind === 'symlink') return { kind: 'upsert', dir, rel, meta, contentId: null, held: [], entry };

    // A file recorded with exactly this stat (a re-run after an interrupted backup) is not read again.
    const t = this.lookup(dir, rel);
    const current = t && !t.deleted ? t.current : null;
    if (current?.contentId && sameAsTracked(current, meta) && current.ctimeNs === meta.ctimeNs.toString()) {
      const held = this.ctx.db.contentVaults(current.contentId);
      const up = this.vaults.up.map((v) => v.name);
      if (up.every((n) => held.includes(n))) return { kind: 'upsert', dir, rel, meta, contentId: current.contentId, held: up, entry };
    }
    return this.storeFile(entry, dir, rel, meta);
  }

  /**
   * Read, hash and store one regular file. The checksum recorded is always
   * that of the bytes the vaults hold: small files are stored from the very
   * buffer that was hashed, large ones are re-hashed by the vault as it
   * writes. A file that changes while read is read once more; if it changes
   * again, a small file is recorded as read and a large one is left staged.
   */
  private async storeFile(entry: StagedEntry, dir: DirectoryRow, rel: Buffer, meta0: FileMeta): Promise<Outcome | null> {
    const primary = this.vaults.fileStore;
    if (primary) {
      try {
        return await this.storeThrough(primary, entry, dir, rel, meta0);
      } catch (err) {
        // That vault was set aside: store this file the other way, through the vaults left.
        if (!(err instanceof VaultError) || this.vaults.down.size === 0) throw err;
      }
    }
    const scratch = this.freeBuffers.pop() ?? Buffer.allocUnsafe(SMALL_FILE + 1);
    try {
      return await this.storeFileWith(scratch, entry, dir, rel, meta0);
    } finally {
      this.freeBuffers.push(scratch);
    }
  }

  private async storeFileWith(scratch: Buffer, entry: StagedEntry, dir: DirectoryRow, rel: Buffer, meta0: FileMeta): Promise<Outcome | null> {
    const abs = entry.abs;
    let meta = meta0;
    for (let attempt = 0; attempt < 2; attempt++) {
      const last = attempt === 1;
      let id: string;
      let size: number;
      let data: Buffer | null = null;
      try {
        if (meta.size <= SMALL_FILE) {
          // Small: a synchronous read into a reused buffer beats a thread-pool round trip and allocates nothing.
          data = readSmallFile(abs, scratch);
          id = crypto.createHash('sha256').update(data).digest('hex');
          size = data.length;
        } else {
          id = await hashFile(abs);
          size = meta.size;
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'delete', dir, rel };
        throw err;
      }
      this.readBytes += size;
      const after = statPath(abs);
      if (after.type !== 'entry' || after.meta.kind !== 'file') return { kind: 'delete', dir, rel };
      const grew = data !== null && data.length > SMALL_FILE; // filled the scratch buffer: stream it instead
      const changed = grew || !sameVersion(meta, after.meta) || size !== after.meta.size;
      if (changed && (!last || grew)) {
        meta = after.meta;
        if (grew && last) throw new Error('kept growing while being read');
        continue;
      }
      let held: string[];
      try {
        held = await this.putEverywhere(id, data ? { data } : { path: abs, size }, size);
      } catch (err) {
        if (err instanceof ContentChangedError && !last) {
          const again = statPath(abs);
          if (again.type === 'entry') meta = again.meta;
          continue;
        }
        if (err instanceof ContentChangedError) throw new Error('changed while being read, twice');
        throw err;
      }
      if (changed || attempt > 0) {
        this.summary.changedDuringRead++;
        this.ctx.reporter.warn(`changed while being backed up, stored as read: ${displayName(abs)}`);
      }
      // The size recorded is that of the stored bytes; the rest of the metadata is the stat taken before the read.
      return { kind: 'upsert', dir, rel, meta: { ...meta, size }, contentId: id, held, entry };
    }
    return null;
  }

  /**
   * Store a file through a vault that hashes as it writes (one read), then
   * into the others. As in storeFileWith, a file that changed while read is
   * read once more; the second time it is recorded as read.
   */
  private async storeThrough(primary: Vault, entry: StagedEntry, dir: DirectoryRow, rel: Buffer, meta0: FileMeta): Promise<Outcome | null> {
    const abs = entry.abs;
    let meta = meta0;
    for (let attempt = 0; attempt < 2; attempt++) {
      const last = attempt === 1;
      let r: { id: string; size: number; held: string[]; stored: boolean };
      try {
        r = await this.vaults.putFileEverywhere(primary, abs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && statPath(abs).type === 'missing') return { kind: 'delete', dir, rel };
        if (err instanceof ContentChangedError && !last) {
          const again = statPath(abs);
          if (again.type === 'entry') meta = again.meta;
          continue;
        }
        if (err instanceof ContentChangedError) throw new Error('changed while being read, twice');
        throw err;
      }
      this.readBytes += r.size;
      const after = statPath(abs);
      if (after.type !== 'entry' || after.meta.kind !== 'file') return { kind: 'delete', dir, rel };
      const changed = !sameVersion(meta, after.meta) || r.size !== after.meta.size;
      if (changed && !last) {
        meta = after.meta; // what was stored may be a mix of two versions: read it again
        continue;
      }
      if (r.stored) this.summary.bytesNew += r.size;
      else this.summary.bytesDedup += r.size;
      this.pendingBytes += r.size;
      if (changed || attempt > 0) {
        this.summary.changedDuringRead++;
        this.ctx.reporter.warn(`changed while being backed up, stored as read: ${displayName(abs)}`);
      }
      return { kind: 'upsert', dir, rel, meta: { ...meta, size: r.size }, contentId: r.id, held: r.held, entry };
    }
    return null;
  }

  private readonly freeBuffers: Buffer[] = [];

  /**
   * Files of this run with their current versions: looked up once by
   * processEntry, read again by toRecord, and forgotten once their commit is
   * recorded, so that memory stays bounded by the files in flight however
   * large the run. A path comes once per run, and nothing else writes file
   * rows while the host lock is held.
   */
  private readonly trackedByDir = new Map<string, Map<string, TrackedFile | null>>();
  private trackedIn(dir: DirectoryRow): Map<string, TrackedFile | null> {
    let m = this.trackedByDir.get(dir.id);
    if (!m) {
      m = new Map();
      this.trackedByDir.set(dir.id, m);
    }
    return m;
  }

  /**
   * Directories without a file row when the run began, such as on a first
   * backup: their files need no look-up, since a path comes once per run (a
   * query per file was 0.76 s of the main thread's time in a first backup of
   * 50,000 files).
   */
  private readonly emptyAtStart: Set<string>;

  private lookup(dir: DirectoryRow, rel: Buffer): TrackedFile | null {
    if (this.emptyAtStart.has(dir.id)) return null;
    const m = this.trackedIn(dir);
    const key = rel.toString('latin1');
    let t = m.get(key);
    if (t === undefined) {
      t = this.ctx.db.trackedFile(dir.id, rel);
      m.set(key, t);
    }
    return t;
  }

  private async putEverywhere(id: string, source: { data: Buffer } | { path: Buffer; size: number }, size: number): Promise<string[]> {
    const { held, stored } = await this.vaults.putEverywhere(id, source);
    if (stored) this.summary.bytesNew += size;
    else this.summary.bytesDedup += size;
    this.pendingBytes += size;
    return held;
  }

  private commitDue(): boolean {
    return this.pending.length >= COMMIT_FILES || this.pendingBytes >= COMMIT_BYTES || Date.now() - this.lastCommit >= COMMIT_MS;
  }

  /**
   * Commit the files so far: make their content durable in every vault,
   * then record it and the snapshots in one transaction. One commit at a
   * time is under way: a caller first waits for it, so that a run holds at
   * most two commits' files (one being flushed and recorded, one filling)
   * and a killed run redoes no more. The record worker made this wait
   * needed: without it, the pool's tasks queued up to eight commits behind a
   * slow one. A wait that ends with the next batch not yet due returns
   * without committing, unless `final`.
   */
  async commit(final = false): Promise<void> {
    await this.committing;
    if (!final && !this.commitDue()) return;
    const batch = this.pending.splice(0);
    this.pendingBytes = 0;
    this.lastCommit = Date.now();
    const flushed = this.vaults.flushAll(); // each vault captures its pending puts now, before any await
    const prev = this.committing;
    this.committing = (async () => {
      await prev;
      const durable = await flushed;
      if (batch.length) {
        await this.record(batch, durable);
        this.summary.commits++;
      }
    })();
    await this.committing;
  }

  private async record(batch: Outcome[], durable: Set<string>): Promise<void> {
    try {
      const results = await this.recorder!.record(batch.map((o) => this.toRecord(o)), [...durable], this.run.id, Date.now());
      for (let i = 0; i < batch.length; i++) {
        const o = batch[i]!;
        switch (results[i]) {
          case 'deleted': this.summary.deleted++; break;
          case 'stored': this.summary.stored++; break;
          case 'unchanged': this.summary.unchanged++; break;
          case 'no-vault': if (o.kind === 'upsert') this.fail(o.entry, new Error('no vault could store it')); break;
        }
      }
    } finally {
      // Recorded or rolled back, the database now answers for these files.
      for (const o of batch) this.trackedByDir.get(o.dir.id)?.delete(o.rel.toString('latin1'));
    }
  }

  /** An outcome as the database records it, decided against the version processEntry looked up. */
  private toRecord(o: Outcome): BackupRecord {
    const name = o.rel.toString('latin1');
    if (o.kind === 'delete') return { kind: 'delete', directoryId: o.dir.id, name };
    const t = this.lookup(o.dir, o.rel);
    const cur = t && !t.deleted ? t.current : null;
    const m = o.meta;
    return {
      kind: 'version', directoryId: o.dir.id, name, fileId: t?.id ?? null, vaults: o.held,
      unchanged: cur !== null && cur.contentId === o.contentId && sameAsTracked(cur, m),
      snap: {
        contentId: o.contentId, size: m.size, mode: m.mode, uid: m.uid, gid: m.gid, atimeNs: m.atimeNs, mtimeNs: m.mtimeNs,
        ctimeNs: m.ctimeNs, birthtimeNs: m.birthtimeNs, fileType: m.kind, linkTarget: m.linkTarget?.toString('latin1') ?? null,
      },
    };
  }

  async closeRecorder(): Promise<void> {
    await this.recorder?.close();
  }

  finish(status: 'ok' | 'partial'): BackupSummary {
    this.summary.status = status;
    this.summary.durationMs = Date.now() - this.runStarted;
    Object.assign(this.run, {
      endedAt: Date.now(), status, filesStored: this.summary.stored, filesUnchanged: this.summary.unchanged,
      filesDeleted: this.summary.deleted, filesFailed: this.summary.failed, bytesNew: this.summary.bytesNew, bytesDedup: this.summary.bytesDedup,
    });
    this.ctx.db.finishRun(this.run);
    return this.summary;
  }

  addCaughtUp(n: number): void {
    this.summary.caughtUp += n;
  }

  abort(): void {
    Object.assign(this.run, { endedAt: Date.now(), status: 'failed' });
    try {
      this.ctx.db.finishRun(this.run);
    } catch {
      // the original error matters more
    }
  }
}

/** `bt backup [-a]`: process every staged operation, store new content in every vault, catch up vaults that lack content, record snapshots, upload metadata. */
export async function runBackup(ctx: Context, opts: { all: boolean }): Promise<BackupSummary> {
  const started = Date.now();
  ctx.takeLock('backup');
  const staged = opts.all ? await stageAll(ctx) : null;
  const set = ctx.staging.openBatches();
  const active = ctx.db.listDirectories();
  const dirs: DirPrefix[] = active
    .map((dir) => ({ dir, prefix: Buffer.from(dir.path === '/' ? '/' : dir.path + '/') }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  if (set.count === 0 && ctx.db.getMeta('metadata_dirty') !== '1' && !anyVaultBehind(ctx)) {
    const summary = { ...newSummary('', 'nothing', staged), durationMs: Date.now() - started };
    ctx.staging.complete(set, []);
    ctx.runDetails = summaryLog(summary);
    return summary;
  }
  const vaults = await VaultSet.open(ctx.config.vaults, ctx.reporter);
  try {
    warnSameFilesystem(ctx, vaults.up, active);
    const run = new BackupRun(ctx, vaults, dirs, staged);
    let summary: BackupSummary;
    try {
      try {
        await run.process(ctx.staging.entries(set), set.count);
      } finally {
        await run.closeRecorder();
      }
      for (const v of vaults.up) summaryCatchUp(await catchUpVault(ctx, vaults, v), run);
      ctx.staging.complete(set, run.remaining);
      summary = run.finish(run.remaining.length || staged?.unreadable ? 'partial' : 'ok');
    } catch (err) {
      run.abort();
      throw err;
    }
    if (ctx.db.getMeta('metadata_dirty') === '1' || summary.caughtUp > 0) {
      summary.metadata = await uploadMetadataTo(ctx, vaults);
      if (vaults.down.size === 0) ctx.db.setMeta('metadata_dirty', '0');
    }
    summary.vaultsDown = vaults.downList;
    summary.durationMs = Date.now() - started;
    ctx.runDetails = summaryLog(summary);
    return summary;
  } finally {
    await vaults.close();
  }
}

function summaryCatchUp(r: SyncResult, run: BackupRun): void {
  run.addCaughtUp(r.copied);
}

/** Metadata to every working vault; one that fails is set aside and gets it on the next run. */
async function uploadMetadataTo(ctx: Context, vaults: VaultSet): Promise<string | null> {
  return uploadMetadata(ctx, vaults.up, (v, err) => vaults.markDown(v.name, err));
}

function summaryLog(s: BackupSummary): Record<string, unknown> {
  return {
    run_id: s.runId || null, status: (s.staged?.unreadable ?? 0) > 0 ? 'partial' : s.status, files: s.files, stored: s.stored, unchanged: s.unchanged, deleted: s.deleted, failed: s.failed,
    bytes_new: s.bytesNew, bytes_dedup: s.bytesDedup, duration_ms: s.durationMs, failures: s.failures, metadata: s.metadata,
    vaults_down: s.vaultsDown, caught_up: s.caughtUp, commits: s.commits, changed_during_read: s.changedDuringRead, changed_since_staged: s.changedSinceStaged,
  };
}

/** 0 only when everything staged was stored in every vault and, for `-a`, every tracked path could be read. */
export function backupExitCode(s: BackupSummary): number {
  return s.failed > 0 || s.vaultsDown.length > 0 || (s.staged?.unreadable ?? 0) > 0 ? ExitCode.failure : ExitCode.ok;
}

