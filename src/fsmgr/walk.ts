import fs from 'node:fs';
import { joinBytes } from './paths.js';
import { statPath, type FileMeta } from './stat.js';
import type { IgnoreMatcher } from './ignore.js';

export interface WalkEntry {
  rel: Buffer;
  meta: FileMeta;
}

export interface WalkOptions {
  /** Absolute root of the tracked directory. */
  root: string;
  /** Directories to walk below the root (bytes, "" for the root itself). */
  starts: Buffer[];
  /**
   * With a limit, a directory more than this many levels below its start is
   * not entered but handed to onDeferred: a caller walks the top of a tree
   * and shares the rest out among worker threads.
   */
  maxDepth?: number;
  onDeferred?: (rel: Buffer) => void;
  ignore: IgnoreMatcher;
  /** Absolute paths never entered (bt's own base_dir). */
  exclude: string[];
  onSkip: (rel: Buffer, why: string) => void;
}

/**
 * Depth-first walk yielding regular files and symlinks. Synchronous on
 * purpose: lstat through the thread pool costs several times more per file
 * than a direct call, and the unchanged re-run is dominated by these calls.
 */
export function* walkFiles(opts: WalkOptions): Generator<WalkEntry> {
  const rootBuf = Buffer.from(opts.root);
  const excluded = opts.exclude.map((e) => Buffer.from(e));
  // Reversed so that pop() visits the starts in the order given.
  const stack: Array<{ rel: Buffer; depth: number }> = opts.starts.map((rel) => ({ rel, depth: 0 })).reverse();
  const maxDepth = opts.maxDepth ?? Infinity;
  while (stack.length) {
    const { rel, depth } = stack.pop()!;
    const abs = rel.length ? joinBytes(rootBuf, rel) : rootBuf;
    let entries: fs.Dirent<Buffer>[];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      opts.onSkip(rel, `cannot read directory: ${(err as NodeJS.ErrnoException).code ?? err}`);
      continue;
    }
    const subdirs: Buffer[] = [];
    for (const d of entries) {
      const childRel = rel.length ? joinBytes(rel, d.name) : d.name;
      const relText = childRel.toString('utf8');
      if (d.isDirectory()) {
        const childAbs = joinBytes(rootBuf, childRel);
        if (excluded.some((e) => e.equals(childAbs))) continue;
        if (opts.ignore(relText, true)) continue;
        subdirs.push(childRel);
        continue;
      }
      if (opts.ignore(relText, false)) continue;
      let st;
      try {
        st = statPath(joinBytes(rootBuf, childRel));
      } catch (err) {
        opts.onSkip(childRel, `cannot stat: ${(err as NodeJS.ErrnoException).code ?? err}`);
        continue;
      }
      if (st.type === 'entry') yield { rel: childRel, meta: st.meta };
      else if (st.type === 'special') opts.onSkip(childRel, `skipped ${st.what}`);
      else if (st.type === 'dir') subdirs.push(childRel); // raced from file to dir
    }
    if (depth + 1 > maxDepth) {
      for (const d of subdirs) opts.onDeferred!(d);
      continue;
    }
    // Reverse so that pop() visits subdirectories in directory order.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push({ rel: subdirs[i]!, depth: depth + 1 });
  }
}
