// Worker thread: walk a tree (readdir, lstat, ignore rules) and post packed
// batches of names and fingerprints, so that the walk runs on one core while
// the main thread loads what the database knows about the same files. The
// worker may start before its walk is known (prepareWalkThread), so the walk
// comes as its first message.
import { parentPort } from 'node:worker_threads';
import { walkInBatches, type WalkBatch, type WalkSpec } from './walk-batches.js';

export type WalkMessage = { batch: WalkBatch } | { done: true } | { error: string; code?: string };

parentPort!.once('message', (spec: WalkSpec) => {
  try {
    walkInBatches(spec, (batch) => {
      parentPort!.postMessage({ batch } satisfies WalkMessage, [batch.names.buffer as ArrayBuffer, batch.ends.buffer as ArrayBuffer]);
    });
    parentPort!.postMessage({ done: true } satisfies WalkMessage);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    parentPort!.postMessage({ error: e.message ?? String(err), code: e.code } satisfies WalkMessage);
  }
});
