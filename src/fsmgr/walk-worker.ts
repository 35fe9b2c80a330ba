// Worker thread: walk a tree (readdir, lstat, ignore rules) and post packed
// batches of names and fingerprints, so that the walk runs on one core while
// the main thread compares them with what the database knows. The worker may
// start before its walk is known (prepareWalkThread), so the walk comes as
// its first message.
import { parentPort } from 'node:worker_threads';
import { postError, type PostedError } from '../errors.js';
import { WALK_AHEAD, walkBatches, type WalkBatch, type WalkSpec } from './walk-batches.js';

export type WalkMessage = { batch: WalkBatch } | { done: true } | PostedError;

/** The walk, and a counter of the batches the reader has taken (shared), so that the walk stays a few batches ahead. */
export interface WalkStart {
  spec: WalkSpec;
  taken: SharedArrayBuffer;
}

parentPort!.once('message', ({ spec, taken }: WalkStart) => {
  const counter = new Int32Array(taken);
  let posted = 0;
  try {
    for (const batch of walkBatches(spec)) {
      parentPort!.postMessage({ batch } satisfies WalkMessage, [batch.names.buffer as ArrayBuffer, batch.ends.buffer as ArrayBuffer]);
      posted++;
      for (;;) {
        const got = Atomics.load(counter, 0);
        if (posted - got < WALK_AHEAD) break;
        // The reader's notify wakes it; the timeout only bounds a missed wake-up. A reader that stops
        // reading terminates this worker (parallel-walk's read()), which interrupts the wait.
        Atomics.wait(counter, 0, got, 1000);
      }
    }
    parentPort!.postMessage({ done: true } satisfies WalkMessage);
  } catch (err) {
    parentPort!.postMessage(postError(err) satisfies WalkMessage);
  }
});
