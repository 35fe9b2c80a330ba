import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerFile } from '../util/worker-file.js';
import { walkInBatches, type WalkBatch, type WalkSpec } from './walk-batches.js';
import type { WalkMessage } from './walk-worker.js';

export type { WalkBatch } from './walk-batches.js';

export interface WalkRequest {
  root: string;
  /** Where to start below the root (bytes, empty for the root). */
  start: Buffer;
  patterns: string[];
  exclude: string[];
}

const WORKER = workerFile('fsmgr/walk-worker');
// One worker by default: on two cores, the walk on one and the database on the other measured
// faster than two walk workers, which compete with the main thread and each pay a thread start.
function workerCount(): number {
  const asked = process.env.BT_WALK_WORKERS;
  if (asked === '0' || !WORKER) return 0;
  return Math.max(1, Math.min(Number(asked) || 1, os.availableParallelism?.() ?? os.cpus().length));
}
/** Levels walked on this thread before the directories below are shared out. */
const TOP_LEVELS = 1;

/**
 * A walk that runs on worker threads from the moment it is started, read
 * batch by batch. With more than one worker (BT_WALK_WORKERS=N), this thread
 * walks the top of the tree itself and shares the directories below among
 * them. The caller meanwhile loads the
 * database's view of the same files, so that every core is busy. Without a
 * compiled worker (or with BT_WALK_WORKERS=0) the walk runs on this thread
 * when first read.
 */
export function startWalk(req: WalkRequest): AsyncIterable<WalkBatch> {
  const spec: WalkSpec = { root: req.root, starts: [req.start], patterns: req.patterns, exclude: req.exclude };
  const count = workerCount();
  if (!WORKER || count === 0) return inline(spec);
  const top: WalkBatch[] = [];
  const below: Buffer[] = [];
  if (count === 1) below.push(req.start);
  else walkInBatches(spec, (b) => top.push(b), { maxDepth: TOP_LEVELS, onDeferred: (rel) => below.push(rel) });
  const shares: Uint8Array[][] = Array.from({ length: Math.min(count, below.length) }, () => []);
  // Round robin over many directories evens out their sizes well enough.
  below.forEach((rel, i) => shares[i % shares.length]!.push(new Uint8Array(rel)));
  const queue: WalkMessage[] = [];
  let wake: (() => void) | null = null;
  const push = (m: WalkMessage) => {
    queue.push(m);
    wake?.();
  };
  const workers = shares.map((starts) => {
    const w = new Worker(WORKER, { workerData: { ...spec, starts } satisfies WalkSpec, resourceLimits: { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 64 } });
    let ended = false;
    w.on('message', (m: WalkMessage) => {
      if (!('batch' in m)) ended = true;
      push(m);
    });
    w.on('error', (err: NodeJS.ErrnoException) => {
      ended = true;
      push({ error: err.message, code: err.code });
    });
    w.on('exit', (code) => {
      if (!ended) push({ error: `walk worker exited with code ${code}` });
    });
    // A walk nobody reads (the caller failed first) does not hold the process open.
    w.unref();
    return w;
  });
  return {
    async *[Symbol.asyncIterator]() {
      for (const w of workers) w.ref();
      try {
        yield* top;
        let running = workers.length;
        while (running > 0) {
          if (!queue.length) await new Promise<void>((r) => (wake = r));
          wake = null;
          const m = queue.shift()!;
          if ('batch' in m) yield m.batch;
          else if ('done' in m) running--;
          else throw Object.assign(new Error(m.error), { code: m.code });
        }
      } finally {
        await Promise.all(workers.map((w) => w.terminate()));
      }
    },
  };
}

function inline(spec: WalkSpec): AsyncIterable<WalkBatch> {
  return {
    async *[Symbol.asyncIterator]() {
      const batches: WalkBatch[] = [];
      walkInBatches(spec, (b) => batches.push(b));
      yield* batches;
    },
  };
}
