import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fsyncDir, tempSibling } from '../fsmgr/atomic.js';
import { isAtOrBelow } from '../fsmgr/paths.js';
import { makeDirs } from '../util/make-dirs.js';
import { IoError, describeSystemError } from '../errors.js';

export type StagedOp = 'upsert' | 'delete';

export interface StagedEntry {
  /** Absolute path of the file, raw bytes. Paths (not directory ids) survive a parent `dir init` absorbing the directory. */
  abs: Buffer;
  op: StagedOp;
  stagedAt: number;
}

export interface StagedSet {
  /** Batch files this set was read from; completing the set removes them. */
  batches: string[];
  /** Latest operation per path, keyed by the path's latin1 form. */
  entries: Map<string, StagedEntry>;
}

/** The batch files of a backup, oldest first, read entry by entry (StagingArea.entries). */
export interface StagedBatches {
  batches: string[];
  /** Entries in those batches; a path staged by two batches counts twice. */
  count: number;
}

/** Bytes read from a batch file at a time. */
const READ_CHUNK = 1 << 20;
/** Bytes of lines a BatchWriter buffers before writing them out. */
const WRITE_CHUNK = 256 * 1024;

/**
 * The file-based staging area. Each `bt add` appends one batch file (written
 * atomically), holding only paths and operations, never file content: the
 * bytes are read at backup time. A backup completes a set by writing what
 * must stay staged as a new batch and then deleting the batches it read, so
 * a run killed anywhere leaves every operation staged at least once.
 */
export class StagingArea {
  constructor(private readonly dir: string) {}

  private batchFiles(): string[] {
    return this.listNames().filter((n) => n.endsWith('.jsonl') && !n.startsWith('.')).sort().map((n) => path.join(this.dir, n));
  }

  /** One new batch of `entries` (none when there are none). */
  stageForBackup(entries: StagedEntry[]): void {
    const batch = this.newBatch();
    for (const e of entries) batch.add(e);
    batch.commit();
  }

  /** A new batch written as entries come, so that staging a large tree never holds it in memory; commit() makes it visible atomically. */
  newBatch(): BatchWriter {
    return new BatchWriter(path.join(this.dir, batchName()));
  }

  /** The batches staged now and how many entries they hold, without reading the entries into memory. */
  openBatches(): StagedBatches {
    const batches = this.batchFiles();
    let count = 0;
    for (const b of batches) {
      for (const chunk of readChunks(b)) for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, at + 1)) count++;
    }
    return { batches, count };
  }

  /**
   * Every entry of `set`, streamed batch by batch. With several batches a
   * path staged more than once is yielded once, remembered by its SHA-256
   * (32 bytes per path, not the path itself); within one batch, paths are
   * unique (BatchWriter callers stage each path once).
   */
  *entries(set: StagedBatches): Generator<StagedEntry> {
    const seen = set.batches.length > 1 ? new Set<string>() : null;
    for (const e of readEntries(set.batches)) {
      if (seen) {
        const key = crypto.createHash('sha256').update(e.abs).digest().toString('latin1');
        if (seen.has(key)) continue;
        seen.add(key);
      }
      yield e;
    }
  }

  /**
   * The staged paths (latin1 keys) without their entries, for `dir status`,
   * which only asks whether a path is staged: a set of strings is a fraction
   * of load()'s map of entries. With `below`, only the paths in that
   * directory (or that path itself).
   */
  stagedPaths(below?: Buffer): Set<string> {
    const paths = new Set<string>();
    for (const e of readEntries(this.batchFiles())) {
      if (below && !isAtOrBelow(e.abs, below)) continue;
      paths.add(e.abs.toString('latin1'));
    }
    return paths;
  }

  /** Every staged path with its latest operation (a later batch wins). */
  load(): StagedSet {
    const batches = this.batchFiles();
    const entries = new Map<string, StagedEntry>();
    for (const e of readEntries(batches)) entries.set(e.abs.toString('latin1'), e);
    return { batches, entries };
  }

  isEmpty(): boolean {
    return this.batchFiles().length === 0;
  }

  /** Replace the batches of `set` with just `remaining`; called under the host lock, so any temp file left is a killed run's. */
  complete(set: { batches: string[] }, remaining: StagedEntry[]): void {
    this.stageForBackup(remaining);
    for (const b of set.batches) fs.rmSync(b, { force: true });
    for (const n of this.listNames()) if (n.startsWith('.bt-tmp-')) fs.rmSync(path.join(this.dir, n), { force: true });
  }

  /** Drop everything staged (recover --force). */
  discardAll(): void {
    this.complete({ batches: this.batchFiles() }, []);
  }

  private listNames(): string[] {
    try {
      return fs.readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}

/** Writes one batch file line by line: a temp file, fsynced and renamed into place by commit(). */
export class BatchWriter {
  private fd: number | null = null;
  private readonly tmp: string;
  private lines: string[] = [];
  private buffered = 0;
  count = 0;

  constructor(private readonly target: string) {
    this.tmp = tempSibling(target);
  }

  add(e: StagedEntry): void {
    const line = entryLine(e);
    this.lines.push(line);
    this.buffered += line.length;
    this.count++;
    if (this.buffered >= WRITE_CHUNK) this.writeOut();
  }

  private writeOut(): void {
    try {
      if (this.fd === null) {
        makeDirs(path.dirname(this.target));
        this.fd = fs.openSync(this.tmp, 'wx', 0o644);
      }
      fs.writeFileSync(this.fd, this.lines.join('')); // writes it all: a bare writeSync may be short
    } catch (err) {
      throw stagingError(path.dirname(this.target), err);
    }
    this.lines = [];
    this.buffered = 0;
  }

  /** Make the batch visible (nothing when it is empty). */
  commit(): void {
    if (this.count === 0) return this.abort();
    const dir = path.dirname(this.target);
    try {
      this.writeOut();
      const fd = this.fd!;
      this.fd = null; // closed below even if fsync fails, and never closed twice
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(this.tmp, this.target);
      fsyncDir(dir);
    } catch (err) {
      this.abort(); // after the rename it has nothing left to drop
      throw stagingError(dir, err);
    }
  }

  /** Drop the batch; best effort, so that the error that led here is the one reported. */
  abort(): void {
    try {
      if (this.fd !== null) fs.closeSync(this.fd);
    } catch {
      // closing a file we only wrote cannot lose anything
    }
    this.fd = null;
    try {
      fs.rmSync(this.tmp, { force: true });
    } catch {
      // a temp file left behind is cleared by the next complete()
    }
  }
}

/** A failure to write a batch, naming the staging directory (once, however deep the call that failed). */
function stagingError(dir: string, err: unknown): unknown {
  if (err instanceof IoError) return err;
  return new IoError(`cannot write the staging area ${dir}: ${describeSystemError(err)}`, { cause: err });
}

/** Names sort by time so that batches are read in the order they were staged. */
function batchName(): string {
  return `${Date.now().toString().padStart(15, '0')}-${process.hrtime.bigint().toString().padStart(20, '0')}-${crypto.randomBytes(4).toString('hex')}.jsonl`;
}

/** The JSON line of an entry, built as text: base64, the op names and an integer need no escaping, and JSON.stringify of an object per file was a tenth of an `add`'s main thread. */
function entryLine(e: StagedEntry): string {
  return `{"p":"${e.abs.toString('base64')}","op":"${e.op}","t":${Math.trunc(e.stagedAt)}}\n`;
}

function parseLine(line: string): StagedEntry | null {
  if (!line) return null;
  let rec: { p: string; op: StagedOp; t: number };
  try {
    rec = JSON.parse(line);
  } catch {
    return null; // a torn last line cannot happen with atomic batches; tolerate it anyway
  }
  return { abs: Buffer.from(rec.p, 'base64'), op: rec.op, stagedAt: rec.t };
}

/** A batch file in chunks (none when it is gone: completed by a run that held the lock before us). */
function* readChunks(file: string): Generator<Buffer> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, READ_CHUNK, null);
      if (n === 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The entries of batch files, in order, read a chunk at a time. */
function* readEntries(batches: string[]): Generator<StagedEntry> {
  for (const b of batches) {
    for (const line of readLines(b)) {
      const e = parseLine(line);
      if (e) yield e;
    }
  }
}

/** A batch file's lines, read a chunk at a time (lines are ASCII JSON, so splitting bytes at '\n' is exact). */
function* readLines(file: string): Generator<string> {
  let rest = '';
  for (const chunk of readChunks(file)) {
    const text = rest + chunk.toString('latin1');
    const parts = text.split('\n');
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest) yield rest;
}
