import fs from 'node:fs';

const SLASH = 0x2f;

/**
 * `mkdir -p`: create `dir` and any missing parents; nothing when it is
 * already a directory. Node 20's `mkdirSync(p, { recursive: true })` loops
 * forever where mkdir keeps failing with ENOENT under a parent that exists
 * (under /proc, for one), so that a mistyped --target or vault path hung bt
 * without a word. Here each level is tried once and its error thrown.
 * `made`, when given, receives each directory this call created, parents
 * first (a restore that fails removes them again).
 */
export function makeDirs(dir: string | Buffer, made?: Buffer[]): void {
  const p = typeof dir === 'string' ? Buffer.from(dir) : dir;
  try {
    fs.mkdirSync(p);
    made?.push(Buffer.from(p));
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (isDirectory(p)) return;
      // A file in the way: that it "exists" would say nothing useful.
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${p.toString()}'`), { code: 'ENOTDIR', path: p.toString() });
    }
    const parent = parentOf(p);
    if (code !== 'ENOENT' || parent === null) throw err;
    makeDirs(parent, made);
  }
  try {
    fs.mkdirSync(p);
    made?.push(Buffer.from(p));
  } catch (err) {
    // Made meanwhile by someone else: as good as made here.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !isDirectory(p)) throw err;
  }
}

function isDirectory(p: Buffer): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** The parent of an absolute or relative path, or null at the top (`/` or a single name). */
function parentOf(p: Buffer): Buffer | null {
  let end = p.length;
  while (end > 1 && p[end - 1] === SLASH) end--;
  const slash = p.lastIndexOf(SLASH, end - 1);
  if (slash < 0) return null;
  if (slash === 0) return end > 1 ? p.subarray(0, 1) : null;
  return p.subarray(0, slash);
}
