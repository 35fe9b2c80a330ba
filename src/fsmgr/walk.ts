import { SLASH_BYTES, withSlash } from './paths.js';
import { listDir, type DirListing } from './list-dir.js';
import type { IgnoreMatcher } from './ignore.js';

export interface WalkEntry {
  rel: Buffer;
  /** The file's fingerprint() as the walk found it. */
  print: string;
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
  listing: DirListing;
  /** Indexes into the listing, in the walk's order, ignored names left out. */
  children: Array<{ at: number; isDir: boolean }>;
  next: number;
}

/**
 * Depth-first walk yielding regular files and symlinks, in the byte order of
 * their relative names: the order of the database's `ORDER BY name`, so that
 * drift detection can merge the two as streams instead of holding either
 * whole. Within a directory, a subdirectory sorts as its name and a slash
 * (its files' names begin so), and is walked where it sorts. Synchronous on
 * purpose: lstat through the thread pool costs several times more per file
 * than a direct call, and the unchanged re-run is dominated by these calls
 * (hence the native scanner, list-dir.ts, where it is built).
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
    const listing = listDir(abs);
    if (typeof listing === 'string') {
      opts.onSkip(rel, `cannot read directory: ${listing}`);
      return null;
    }
    const keyed: Array<{ at: number; isDir: boolean; key: Buffer }> = [];
    // Decoding the directory's part once is the same as decoding each whole name: they meet at a '/'.
    const dirText = prefix.subarray(relAt).toString('utf8');
    for (let at = 0; at < listing.count; at++) {
      const name = listing.name(at);
      const isDir = listing.isDir(at);
      if (isDir) {
        const childAbs = Buffer.concat([prefix, name]);
        if (excluded.some((e) => e.equals(childAbs))) continue;
      }
      if (opts.ignore(dirText + name.toString('utf8'), isDir)) continue;
      keyed.push({ at, isDir, key: isDir ? Buffer.concat([name, SLASH_BYTES]) : name });
    }
    keyed.sort((a, b) => Buffer.compare(a.key, b.key));
    return { prefix, listing, children: keyed, next: 0 };
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
      const name = top.listing.name(child.at);
      const childAbs = Buffer.concat([top.prefix, name], top.prefix.length + name.length);
      const childRel = childAbs.subarray(relAt);
      if (child.isDir) {
        const f = open(childRel);
        if (f) stack.push(f);
        continue;
      }
      const found = top.listing.find(child.at, childAbs);
      if (found.type === 'entry') yield { rel: childRel, print: found.print };
      else if (found.type === 'error') opts.onSkip(childRel, `cannot stat: ${found.code}`);
      else if (found.type === 'special') opts.onSkip(childRel, `skipped ${found.what}`);
      else if (found.type === 'dir') {
        // Raced from file to directory: walked now, a little out of order (drift detection allows for that).
        const f = open(childRel);
        if (f) stack.push(f);
      }
    }
  }
}
