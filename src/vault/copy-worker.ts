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

function copy(src: string, dst: string): { id: string; size: number } {
  const hash = crypto.createHash('sha256');
  const inp = fs.openSync(Buffer.from(src, 'latin1'), 'r');
  try {
    const dstPath = Buffer.from(dst, 'latin1');
    // Only a file this job created is removed on failure: dst may be another job's (EEXIST).
    const out = fs.openSync(dstPath, 'wx', 0o600);
    let complete = false;
    try {
      let size = 0;
      for (;;) {
        const n = fs.readSync(inp, buf, 0, CHUNK, null);
        if (n === 0) break;
        hash.update(buf.subarray(0, n));
        let off = 0;
        while (off < n) off += fs.writeSync(out, buf, off, n - off);
        size += n;
      }
      complete = true;
      return { id: hash.digest('hex'), size };
    } finally {
      fs.closeSync(out);
      if (!complete) removeQuietly(dstPath);
    }
  } finally {
    fs.closeSync(inp);
  }
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
      const { id, size } = copy(job.src, job.dst);
      reply = { seq: job.seq, id, size, exists: job.contentDir !== undefined && objectExists(job.contentDir, id, size) };
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    reply = { seq: job.seq, code: e.code ?? 'EUNKNOWN', message: e.message ?? String(err) };
  }
  parentPort!.postMessage(reply);
});
