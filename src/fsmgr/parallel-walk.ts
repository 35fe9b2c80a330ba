import { Worker } from 'node:worker_threads';
import { receiveError } from '../errors.js';
import { workerFile } from '../util/worker-file.js';
import { walkBatches, type WalkBatch, type WalkSpec } from './walk-batches.js';
import type { WalkMessage, WalkStart } from './walk-worker.js';

export type { WalkBatch } from './walk-batches.js';

export interface WalkRequest {
  root: string;
  /** Where to start below the root (bytes, empty for the root). */
  start: Buffer;
  patterns: string[];
  exclude: string[];
}

/** A walk read batch by batch; close() ends one that will not be read. */
export interface Walk extends AsyncIterable<WalkBatch> {
  close(): Promise<void>;
  /** Batches walked and not read yet. */
  buffered(): number;
}

const WORKER = workerFile('fsmgr/walk-worker');

function useWorker(): boolean {
  return WORKER !== null && process.env.BT_WALK_WORKERS !== '0';
}

/** A walk worker thread: started idle, given one walk, read batch by batch. */
class WalkThread {
  private readonly worker: Worker;
  private readonly queue: WalkMessage[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  /** Batches the reader has taken, shared with the worker, which keeps only a few ahead of it. */
  private readonly taken = new Int32Array(new SharedArrayBuffer(4));

  constructor(file: string) {
    this.worker = new Worker(file, { resourceLimits: { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 64 } });
    // Listening from the start: a worker that fails while idle must not take the process down.
    this.worker.on('message', (m: WalkMessage) => {
      if (!('batch' in m)) this.ended = true;
      this.push(m);
    });
    this.worker.on('error', (err: NodeJS.ErrnoException) => {
      this.ended = true;
      this.push({ error: err.message, code: err.code });
    });
    this.worker.on('exit', (code) => {
      if (!this.ended) this.push({ error: `walk worker exited with code ${code}` });
    });
    // An idle worker, or a walk nobody reads (the caller failed first), does not hold the process open.
    this.worker.unref();
  }

  start(spec: WalkSpec): Walk {
    this.worker.postMessage({ spec, taken: this.taken.buffer as SharedArrayBuffer } satisfies WalkStart);
    return {
      [Symbol.asyncIterator]: () => this.read(),
      close: async () => {
        await this.worker.terminate();
      },
      buffered: () => this.queue.filter((m) => 'batch' in m).length,
    };
  }

  private push(m: WalkMessage): void {
    this.queue.push(m);
    this.wake?.();
  }

  private async *read(): AsyncGenerator<WalkBatch> {
    this.worker.ref();
    try {
      for (;;) {
        if (!this.queue.length) await new Promise<void>((r) => (this.wake = r));
        this.wake = null;
        const m = this.queue.shift()!;
        if ('batch' in m) {
          yield m.batch;
          Atomics.add(this.taken, 0, 1);
          Atomics.notify(this.taken, 0);
        } else if ('done' in m) return;
        else throw receiveError(m);
      }
    } finally {
      await this.worker.terminate();
    }
  }
}

/** A worker started ahead of the walk it will do (prepareWalkThread). */
let spare: WalkThread | null = null;

/**
 * Start a walk worker now, for the next startWalk to use. A command that
 * walks calls this before it loads the rest of bt, so that the worker's own
 * start-up (a thread, a V8 isolate, its modules) overlaps with that instead
 * of delaying the walk.
 */
export function prepareWalkThread(): void {
  if (!spare && useWorker()) spare = new WalkThread(WORKER!);
}

/**
 * A walk that runs on a worker thread from the moment it is started, read
 * batch by batch. The caller meanwhile loads the database's view of the same
 * files, so that both cores are busy. Without a compiled worker (or with
 * BT_WALK_WORKERS=0) the walk runs on this thread when first read.
 */
export function startWalk(req: WalkRequest): Walk {
  const spec: WalkSpec = { root: req.root, starts: [new Uint8Array(req.start)], patterns: req.patterns, exclude: req.exclude };
  if (!useWorker()) return inline(spec);
  const thread = spare ?? new WalkThread(WORKER!);
  spare = null;
  return thread.start(spec);
}

function inline(spec: WalkSpec): Walk {
  return {
    close: async () => {},
    buffered: () => 0,
    async *[Symbol.asyncIterator]() {
      yield* walkBatches(spec);
    },
  };
}
