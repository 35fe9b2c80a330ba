import { Worker } from 'node:worker_threads';
import { receiveError } from '../errors.js';
import { workerFile } from '../util/worker-file.js';
import type { Database } from './database.js';
import type { RecordJob, RecordReply } from './record-worker.js';
import type { BackupRecord, BackupRecordResult } from './types.js';

const WORKER = workerFile('db/record-worker');

interface Waiting {
  resolve(r: BackupRecordResult[]): void;
  reject(e: Error): void;
}

/**
 * Writes a backup's commits (Database.recordBackup) on a worker thread with
 * its own connection to the same database. In a 50,000-file backup these
 * writes took about a third of the main thread's time, and while they ran
 * nothing fed the copy workers. WAL mode lets the main thread go on reading
 * meanwhile; the host lock keeps other processes out. Without a built
 * worker script, or with BT_RECORD_WORKER=0, commits are written on the
 * calling thread.
 */
export class BackupRecorder {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private seq = 0;
  private failure: Error | null = null;

  /** `useThread: false` records on the calling thread (a run of one commit has nothing to overlap with). */
  constructor(private readonly db: Database, private readonly useThread = true) {}

  /** True once commits go to the worker thread. */
  get onWorker(): boolean {
    return this.worker !== null;
  }

  private get threaded(): boolean {
    return this.useThread && WORKER !== null && process.env.BT_RECORD_WORKER !== '0';
  }

  async record(records: BackupRecord[], durable: string[], runId: string, now: number): Promise<BackupRecordResult[]> {
    if (!this.threaded) return this.db.recordBackup(records, durable, runId, now);
    if (this.failure) throw this.failure;
    const w = this.worker ?? this.start();
    const seq = this.seq++;
    if (this.waiting.size === 0) w.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      w.postMessage({ seq, records, durable, runId, now } satisfies RecordJob);
    });
  }

  private start(): Worker {
    const w = new Worker(WORKER!, { workerData: { dataDir: this.db.dataDir }, resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 } });
    w.on('message', (r: RecordReply) => {
      const wait = this.waiting.get(r.seq);
      if (!wait) return;
      this.waiting.delete(r.seq);
      if (this.waiting.size === 0) w.unref(); // an idle thread does not hold the process open
      if ('results' in r) wait.resolve(r.results);
      else wait.reject(receiveError(r));
    });
    w.on('error', (err) => this.fail(err));
    w.on('exit', (code) => this.fail(new Error(`the database record thread exited (code ${code})`)));
    w.unref();
    this.worker = w;
    return w;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.worker = null;
    for (const w of this.waiting.values()) w.reject(this.failure);
    this.waiting.clear();
  }

  /** Close the worker's connection and wait for the thread to end. Call with no record under way. */
  async close(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.ref(); // until it has closed the database
    w.postMessage('close');
    await exited;
  }
}
