import fs from 'node:fs';
import { withSlash } from './paths.js';
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
  // Every path below the root is this prefix and then the relative name, so
  // one buffer per file holds both: the absolute path, and a view of its tail.
  const rootPrefix = withSlash(rootBuf);
  const relAt = rootPrefix.length;
  const excluded = opts.exclude.map((e) => Buffer.from(e));
  // Reversed so that pop() visits the starts in the order given.
  const stack: Buffer[] = [...opts.starts].reverse();
  while (stack.length) {
    const rel = stack.pop()!;
    const abs = rel.length ? Buffer.concat([rootPrefix, rel]) : rootBuf;
    const prefix = rel.length ? withSlash(abs) : rootPrefix;
    let entries: fs.Dirent<Buffer>[];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      opts.onSkip(rel, `cannot read directory: ${(err as NodeJS.ErrnoException).code ?? err}`);
      continue;
    }
    const subdirs: Buffer[] = [];
    for (const d of entries) {
      const childAbs = Buffer.concat([prefix, d.name], prefix.length + d.name.length);
      const childRel = childAbs.subarray(relAt);
      const relText = childRel.toString('utf8');
      if (d.isDirectory()) {
        if (excluded.some((e) => e.equals(childAbs))) continue;
        if (opts.ignore(relText, true)) continue;
        subdirs.push(childRel);
        continue;
      }
      if (opts.ignore(relText, false)) continue;
      let st;
      try {
        st = statPath(childAbs);
      } catch (err) {
        opts.onSkip(childRel, `cannot stat: ${(err as NodeJS.ErrnoException).code ?? err}`);
        continue;
      }
      if (st.type === 'entry') yield { rel: childRel, meta: st.meta };
      else if (st.type === 'special') opts.onSkip(childRel, `skipped ${st.what}`);
      else if (st.type === 'dir') subdirs.push(childRel); // raced from file to dir
    }
    // Reverse so that pop() visits subdirectories in directory order.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }
}
