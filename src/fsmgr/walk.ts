import { SLASH_BYTES, withSlash } from './paths.js';
import { listDir, type DirListing } from './list-dir.js';
import type { IgnoreMatcher } from './ignore.js';

/** Where a walk puts what it finds, as it finds it. */
export interface WalkSink {
  /** A regular file or symlink: its relative name is `dir` (empty, or ending in a slash) and then `name`. */
  file(dir: Buffer, name: Buffer, print: string): void;
  /** Something below the root that is not walked, and why. */
  skip(rel: Buffer, why: string): void;
  /** True when the sink has enough for now: the walk then yields, and goes on when resumed. */
  readonly full: boolean;
}

export interface WalkOptions {
  /** Absolute root of the tracked directory. */
  root: string;
  /** Directories to walk below the root (bytes, "" for the root itself). */
  starts: Buffer[];
  ignore: IgnoreMatcher;
  /** Absolute paths never entered (bt's own base_dir). */
  exclude: string[];
}

/** A directory's entries in the walk's order, and how far the walk has come through them. */
interface Frame {
  /** The directory's absolute path with a trailing slash. */
  prefix: Buffer;
  /** Its path relative to the root, with a trailing slash (empty for the root): a view of `prefix`. */
  rel: Buffer;
  listing: DirListing;
  /** The entries in the walk's order, ignored names left out; a directory's key ends in a slash. */
  children: Array<{ at: number; isDir: boolean; key: Buffer }>;
  next: number;
}

/**
 * Depth-first walk handing regular files and symlinks to `sink`, in the byte
 * order of their relative names: the order of the database's `ORDER BY
 * name`, so that drift detection can merge the two as streams instead of
 * holding either whole. Within a directory, a subdirectory sorts as its name
 * and a slash (its files' names begin so), and is walked where it sorts.
 * Synchronous on purpose: lstat through the thread pool costs several times
 * more per file than a direct call, and the unchanged re-run is dominated by
 * these calls (hence the native scanner, list-dir.ts, where it is built).
 * A file's name reaches the sink as a view of the listing, which the sink
 * copies; its path is built only for the JavaScript listing's lstat, or for
 * a skip.
 */
export function* walkFiles(opts: WalkOptions, sink: WalkSink): Generator<void> {
  const rootBuf = Buffer.from(opts.root);
  const rootPrefix = withSlash(rootBuf);
  const relAt = rootPrefix.length;
  const excluded = opts.exclude.map((e) => Buffer.from(e));
  const open = (rel: Buffer): Frame | null => {
    const abs = rel.length ? Buffer.concat([rootPrefix, rel]) : rootBuf;
    const prefix = rel.length ? withSlash(abs) : rootPrefix;
    const listing = listDir(abs);
    if (typeof listing === 'string') {
      // A subdirectory deleted since its parent was listed is simply gone (its tracked files are deletions), as a
      // file is; only one that is there and cannot be read is reported.
      if (rel.length && (listing === 'ENOENT' || listing === 'ENOTDIR')) return null;
      sink.skip(rel, `cannot read directory: ${listing}`);
      return null;
    }
    const children: Frame['children'] = [];
    // Decoding the directory's part once is the same as decoding each whole name: they meet at a '/'.
    const dirText = prefix.subarray(relAt).toString('utf8');
    for (let at = 0; at < listing.count; at++) {
      const name = listing.name(at);
      const isDir = listing.isDir(at);
      if (isDir && excluded.length && excluded.some((e) => e.length === prefix.length + name.length && e.equals(Buffer.concat([prefix, name])))) continue;
      const nameText = name.toString('utf8');
      if (opts.ignore(dirText + nameText, isDir, nameText)) continue;
      children.push({ at, isDir, key: isDir ? Buffer.concat([name, SLASH_BYTES]) : name });
    }
    children.sort((a, b) => Buffer.compare(a.key, b.key));
    return { prefix, rel: prefix.subarray(relAt), listing, children, next: 0 };
  };
  const push = (stack: Frame[], rel: Buffer) => {
    const f = open(rel);
    if (f) stack.push(f);
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
      if (child.isDir) {
        push(stack, Buffer.concat([top.rel, child.key.subarray(0, child.key.length - 1)]));
        continue;
      }
      const name = child.key;
      const found = top.listing.find(child.at, top.listing.needsPath ? Buffer.concat([top.prefix, name]) : top.prefix);
      switch (found.type) {
        case 'entry':
          sink.file(top.rel, name, found.print);
          if (sink.full) yield;
          break;
        case 'error':
          sink.skip(Buffer.concat([top.rel, name]), `cannot stat: ${found.code}`);
          break;
        case 'special':
          sink.skip(Buffer.concat([top.rel, name]), `skipped ${found.what}`);
          break;
        case 'dir':
          // Raced from file to directory: walked now, a little out of order (drift detection allows for that).
          push(stack, Buffer.concat([top.rel, name]));
          break;
      }
    }
  }
}
