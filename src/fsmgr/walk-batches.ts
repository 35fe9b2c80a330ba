import { compileIgnore } from './ignore.js';
import { walkFiles } from './walk.js';

/** What a walk needs, in a form that can be posted to a worker thread. */
export interface WalkSpec {
  root: string;
  /** Directories to walk below the root (bytes; an empty one is the root). */
  starts: Uint8Array[];
  /** Ignore patterns (config list and .btignore), compiled by whoever walks. */
  patterns: string[];
  /** Absolute paths never entered. */
  exclude: string[];
}

/**
 * A slice of a walk, packed so that posting it between threads copies a few
 * large values rather than thousands of small objects: the relative names
 * back to back in `names` (entry i ends at ends[i]), and their fingerprints
 * joined by newlines (a fingerprint never holds one).
 */
export interface WalkBatch {
  names: Uint8Array;
  ends: Uint32Array;
  prints: string;
  skips: Array<{ rel: Uint8Array; why: string }>;
}

const BATCH = 2048;

/** Batches a walker thread posts ahead of its reader at most: a walk of a million files must not queue up in the reader's memory. */
export const WALK_AHEAD = 4;

/** Walk synchronously, handing over a batch every BATCH files. */
export function walkInBatches(spec: WalkSpec, onBatch: (b: WalkBatch) => void): void {
  for (const b of walkBatches(spec)) onBatch(b);
}

/** The walk as a lazy sequence of batches of up to BATCH files, in the walk's (name) order. */
export function* walkBatches(spec: WalkSpec): Generator<WalkBatch> {
  let names: Buffer[] = [];
  let prints: string[] = [];
  let skips: WalkBatch['skips'] = [];
  const pack = (): WalkBatch => {
    let total = 0;
    for (const n of names) total += n.length;
    // A fresh ArrayBuffer of its own (never the Buffer pool), so that it can be transferred.
    const packed = new Uint8Array(total);
    const ends = new Uint32Array(names.length);
    let at = 0;
    for (let i = 0; i < names.length; i++) {
      packed.set(names[i]!, at);
      at += names[i]!.length;
      ends[i] = at;
    }
    const batch = { names: packed, ends, prints: prints.join('\n'), skips };
    names = [];
    prints = [];
    skips = [];
    return batch;
  };
  const ignore = compileIgnore(spec.patterns);
  const starts = spec.starts.map((s) => Buffer.from(s.buffer, s.byteOffset, s.length));
  const onSkip = (rel: Buffer, why: string) => skips.push({ rel: new Uint8Array(rel), why });
  for (const e of walkFiles({ root: spec.root, starts, ignore, exclude: spec.exclude, onSkip })) {
    names.push(e.rel);
    prints.push(e.print);
    if (names.length >= BATCH) yield pack();
  }
  if (names.length || skips.length) yield pack();
}
