export interface DirectoryRow {
  id: string;
  path: string;
  createdAt: number;
  removedAt: number | null;
}

export interface FileRow {
  id: string;
  directoryId: string;
  name: Buffer;
  currentSnapshotId: string | null;
  deleted: boolean;
}

export interface SnapshotRow {
  id: string;
  fileId: string;
  contentId: string | null;
  createdAt: number; // ms since epoch
  backupRunId: string | null;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint | null;
  fileType: 'file' | 'symlink';
  linkTarget: Buffer | null;
  deleted: boolean;
}

/** What writing a version back to disk needs of it: a restore of a tree reads one per file. */
export type RestorableVersion = Pick<SnapshotRow, 'contentId' | 'size' | 'mode' | 'uid' | 'gid' | 'atimeNs' | 'mtimeNs' | 'fileType' | 'linkTarget'>;

/**
 * A file and the parts of its current snapshot that drift detection compares:
 * a lean row, since status and backup -a load one for every file.
 */
export interface TrackedFile {
  id: string;
  name: Buffer;
  deleted: boolean;
  current: null | {
    fileType: 'file' | 'symlink';
    size: number;
    mode: number;
    uid: number;
    gid: number;
    /** Decimal nanoseconds: comparing text avoids a BigInt per row. */
    mtimeNs: string;
    ctimeNs: string;
    contentId: string | null;
    linkTarget: Buffer | null;
  };
}

export type NewSnapshot = Omit<SnapshotRow, 'id' | 'fileId' | 'createdAt' | 'backupRunId'>;

export interface BackupRunRow {
  id: string;
  startedAt: number;
  endedAt: number | null;
  status: string;
  filesStored: number;
  filesUnchanged: number;
  filesDeleted: number;
  filesFailed: number;
  bytesNew: number;
  bytesDedup: number;
}

export interface DirectorySummary extends DirectoryRow {
  files: number;
  lastBackupAt: number | null;
}
