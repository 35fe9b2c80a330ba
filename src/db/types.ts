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

/**
 * One file's outcome of a backup commit, for Database.recordBackup. Plain
 * data, since it may cross to the record thread: names and link targets are
 * latin1 strings (one char per byte), because a Buffer would carry its whole
 * pool slab across.
 */
export type BackupRecord =
  | { kind: 'delete'; directoryId: string; name: string }
  | {
      kind: 'version';
      directoryId: string;
      name: string;
      /** The file's row, or null for a file new to the database. */
      fileId: string | null;
      /** Same content and metadata as its current version: no new version, only the content placement. */
      unchanged: boolean;
      /** The vaults the content was put to this commit. */
      vaults: string[];
      snap: Omit<NewSnapshot, 'linkTarget' | 'deleted'> & { linkTarget: string | null };
    };

/**
 * What recordBackup did with a record. 'skipped': a deletion of a file with
 * no live version; 'no-vault': no vault holds the content durably, so nothing
 * was recorded and the file stays staged.
 */
export type BackupRecordResult = 'deleted' | 'unchanged' | 'stored' | 'skipped' | 'no-vault';
