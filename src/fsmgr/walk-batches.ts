import { compileIgnore } from './ignore.js';
import { walkFiles, type WalkSink } from './walk.js';

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
  const batch = new BatchBuilder();
  const ignore = compileIgnore(spec.patterns);
  const starts = spec.starts.map((s) => Buffer.from(s.buffer, s.byteOffset, s.length));
  for (const _ of walkFiles({ root: spec.root, starts, ignore, exclude: spec.exclude }, batch)) yield batch.take();
  if (!batch.empty) yield batch.take();
}

/** Files as the walk hands them over, written straight into one growing buffer of names. */
class BatchBuilder implements WalkSink {
  private bytes = new Uint8Array(1 << 16);
  private used = 0;
  private ends: number[] = [];
  private prints: string[] = [];
  private skips: WalkBatch['skips'] = [];

  get full(): boolean {
    return this.ends.length >= BATCH;
  }

  get empty(): boolean {
    return this.ends.length === 0 && this.skips.length === 0;
  }

  file(dir: Buffer, name: Buffer, print: string): void {
    const end = this.used + dir.length + name.length;
    if (end > this.bytes.length) {
      const bigger = new Uint8Array(Math.max(end, this.bytes.length * 2));
      bigger.set(this.bytes.subarray(0, this.used));
      this.bytes = bigger;
    }
    this.bytes.set(dir, this.used);
    this.bytes.set(name, this.used + dir.length);
    this.used = end;
    this.ends.push(end);
    this.prints.push(print);
  }

  skip(rel: Buffer, why: string): void {
    this.skips.push({ rel: new Uint8Array(rel), why });
  }

  /** The batch so far, in buffers of its own (so that they can be transferred); the builder starts over. */
  take(): WalkBatch {
    const batch = { names: this.bytes.slice(0, this.used), ends: Uint32Array.from(this.ends), prints: this.prints.join('\n'), skips: this.skips };
    this.used = 0;
    this.ends = [];
    this.prints = [];
    this.skips = [];
    return batch;
  }
}
