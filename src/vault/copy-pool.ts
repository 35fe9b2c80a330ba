import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CopyJob, CopyReply } from './copy-worker.js';
import { workerFile } from '../util/worker-file.js';

export interface Copied {
  id: string;
  size: number;
  /** The vault's content directory, when given, already holds these bytes; dst is then not left behind. */
  exists: boolean;
}

interface Waiting {
  resolve(r: Copied | number): void;
  reject(e: Error): void;
}

/**
 * A few worker threads that copy files while hashing them, and rename
 * flushed temp files into place. Workers start on first use and are
 * unref'd, so an idle pool never keeps the process alive.
 */
export class CopyPool {
  private workers: Worker[] = [];
  private load: number[] = [];
  private readonly owner = new Map<number, number>();
  private seq = 0;
  private readonly waiting = new Map<number, Waiting>();
  // BT_COPY_WORKERS=0 keeps copies on the main thread (for comparison and for constrained machines).
  private readonly file = process.env.BT_COPY_WORKERS === '0' ? null : workerFile('vault/copy-worker');
  private broken: Error | null = null;

  get available(): boolean {
    return this.file !== null && this.broken === null;
  }

  private start(): void {
    const n = Math.max(2, Math.min(4, os.availableParallelism?.() ?? os.cpus().length));
    for (let i = 0; i < n; i++) {
      // A copy worker holds one 1 MiB buffer and a hash: a small heap keeps each thread's memory small.
      const w = new Worker(this.file!, { resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8 } });
      w.unref();
      w.on('message', (r: CopyReply) => {
        const wait = this.waiting.get(r.seq);
        if (!wait) return;
        this.waiting.delete(r.seq);
        this.load[this.owner.get(r.seq)!]!--;
        this.owner.delete(r.seq);
        if (this.waiting.size === 0) for (const x of this.workers) x.unref();
        if ('id' in r) wait.resolve({ id: r.id, size: r.size, exists: r.exists });
        else if ('moved' in r) wait.resolve(r.moved);
        else wait.reject(Object.assign(new Error(r.message), { code: r.code }));
      });
      w.on('error', (err) => this.fail(err));
      this.workers.push(w);
      this.load.push(0);
    }
  }

  private fail(err: Error): void {
    this.broken = err;
    // Stop the other workers too: a job still queued there must not write after its caller has moved on.
    for (const w of this.workers) void w.terminate();
    this.workers = [];
    this.load = [];
    this.rejectWaiting(err);
  }

  private rejectWaiting(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    this.owner.clear();
  }

  /**
   * Copy `src` to the new file `dst`, returning the SHA-256 and length of the
   * bytes written, and whether `contentDir` (a vault's) already holds them.
   */
  copy(src: Buffer | string, dst: Buffer | string, contentDir?: string): Promise<Copied> {
    return this.post((seq) => ({ seq, src: latin1(src), dst: latin1(dst), contentDir })) as Promise<Copied>;
  }

  /** renameObjects(moves) on a worker. */
  async renameObjects(moves: string[]): Promise<void> {
    await this.post((seq) => ({ seq, moves }));
  }

  private post(job: (seq: number) => CopyJob): Promise<Copied | number> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.workers.length === 0) this.start();
    const seq = this.seq++;
    // The least busy worker, so that one large file does not hold up the small ones queued behind it.
    let i = 0;
    for (let j = 1; j < this.load.length; j++) if (this.load[j]! < this.load[i]!) i = j;
    const w = this.workers[i]!;
    this.load[i]!++;
    this.owner.set(seq, i);
    if (this.waiting.size === 0) for (const x of this.workers) x.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      w.postMessage(job(seq));
    });
  }

  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    this.load = [];
    await Promise.all(ws.map((w) => w.terminate()));
    this.rejectWaiting(new Error('the copy pool was closed'));
  }
}

/** A path's bytes as a latin1 string (one char per byte), for the worker to turn back into the same bytes. */
function latin1(p: Buffer | string): string {
  return (typeof p === 'string' ? Buffer.from(p) : p).toString('latin1');
}
