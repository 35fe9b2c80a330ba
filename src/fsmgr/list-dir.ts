import fs from 'node:fs';
import { fingerprint, fingerprintOf, specialKind, statPath } from './stat.js';
import { F_ERRNO, F_GID, F_KIND, F_MODE, F_MTIME_NSEC, F_MTIME_SEC, F_SIZE, F_UID, FIELDS, K_DIR, K_ERROR, K_FILE, K_SPECIAL, errnoCode, nativeModule, type NativeListing, type NativeModule } from '../util/native.js';

/** What a walk finds at one name of a directory listing. */
export type Found =
  | { type: 'entry'; print: string }
  | { type: 'missing' }
  | { type: 'dir' }
  | { type: 'special'; what: string }
  | { type: 'error'; code: string };

/** A directory's entries, in the order the kernel lists them. */
export interface DirListing {
  readonly count: number;
  name(i: number): Buffer;
  /** Whether entry i is a directory, as the listing says (a later look may find otherwise). */
  isDir(i: number): boolean;
  /** Whether find() needs the entry's path (the JavaScript listing lstats by path; the native one has its numbers). */
  readonly needsPath: boolean;
  /** What entry i is, with the fingerprint of a file or symlink; `abs` is its path when needsPath. */
  find(i: number, abs: Buffer): Found;
}

/** List directory `abs` (with the native scanner when there is one), or return the code of the error that stopped it. */
export function listDir(abs: Buffer, native: NativeModule | null = nativeModule()): DirListing | string {
  if (native) {
    const r = native.scanDir(abs);
    return typeof r === 'number' ? errnoCode(r) : new ScannedListing(r);
  }
  try {
    return new DirentListing(fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' }));
  } catch (err) {
    return String((err as NodeJS.ErrnoException).code ?? err);
  }
}

/** Listed by readdir; each file lstat'ed by path when the walk comes to it. */
class DirentListing implements DirListing {
  readonly needsPath = true;

  constructor(private readonly dirents: fs.Dirent<Buffer>[]) {}

  get count(): number {
    return this.dirents.length;
  }

  name(i: number): Buffer {
    return this.dirents[i]!.name;
  }

  isDir(i: number): boolean {
    return this.dirents[i]!.isDirectory();
  }

  find(_i: number, abs: Buffer): Found {
    try {
      const st = statPath(abs);
      return st.type === 'entry' ? { type: 'entry', print: fingerprint(st.meta) } : st;
    } catch (err) {
      // A symlink gone between its lstat and its readlink, say.
      return failedLook(String((err as NodeJS.ErrnoException).code ?? err));
    }
  }
}

/** Listed and lstat'ed at once by the native scanner (native/bt-native.c). */
class ScannedListing implements DirListing {
  readonly needsPath = false;
  private readonly names: Buffer;
  private readonly links: Buffer;

  constructor(private readonly r: NativeListing) {
    this.names = Buffer.from(r.names.buffer, r.names.byteOffset, r.names.length);
    this.links = Buffer.from(r.links.buffer, r.links.byteOffset, r.links.length);
  }

  get count(): number {
    return this.r.ends.length;
  }

  name(i: number): Buffer {
    return this.names.subarray(i === 0 ? 0 : this.r.ends[i - 1], this.r.ends[i]);
  }

  isDir(i: number): boolean {
    return this.r.nums[i * FIELDS + F_KIND] === K_DIR;
  }

  find(i: number): Found {
    const n = this.r.nums;
    const at = i * FIELDS;
    switch (n[at + F_KIND]) {
      case K_DIR:
        return { type: 'dir' };
      case K_ERROR:
        return failedLook(errnoCode(n[at + F_ERRNO]!));
      case K_SPECIAL:
        return { type: 'special', what: specialKind(n[at + F_MODE]!) };
    }
    const kind = n[at + F_KIND] === K_FILE ? 'file' : 'symlink';
    const target = kind === 'symlink' ? this.links.subarray(i === 0 ? 0 : this.r.linkEnds[i - 1], this.r.linkEnds[i]) : null;
    const print = fingerprintOf(kind, n[at + F_SIZE]!, n[at + F_MODE]! & 0o7777, n[at + F_UID]!, n[at + F_GID]!, nsText(n[at + F_MTIME_SEC]!, n[at + F_MTIME_NSEC]!), target);
    return { type: 'entry', print };
  }
}

/** A look at an entry that failed with `code`: as statPath has it, a name gone since the listing is no file at all. */
function failedLook(code: string): Found {
  return code === 'ENOENT' || code === 'ENOTDIR' ? { type: 'missing' } : { type: 'error', code };
}

/** A time of seconds and nanoseconds as its decimal count of nanoseconds, the text of the BigInt lstat gives. */
export function nsText(sec: number, nsec: number): string {
  // Past 2^53 seconds a double prints in short form; the BigInt of the same double prints every digit, as lstat's does.
  if (sec > 0 && Number.isSafeInteger(sec)) return `${sec}${String(nsec).padStart(9, '0')}`;
  if (sec === 0) return `${nsec}`;
  return String(BigInt(sec) * 1_000_000_000n + BigInt(nsec));
}
