import fs from 'node:fs';

export type FileKind = 'file' | 'symlink';

/** What bt records about a file at one moment: lstat at nanosecond precision, never following links. */
export interface FileMeta {
  kind: FileKind;
  size: number;
  mode: number; // permission bits only (st_mode & 0o7777)
  uid: number;
  gid: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint | null;
  ino: bigint;
  dev: bigint;
  linkTarget: Buffer | null;
}

export type StatResult =
  | { type: 'missing' }
  | { type: 'dir' }
  | { type: 'special'; what: string }
  | { type: 'entry'; meta: FileMeta };

/** What kind of special file an st_mode is (lstat's mode, file type bits included). */
export function specialKind(mode: number): string {
  switch (mode & fs.constants.S_IFMT) {
    case fs.constants.S_IFSOCK: return 'socket';
    case fs.constants.S_IFIFO: return 'fifo';
    case fs.constants.S_IFBLK: return 'block device';
    case fs.constants.S_IFCHR: return 'character device';
    default: return 'special file';
  }
}

export function metaFromStats(st: fs.BigIntStats, linkTarget: Buffer | null): FileMeta {
  return {
    kind: st.isSymbolicLink() ? 'symlink' : 'file',
    size: Number(st.size),
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    atimeNs: st.atimeNs,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    birthtimeNs: st.birthtimeNs > 0n ? st.birthtimeNs : null,
    ino: st.ino,
    dev: st.dev,
    linkTarget,
  };
}

/** lstat a path (bytes) and classify it. */
export function statPath(abs: Buffer): StatResult {
  let st: fs.BigIntStats | undefined;
  try {
    st = fs.lstatSync(abs, { bigint: true, throwIfNoEntry: false });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'ENOENT') return { type: 'missing' };
    throw err;
  }
  if (!st) return { type: 'missing' };
  if (st.isDirectory()) return { type: 'dir' };
  if (st.isFile()) return { type: 'entry', meta: metaFromStats(st, null) };
  if (st.isSymbolicLink()) {
    const target = fs.readlinkSync(abs, { encoding: 'buffer' });
    return { type: 'entry', meta: metaFromStats(st, target) };
  }
  return { type: 'special', what: specialKind(Number(st.mode)) };
}

/** True when the file differs from a recorded state in anything bt tracks (content aside). */
export function metaDiffers(a: Pick<FileMeta, 'kind' | 'size' | 'mode' | 'uid' | 'gid' | 'mtimeNs' | 'linkTarget'>, b: Pick<FileMeta, 'kind' | 'size' | 'mode' | 'uid' | 'gid' | 'mtimeNs' | 'linkTarget'>): boolean {
  if (a.kind !== b.kind || a.size !== b.size || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.mtimeNs !== b.mtimeNs) return true;
  if (a.kind === 'symlink') return !(a.linkTarget && b.linkTarget && a.linkTarget.equals(b.linkTarget));
  return false;
}

/** The same file, unchanged, between two stats taken around a read. */
export function sameVersion(a: FileMeta, b: FileMeta): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino;
}

/**
 * What drift detection compares, as one string: type, size, permission bits,
 * owner, mtime in nanoseconds and, for a symlink, its target in hex. The
 * database builds the same string from a file's current snapshot
 * (Database.driftPage), so that an unchanged file costs one string
 * comparison instead of a row of values per file.
 */
export function fingerprint(meta: Pick<FileMeta, 'kind' | 'size' | 'mode' | 'uid' | 'gid' | 'mtimeNs' | 'linkTarget'>): string {
  return fingerprintOf(meta.kind, meta.size, meta.mode, meta.uid, meta.gid, meta.mtimeNs, meta.linkTarget);
}

/** fingerprint() of the values themselves, as the native scanner has them (mtime as decimal nanoseconds). */
export function fingerprintOf(kind: FileKind, size: number, mode: number, uid: number, gid: number, mtimeNs: bigint | string, linkTarget: Buffer | null): string {
  return `${kind}:${size}:${mode}:${uid}:${gid}:${mtimeNs}:${linkTarget ? linkTarget.toString('hex') : ''}`;
}
