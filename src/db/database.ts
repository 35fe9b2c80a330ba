import fs from 'node:fs';
import path from 'node:path';
import { uuidv7 } from './uuid7.js';
import BetterSqlite3 from 'better-sqlite3';
import { migrate } from './migrations.js';
import type { BackupRecord, BackupRecordResult, BackupRunRow, DirectoryRow, DirectorySummary, FileRow, NewSnapshot, RestorableVersion, SnapshotRow, TrackedFile } from './types.js';
import { makeDirs } from '../util/make-dirs.js';
import { IoError } from '../errors.js';

export const DB_FILE = 'bt.sqlite3';

type Row = Record<string, unknown>;

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : (v as number);
}
function big(v: unknown): bigint {
  return typeof v === 'bigint' ? v : BigInt(v as number);
}

function toDirectory(r: Row): DirectoryRow {
  return { id: r.id as string, path: r.path as string, createdAt: num(r.created_at), removedAt: r.removed_at == null ? null : num(r.removed_at) };
}

/** Whether `p` lies strictly below the directory `dir`. */
function isBelow(p: string, dir: string): boolean {
  return p !== dir && (dir === '/' || p.startsWith(dir + '/'));
}

function toFile(r: Row, prefix = ''): FileRow {
  return {
    id: r[prefix + 'id'] as string,
    directoryId: r[prefix + 'directory_id'] as string,
    name: r[prefix + 'name'] as Buffer,
    currentSnapshotId: (r[prefix + 'current_snapshot_id'] as string | null) ?? null,
    deleted: num(r[prefix + 'deleted']) === 1,
  };
}

function toSnapshot(r: Row): SnapshotRow {
  return {
    id: r.id as string,
    fileId: r.file_id as string,
    contentId: (r.content_id as string | null) ?? null,
    createdAt: num(r.created_at),
    backupRunId: (r.backup_run_id as string | null) ?? null,
    size: num(r.size),
    mode: num(r.mode),
    uid: num(r.uid),
    gid: num(r.gid),
    atimeNs: big(r.atime_ns),
    mtimeNs: big(r.mtime_ns),
    ctimeNs: big(r.ctime_ns),
    birthtimeNs: r.birthtime_ns == null ? null : big(r.birthtime_ns),
    fileType: r.file_type as 'file' | 'symlink',
    linkTarget: (r.link_target as Buffer | null) ?? null,
    deleted: num(r.deleted) === 1,
  };
}

const TRACKED_SELECT = `
  SELECT f.name, f.deleted, s.file_type, s.size, s.mode, s.uid, s.gid, CAST(s.mtime_ns AS TEXT), s.link_target, f.id, CAST(s.ctime_ns AS TEXT), s.content_id
  FROM file f LEFT JOIN file_snapshot s ON s.id = f.current_snapshot_id`;

function toTracked(r: unknown[]): TrackedFile {
  return {
    id: r[9] as string,
    name: r[0] as Buffer,
    deleted: r[1] === 1,
    current: r[2] == null ? null : {
      fileType: r[2] as 'file' | 'symlink', size: r[3] as number, mode: r[4] as number, uid: r[5] as number, gid: r[6] as number,
      mtimeNs: r[7] as string, linkTarget: (r[8] as Buffer | null) ?? null, ctimeNs: r[10] as string, contentId: (r[11] as string | null) ?? null,
    },
  };
}

/** The row of the version of file f current at time ? (joining on rowid is cheaper than on the text id). */
const VERSION_AT = 'SELECT s2.rowid FROM file_snapshot s2 WHERE s2.file_id = f.id AND s2.created_at <= ? ORDER BY s2.created_at DESC, s2.rowid DESC LIMIT 1';
const SNAP_COLS = 's.id, s.file_id, s.content_id, s.created_at, s.backup_run_id, s.size, s.mode, s.uid, s.gid, s.atime_ns, s.mtime_ns, s.ctime_ns, s.birthtime_ns, s.file_type, s.link_target, s.deleted';

/**
 * fsmgr's fingerprint() of a version given as bound values ('-' for a
 * deletion record): what drift detection compares with the walk's, kept in
 * file.drift_print for the current version so that reading it needs no join
 * of the snapshot. Built from the bound values rather than read back from
 * the row (an UPDATE ... FROM that did so took twice the time of the rest of
 * a file's record). better-sqlite3 binds a number as a REAL, which would
 * print as "7.0": hence the casts (mtime comes as a BigInt). Migration 3
 * fills the column for older databases from the snapshots, with the same
 * expression over their columns.
 */
const PRINT_OF_VALUES = `CASE WHEN @deleted THEN '-' ELSE
  @file_type || ':' || CAST(@size AS INTEGER) || ':' || CAST(@mode AS INTEGER) || ':' || CAST(@uid AS INTEGER) || ':' || CAST(@gid AS INTEGER)
  || ':' || @mtime_ns || ':' || lower(hex(ifnull(@link_target, x''))) END`;

/** Make a new snapshot (@id) the file's current version. */
const SET_CURRENT = `UPDATE file SET current_snapshot_id = @id, deleted = @deleted, drift_print = ${PRINT_OF_VALUES} WHERE id = @file`;

/**
 * Set the file's print to its current version's where it differs: an older
 * bt still running while this one migrated the database records versions
 * without one, and a print gone stale so would show the file modified (or a
 * deletion not deleted) on every run, since backing it up again records
 * nothing new.
 */
const REFRESH_PRINT = `UPDATE file SET drift_print = ${PRINT_OF_VALUES} WHERE id = @file AND drift_print IS NOT ${PRINT_OF_VALUES}`;

function setCurrentArgs(file: string, id: string | null, s: NewSnapshot): Record<string, unknown> {
  return { file, id, deleted: s.deleted ? 1 : 0, file_type: s.fileType, size: s.size, mode: s.mode, uid: s.uid, gid: s.gid, mtime_ns: s.mtimeNs, link_target: s.linkTarget };
}

/** The names below directory `prefix`: from `prefix/` (never a name itself) up to `prefix0`, '0' being the byte after '/'. */
function namesBelow(prefix: Buffer): { lo: Buffer; hi: Buffer } {
  return { lo: Buffer.concat([prefix, Buffer.from('/')]), hi: Buffer.concat([prefix, Buffer.from('0')]) };
}

/** Open and set up the database file, or throw an error that names it. */
function openSqlite(file: string): BetterSqlite3.Database {
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new BetterSqlite3(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 10000');
    migrate(db);
    return db;
  } catch (err) {
    db?.close();
    // SQLite reads a file lazily: a damaged or foreign one shows at the first statement, not at the open.
    // better-sqlite3 gives extended result codes (SQLITE_CANTOPEN_ISDIR, SQLITE_IOERR_WRITE, ...): match the primary one.
    const code = String((err as { code?: string }).code ?? '');
    const is = (primary: string) => code === primary || code.startsWith(`${primary}_`);
    const why = (err as Error).message;
    if (is('SQLITE_NOTADB') || is('SQLITE_CORRUPT')) throw new IoError(`${file} is not a readable bt database (${why})`, { cause: err });
    if (is('SQLITE_CANTOPEN') || is('SQLITE_READONLY') || is('SQLITE_PERM')) throw new IoError(`cannot open the database ${file} (${why})`, { cause: err });
    if (is('SQLITE_FULL') || is('SQLITE_IOERR')) throw new IoError(`cannot write the database ${file} (${why})`, { cause: err });
    throw err;
  }
}

/** The per-host SQLite store. Synchronous (better-sqlite3); callers group writes with transaction(). */
export class Database {
  readonly db: BetterSqlite3.Database;
  readonly file: string;
  readonly dataDir: string;
  private readonly stmts = new Map<string, BetterSqlite3.Statement>();

  constructor(dataDir: string) {
    makeDirs(dataDir);
    this.dataDir = dataDir;
    this.file = path.join(dataDir, DB_FILE);
    this.db = openSqlite(this.file);
  }

  /** A cached prepared statement that returns 64-bit integers losslessly. */
  private q(sql: string): BetterSqlite3.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (s.reader) s.safeIntegers(true);
      this.stmts.set(sql, s);
    }
    return s;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }

  getMeta(key: string): string | null {
    const r = this.q('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined;
    return r ? (r.value as string) : null;
  }

  setMeta(key: string, value: string): void {
    this.q('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  // ---- directories ----

  findDirectoryByPath(p: string): DirectoryRow | null {
    const r = this.q('SELECT * FROM directory WHERE path = ? AND removed_at IS NULL').get(p) as Row | undefined;
    return r ? toDirectory(r) : null;
  }

  findDirectoryById(id: string): DirectoryRow | null {
    const r = this.q('SELECT * FROM directory WHERE id = ?').get(id) as Row | undefined;
    return r ? toDirectory(r) : null;
  }

  listDirectories(includeRemoved = false): DirectoryRow[] {
    const sql = includeRemoved ? 'SELECT * FROM directory ORDER BY path, created_at' : 'SELECT * FROM directory WHERE removed_at IS NULL ORDER BY path';
    return (this.q(sql).all() as Row[]).map(toDirectory);
  }

  /** The tracked directory holding `p` (the deepest one), the design's search_directory_for_path. */
  searchDirectoryForPath(p: string, includeRemoved = false): DirectoryRow | null {
    return this.directoriesHolding(p, includeRemoved)[0] ?? null;
  }

  /** Every directory holding `p`: deepest first, and among equal paths the active one, then the newest. */
  directoriesHolding(p: string, includeRemoved = true): DirectoryRow[] {
    const rank = (d: DirectoryRow) => [d.path.length, d.removedAt === null ? 1 : 0, d.createdAt] as const;
    return this.listDirectories(includeRemoved)
      .filter((d) => d.path === p || isBelow(p, d.path))
      .sort((a, b) => {
        const [x, y] = [rank(a), rank(b)];
        return y[0] - x[0] || y[1] - x[1] || y[2] - x[2];
      });
  }

  findDirectoriesByPathPrefix(prefix: string): DirectoryRow[] {
    return this.listDirectories().filter((d) => isBelow(d.path, prefix));
  }

  /**
   * Track a directory; tracked directories below it are absorbed in one
   * transaction: their files move to it with their names prefixed, and the
   * old directory rows are removed. History of the same place kept from
   * before a 'dir remove' joins it too, so that 'bt log' and 'bt restore'
   * find it again: a removed row at exactly this path is tracked again
   * itself, and removed rows below it are absorbed like active ones. (A
   * removed row above it keeps its files: a restore of that directory as it
   * was reads one row, and log and restore of a file find the removed
   * row's history when the new directory has none for it; see locate.)
   */
  createDirectory(p: string): { directory: DirectoryRow; absorbed: DirectoryRow[] } {
    return this.transaction(() => {
      const now = Date.now();
      const removed = this.listDirectories(true).filter((d) => d.removedAt !== null);
      const again = removed.filter((d) => d.path === p).pop();
      let dir: DirectoryRow;
      if (again) {
        this.q('UPDATE directory SET removed_at = NULL WHERE id = ?').run(again.id);
        dir = { ...again, removedAt: null };
      } else {
        dir = { id: uuidv7(), path: p, createdAt: now, removedAt: null };
        this.q('INSERT INTO directory(id, path, created_at) VALUES (?, ?, ?)').run(dir.id, dir.path, now);
      }
      const children = this.findDirectoriesByPathPrefix(p);
      for (const old of [...removed.filter((d) => d.id !== dir.id && (d.path === p || isBelow(d.path, p))), ...children]) {
        this.moveFiles(old, dir);
        this.q('DELETE FROM directory WHERE id = ?').run(old.id);
      }
      return { directory: dir, absorbed: children };
    });
  }

  /**
   * Re-root a directory's files, at or below `dest`, into it with their names
   * prefixed. A name `dest` already has (the same file, tracked from two
   * places at different times) becomes one file with both histories; its
   * current version is the newer of the two. Rows are taken a page at a
   * time (each one taken leaves the source), so memory does not grow with
   * the directory.
   */
  moveFiles(source: DirectoryRow, dest: DirectoryRow): void {
    const prefix = Buffer.from(source.path === dest.path ? '' : source.path.slice(dest.path === '/' ? 1 : dest.path.length + 1) + '/');
    const page = this.q('SELECT * FROM file WHERE directory_id = ? LIMIT 1000');
    const update = this.q('UPDATE file SET directory_id = ?, name = ? WHERE id = ?');
    const currentAt = this.q('SELECT s.created_at FROM file f JOIN file_snapshot s ON s.id = f.current_snapshot_id WHERE f.id = ?').pluck(true);
    for (;;) {
      const files = (page.all(source.id) as Row[]).map((r) => toFile(r));
      if (!files.length) return;
      for (const f of files) {
        const name = Buffer.concat([prefix, f.name]);
        const there = this.findFile(dest.id, name);
        if (!there) {
          update.run(dest.id, name, f.id);
          continue;
        }
        this.q('UPDATE file_snapshot SET file_id = ? WHERE file_id = ?').run(there.id, f.id);
        if (Number(currentAt.get(f.id) ?? -1) > Number(currentAt.get(there.id) ?? -1)) {
          this.q(`UPDATE file SET (current_snapshot_id, deleted, drift_print) = (SELECT current_snapshot_id, deleted, drift_print FROM file WHERE id = ?) WHERE id = ?`).run(f.id, there.id);
        }
        this.q('DELETE FROM file WHERE id = ?').run(f.id);
      }
    }
  }

  removeDirectory(id: string): void {
    this.q('UPDATE directory SET removed_at = ? WHERE id = ?').run(Date.now(), id);
  }

  directorySummaries(): DirectorySummary[] {
    const rows = this.q(`
      SELECT d.*,
        (SELECT COUNT(*) FROM file f WHERE f.directory_id = d.id AND f.deleted = 0) AS files,
        (SELECT MAX(s.created_at) FROM file f JOIN file_snapshot s ON s.file_id = f.id WHERE f.directory_id = d.id) AS last_backup_at
      FROM directory d WHERE d.removed_at IS NULL ORDER BY d.path`).all() as Row[];
    return rows.map((r) => ({ ...toDirectory(r), files: num(r.files), lastBackupAt: r.last_backup_at == null ? null : num(r.last_backup_at) }));
  }

  // ---- files and snapshots ----

  findFile(directoryId: string, name: Buffer): FileRow | null {
    const r = this.q('SELECT * FROM file WHERE directory_id = ? AND name = ?').get(directoryId, name) as Row | undefined;
    return r ? toFile(r) : null;
  }

  findOrCreateFile(directoryId: string, name: Buffer): FileRow {
    const existing = this.findFile(directoryId, name);
    if (existing) return existing;
    const f: FileRow = { id: uuidv7(), directoryId, name, currentSnapshotId: null, deleted: false };
    this.q('INSERT INTO file(id, directory_id, name, deleted) VALUES (?, ?, ?, 0)').run(f.id, directoryId, name);
    return f;
  }

  /**
   * What drift detection needs of a directory's files, a page at a time in
   * name (byte) order, the walk's order: [name, fingerprint of its current
   * snapshot] (the same string as fsmgr's fingerprint()), '-' for a file
   * recorded as deleted, '' for one without a version. Only names after
   * `after` and, when `below` is given, below that directory. Pages (rather
   * than one cursor) leave no statement open while the caller awaits.
   */
  driftPage(directoryId: string, after: Buffer | null, below: Buffer | null, limit: number): Array<[Buffer, string]> {
    const range = below === null ? null : namesBelow(below);
    const lo = range !== null && (after === null || Buffer.compare(after, range.lo) < 0) ? range.lo : after;
    const hi = range?.hi ?? null;
    const key = `drift:${lo === null ? 0 : 1}${hi === null ? 0 : 1}`;
    let stmt = this.stmts.get(key);
    if (!stmt) {
      stmt = this.db.prepare(`SELECT f.name, ifnull(f.drift_print, '') FROM file f
        WHERE f.directory_id = ?${lo === null ? '' : ' AND f.name > ?'}${hi === null ? '' : ' AND f.name < ?'} ORDER BY f.name LIMIT ?`).raw(true);
      this.stmts.set(key, stmt);
    }
    const args: unknown[] = [directoryId];
    if (lo !== null) args.push(lo);
    if (hi !== null) args.push(hi);
    args.push(limit);
    return stmt.all(...args) as Array<[Buffer, string]>;
  }

  /** driftPage's value for one file; undefined when the directory has no such file. */
  driftPrint(directoryId: string, name: Buffer): string | undefined {
    let stmt = this.stmts.get('drift1');
    if (!stmt) {
      stmt = this.db.prepare(`SELECT ifnull(f.drift_print, '') FROM file f WHERE f.directory_id = ? AND f.name = ?`).pluck(true);
      this.stmts.set('drift1', stmt);
    }
    return stmt.get(directoryId, name) as string | undefined;
  }

  /** One file with its current version, as trackedFiles holds it; null when never tracked. */
  trackedFile(directoryId: string, name: Buffer): TrackedFile | null {
    let stmt = this.stmts.get('tracked1');
    if (!stmt) {
      stmt = this.db.prepare(`${TRACKED_SELECT} WHERE f.directory_id = ? AND f.name = ?`).raw(true);
      this.stmts.set('tracked1', stmt);
    }
    const r = stmt.get(directoryId, name) as unknown[] | undefined;
    return r ? toTracked(r) : null;
  }

  /** True when the directory has any file row (live or deleted). */
  hasFiles(directoryId: string): boolean {
    return this.q('SELECT 1 FROM file WHERE directory_id = ? LIMIT 1').get(directoryId) !== undefined;
  }

  /** True when any file of the directory lies below `prefix` (bytes, without the trailing slash). */
  hasFilesBelow(directoryId: string, prefix: Buffer): boolean {
    const { lo, hi } = namesBelow(prefix);
    return this.q('SELECT 1 FROM file WHERE directory_id = ? AND name >= ? AND name < ? LIMIT 1').get(directoryId, lo, hi) !== undefined;
  }

  getSnapshot(id: string): SnapshotRow | null {
    const r = this.q(`SELECT ${SNAP_COLS} FROM file_snapshot s WHERE s.id = ?`).get(id) as Row | undefined;
    return r ? toSnapshot(r) : null;
  }

  /** A file's versions, newest first: the design's find_file_snapshots_for_file. */
  findFileSnapshotsForFile(fileId: string): SnapshotRow[] {
    return (this.q(`SELECT ${SNAP_COLS} FROM file_snapshot s WHERE s.file_id = ? ORDER BY s.created_at DESC, s.rowid DESC`).all(fileId) as Row[]).map(toSnapshot);
  }

  /** Record a new version of a file, creating the file row when `fileId` is null. Run inside a transaction. */
  recordVersion(fileId: string | null, directoryId: string, name: Buffer, snap: NewSnapshot, runId: string | null, createdAt: number): string {
    const id = fileId ?? uuidv7();
    // The file row first, then its version, then the pointer: each foreign key holds at every step
    // (deferring the check instead made SQLite scan the file table on every insert).
    if (!fileId) this.q('INSERT INTO file(id, directory_id, name, deleted) VALUES (?, ?, ?, 0)').run(id, directoryId, name);
    this.addVersion(id, uuidv7(), snap, runId, createdAt);
    return id;
  }

  /** Insert snapshot `snapId` of file `fileId` and make it the file's current version. */
  private addVersion(fileId: string, snapId: string, snap: NewSnapshot, runId: string | null, createdAt: number): void {
    this.q(`INSERT INTO file_snapshot(id, file_id, content_id, created_at, backup_run_id, size, mode, uid, gid, atime_ns, mtime_ns, ctime_ns, birthtime_ns, file_type, link_target, deleted)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      snapId, fileId, snap.contentId, createdAt, runId, snap.size, snap.mode, snap.uid, snap.gid,
      snap.atimeNs, snap.mtimeNs, snap.ctimeNs, snap.birthtimeNs, snap.fileType, snap.linkTarget, snap.deleted ? 1 : 0,
    );
    this.q(SET_CURRENT).run(setCurrentArgs(fileId, snapId, snap));
  }

  /**
   * The files of a directory that existed at `at`, each with what restoring
   * its version then needs. Rows come as arrays, and only the nanosecond
   * times as BigInts (through text, as they exceed 2^53): building a full
   * SnapshotRow object per file cost a restore of 50,000 files 1.3 s.
   * `fileRowid` is the file row's rowid: a small integer, unique and stable
   * while bt runs, by which a restore remembers what it wrote in one bit.
   */
  *iterRestorableAt(directoryId: string, at: number): Generator<{ fileRowid: number; name: Buffer; version: RestorableVersion }> {
    const stmt = this.db.prepare(`
      SELECT f.name, s.content_id, s.size, s.mode, s.uid, s.gid, CAST(s.atime_ns AS TEXT), CAST(s.mtime_ns AS TEXT), s.file_type, s.link_target, f.rowid
      FROM file f JOIN file_snapshot s ON s.rowid = (${VERSION_AT})
      WHERE f.directory_id = ? AND s.deleted = 0`).raw(true);
    for (const r of stmt.iterate(at, directoryId) as Iterable<unknown[]>) {
      yield {
        fileRowid: r[10] as number,
        name: r[0] as Buffer,
        version: {
          contentId: (r[1] as string | null) ?? null,
          size: r[2] as number,
          mode: r[3] as number,
          uid: r[4] as number,
          gid: r[5] as number,
          atimeNs: BigInt(r[6] as string),
          mtimeNs: BigInt(r[7] as string),
          fileType: r[8] as 'file' | 'symlink',
          linkTarget: (r[9] as Buffer | null) ?? null,
        },
      };
    }
  }

  /** The name and deleted flag of every file's version at `at`, deletions included: a cheap first look at a large tree. */
  *iterNamesAt(directoryId: string, at: number): Generator<{ name: Buffer; deleted: boolean }> {
    const stmt = this.db.prepare(`SELECT f.name, s.deleted FROM file f JOIN file_snapshot s ON s.rowid = (${VERSION_AT}) WHERE f.directory_id = ?`);
    for (const r of stmt.iterate(at, directoryId) as Iterable<Row>) yield { name: r.name as Buffer, deleted: r.deleted === 1 };
  }

  insertSnapshot(file: FileRow, snap: NewSnapshot, runId: string | null, createdAt: number): SnapshotRow {
    const row: SnapshotRow = { ...snap, id: uuidv7(), fileId: file.id, createdAt, backupRunId: runId };
    this.addVersion(file.id, row.id, snap, runId, createdAt);
    return row;
  }

  /**
   * One commit of a backup, in one transaction: deletions, the content the
   * vaults now hold, and new versions; one result per record. A vault holds
   * content when its flush for this commit succeeded (`durable`) or an
   * earlier record says so.
   */
  recordBackup(records: BackupRecord[], durable: string[], runId: string, now: number): BackupRecordResult[] {
    return this.transaction(() => {
      const results: BackupRecordResult[] = [];
      let changed = false;
      for (const r of records) {
        const name = Buffer.from(r.name, 'latin1');
        if (r.kind === 'delete') {
          const file = this.findFile(r.directoryId, name);
          if (!file || file.deleted || !file.currentSnapshotId) {
            if (file?.deleted) this.q(`UPDATE file SET drift_print = '-' WHERE id = ? AND drift_print IS NOT '-'`).run(file.id);
            results.push('skipped');
            continue;
          }
          const { id: _i, fileId: _f, createdAt: _c, backupRunId: _r, ...last } = this.getSnapshot(file.currentSnapshotId)!;
          this.insertSnapshot(file, { ...last, deleted: true }, runId, now);
          results.push('deleted');
          changed = true;
          continue;
        }
        const contentId = r.snap.contentId;
        if (contentId) {
          let recorded: string[] | null = null;
          const held = r.vaults.filter((v) => durable.includes(v) || (recorded ??= this.contentVaults(contentId)).includes(v));
          if (!held.length) {
            results.push('no-vault');
            continue;
          }
          for (const v of held) this.recordContent(contentId, r.snap.size, v, now);
        }
        const linkTarget = r.snap.linkTarget === null ? null : Buffer.from(r.snap.linkTarget, 'latin1');
        if (r.unchanged) {
          if (r.fileId) this.q(REFRESH_PRINT).run(setCurrentArgs(r.fileId, null, { ...r.snap, linkTarget, deleted: false }));
          results.push('unchanged');
          continue;
        }
        this.recordVersion(r.fileId, r.directoryId, name, { ...r.snap, linkTarget, deleted: false }, runId, now);
        results.push('stored');
        changed = true;
      }
      if (changed) this.setMeta('metadata_dirty', '1');
      return results;
    });
  }

  // ---- content ----

  hasContent(id: string): boolean {
    return this.q('SELECT 1 FROM content WHERE id = ?').get(id) !== undefined;
  }

  contentVaults(id: string): string[] {
    return (this.q('SELECT vault FROM content_vault WHERE content_id = ? ORDER BY vault').all(id) as Row[]).map((r) => r.vault as string);
  }

  /** Record content a vault now durably holds. */
  recordContent(id: string, size: number, vault: string, now: number): void {
    this.q('INSERT OR IGNORE INTO content(id, size, created_at) VALUES (?, ?, ?)').run(id, size, now);
    this.q('INSERT OR IGNORE INTO content_vault(content_id, vault, stored_at) VALUES (?, ?, ?)').run(id, vault, now);
  }

  /**
   * True when some content has no record that `vault` holds it. Two counts
   * rather than contentMissingFrom(vault, 1): every content_vault row names
   * a content row (a foreign key) once per vault, so the counts differ
   * exactly when one is missing, and counting is a quarter of the time of a
   * look-up per content row (4 against 15-25 ms for 50,000), on every backup.
   */
  contentBehind(vault: string): boolean {
    const r = this.q('SELECT (SELECT count(*) FROM content) - (SELECT count(*) FROM content_vault WHERE vault = ?) AS n').get(vault) as Row;
    return num(r.n) !== 0;
  }

  /** Content no record says `vault` holds, in id order. */
  contentMissingFrom(vault: string, limit = -1): Array<{ id: string; size: number }> {
    return (this.q('SELECT c.id, c.size FROM content c WHERE NOT EXISTS (SELECT 1 FROM content_vault v WHERE v.content_id = c.id AND v.vault = ?) ORDER BY c.id LIMIT ?').all(vault, limit) as Row[])
      .map((r) => ({ id: r.id as string, size: num(r.size) }));
  }

  // ---- backup runs ----

  startRun(): BackupRunRow {
    const run: BackupRunRow = { id: uuidv7(), startedAt: Date.now(), endedAt: null, status: 'running', filesStored: 0, filesUnchanged: 0, filesDeleted: 0, filesFailed: 0, bytesNew: 0, bytesDedup: 0 };
    this.q('INSERT INTO backup_run(id, started_at, status) VALUES (?, ?, ?)').run(run.id, run.startedAt, run.status);
    return run;
  }

  finishRun(run: BackupRunRow): void {
    this.q(`UPDATE backup_run SET ended_at = ?, status = ?, files_stored = ?, files_unchanged = ?, files_deleted = ?, files_failed = ?, bytes_new = ?, bytes_dedup = ? WHERE id = ?`).run(
      run.endedAt, run.status, run.filesStored, run.filesUnchanged, run.filesDeleted, run.filesFailed, run.bytesNew, run.bytesDedup, run.id,
    );
  }

  lastBackupAt(): number | null {
    const r = this.q("SELECT MAX(ended_at) AS t FROM backup_run WHERE status IN ('ok', 'partial')").get() as Row;
    return r.t == null ? null : num(r.t);
  }

  countSnapshots(): number {
    return num((this.q('SELECT COUNT(*) AS n FROM file_snapshot').get() as Row).n);
  }

  /** A consistent copy of the live database (SQLite's online backup). */
  async backupTo(dest: string): Promise<void> {
    await this.db.backup(dest);
  }
}

/** Throws unless the SQLite file at `file` passes integrity_check. */
export function integrityCheck(file: string): void {
  const check = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    const ok = check.pragma('integrity_check', { simple: true });
    if (ok !== 'ok') throw new Error(String(ok));
  } finally {
    check.close();
  }
}
