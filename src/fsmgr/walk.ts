import fs from 'node:fs';
import { SLASH_BYTES, withSlash } from './paths.js';
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

/** A directory's entries in the walk's order, and how far the walk has come through them. */
interface Frame {
  /** The directory's absolute path with a trailing slash. */
  prefix: Buffer;
  children: Array<{ name: Buffer; isDir: boolean }>;
  next: number;
}

/**
 * Depth-first walk yielding regular files and symlinks, in the byte order of
 * their relative names: the order of the database's `ORDER BY name`, so that
 * drift detection can merge the two as streams instead of holding either
 * whole. Within a directory, a subdirectory sorts as its name and a slash
 * (its files' names begin so), and is walked where it sorts. Synchronous on
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
  const open = (rel: Buffer): Frame | null => {
    const abs = rel.length ? Buffer.concat([rootPrefix, rel]) : rootBuf;
    const prefix = rel.length ? withSlash(abs) : rootPrefix;
    let entries: fs.Dirent<Buffer>[];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      opts.onSkip(rel, `cannot read directory: ${(err as NodeJS.ErrnoException).code ?? err}`);
      return null;
    }
    const keyed: Array<{ name: Buffer; isDir: boolean; key: Buffer }> = [];
    // Decoding the directory's part once is the same as decoding each whole name: they meet at a '/'.
    const dirText = prefix.subarray(relAt).toString('utf8');
    for (const d of entries) {
      const isDir = d.isDirectory();
      if (isDir) {
        const childAbs = Buffer.concat([prefix, d.name]);
        if (excluded.some((e) => e.equals(childAbs))) continue;
      }
      if (opts.ignore(dirText + d.name.toString('utf8'), isDir)) continue;
      keyed.push({ name: d.name, isDir, key: isDir ? Buffer.concat([d.name, SLASH_BYTES]) : d.name });
    }
    keyed.sort((a, b) => Buffer.compare(a.key, b.key));
    return { prefix, children: keyed, next: 0 };
  };
  for (const start of opts.starts) {
    const first = open(start);
    const stack: Frame[] = first ? [first] : [];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const child = top.children[top.next++];
      if (!child) {
        stack.pop();
        continue;
      }
      const childAbs = Buffer.concat([top.prefix, child.name], top.prefix.length + child.name.length);
      const childRel = childAbs.subarray(relAt);
      if (child.isDir) {
        const f = open(childRel);
        if (f) stack.push(f);
        continue;
      }
      let st;
      try {
        st = statPath(childAbs);
      } catch (err) {
        opts.onSkip(childRel, `cannot stat: ${(err as NodeJS.ErrnoException).code ?? err}`);
        continue;
      }
      if (st.type === 'entry') yield { rel: childRel, meta: st.meta };
      else if (st.type === 'special') opts.onSkip(childRel, `skipped ${st.what}`);
      else if (st.type === 'dir') {
        // Raced from file to directory: walked now, a little out of order (drift detection allows for that).
        const f = open(childRel);
        if (f) stack.push(f);
      }
    }
  }
}
