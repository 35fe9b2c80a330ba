// Worker thread: copy a file into a new file while hashing it, so that
// reading, hashing and writing of many files run on every core rather than
// on the main thread; and rename a flushed batch of temp files into place,
// thousands of directory operations the main thread need not wait for.
// Synchronous I/O is right here: this thread has nothing else to do.
import fs from 'node:fs';
import crypto from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { objectExists, renameObjects } from './object-files.js';

export type CopyJob =
  | {
      seq: number;
      /** Paths as latin1 strings, one char per byte: a string clones cheaply, while a small Buffer would carry its whole 8 KiB pool slab across. */
      src: string;
      dst: string;
      /** A vault's content directory: report whether it holds the copied bytes already. */
      contentDir?: string;
    }
  | { seq: number; moves: string[] };

export type CopyReply =
  | { seq: number; id: string; size: number; exists: boolean }
  | { seq: number; moved: number }
  | { seq: number; code: string; message: string };

const CHUNK = 1 << 20;
const buf = Buffer.allocUnsafe(CHUNK);

/** Read from `fd` into buf until it is full or the file ends; the number of bytes read. */
function fill(fd: number): number {
  let n = 0;
  for (;;) {
    const r = fs.readSync(fd, buf, n, CHUNK - n, null);
    if (r === 0 || (n += r) === CHUNK) return n;
  }
}

/**
 * Copy src to a new file at dst, hashing the bytes written. When
 * `contentDir` holds the object already, the reply says so and dst is not
 * left behind. A file smaller than the buffer (nearly all are) is read and
 * hashed first, so that then no temp file is made at all: creating and
 * deleting one cost more than the copy, and on ext4 without a journal each
 * freed inode is stepped over by later creations for a minute or more.
 */
function copy(src: string, dst: string, contentDir: string | undefined): { id: string; size: number; exists: boolean } {
  const hash = crypto.createHash('sha256');
  const held = (id: string, size: number) => contentDir !== undefined && objectExists(contentDir, id, size);
  const inp = fs.openSync(Buffer.from(src, 'latin1'), 'r');
  try {
    let n = fill(inp);
    if (n < CHUNK) {
      const id = hash.update(buf.subarray(0, n)).digest('hex');
      if (held(id, n)) return { id, size: n, exists: true };
      writeNew(dst, (out) => writeAll(out, n));
      return { id, size: n, exists: false };
    }
    let size = 0;
    writeNew(dst, (out) => {
      while (n > 0) {
        hash.update(buf.subarray(0, n));
        writeAll(out, n);
        size += n;
        n = fill(inp);
      }
    });
    const id = hash.digest('hex');
    if (!held(id, size)) return { id, size, exists: false };
    removeQuietly(Buffer.from(dst, 'latin1'));
    return { id, size, exists: true };
  } finally {
    fs.closeSync(inp);
  }
}

/** Create dst (never an existing file: it may be another job's) and fill it; a failure removes what was made. */
function writeNew(dst: string, write: (out: number) => void): void {
  const dstPath = Buffer.from(dst, 'latin1');
  const out = fs.openSync(dstPath, 'wx', 0o600);
  let complete = false;
  try {
    write(out);
    complete = true;
  } finally {
    fs.closeSync(out);
    if (!complete) removeQuietly(dstPath);
  }
}

function writeAll(out: number, n: number): void {
  let off = 0;
  while (off < n) off += fs.writeSync(out, buf, off, n - off);
}

function removeQuietly(p: Buffer): void {
  try {
    fs.rmSync(p, { force: true });
  } catch {
    // the temp file is cleared by the next open of the vault
  }
}

parentPort?.on('message', (job: CopyJob) => {
  let reply: CopyReply;
  try {
    if ('moves' in job) {
      renameObjects(job.moves);
      reply = { seq: job.seq, moved: job.moves.length / 2 };
    } else {
      reply = { seq: job.seq, ...copy(job.src, job.dst, job.contentDir) };
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    reply = { seq: job.seq, code: e.code ?? 'EUNKNOWN', message: e.message ?? String(err) };
  }
  parentPort!.postMessage(reply);
});
