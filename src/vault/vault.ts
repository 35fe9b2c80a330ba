// The one small interface every vault implements. A vault stores opaque
// objects by key: content objects named by the SHA-256 of their bytes, and
// metadata files grouped by host. It knows nothing of files or snapshots.

/** Bytes to store: either a file on disk, re-read and verified while stored, or a buffer already hashed by the caller. */
export type ContentSource = { path: Buffer | string; size: number } | { data: Buffer };

/** A content object as a listing of the vault finds it. */
export interface HeldObject {
  id: string;
  size: number;
}

export interface VaultInitOptions {
  /** Create missing buckets (S3); other kinds ignore it. */
  createBucket?: boolean;
}

export interface Vault {
  readonly name: string;
  readonly kind: string;
  /** Where it is, for messages: a path or a URL. */
  readonly location: string;

  /** Create the layout and the format marker; safe to run again. */
  init(opts?: VaultInitOptions): Promise<void>;
  /** Fails with a VaultError naming the cause unless the vault is initialised, readable and writable (a write/read/delete round trip). */
  validateSetup(): Promise<void>;
  /** Fails unless the vault is initialised; cheap, run before a backup uses it. */
  open(): Promise<void>;

  /** Whether an object is held (and, when size is given, has that size). */
  hasContent(id: string, size?: number): Promise<boolean>;
  /**
   * Store an object under its SHA-256. Idempotent: an object already held is
   * not written again. For a path source the bytes are hashed as they are
   * written and a mismatch with `id` throws ContentChangedError, so an object
   * never holds bytes other than its name says. Durable only after flush().
   */
  putContent(id: string, source: ContentSource): Promise<'stored' | 'exists'>;
  /**
   * Store a file whose id is not known yet: the vault hashes the bytes as it
   * writes them and names the object by that hash. Saves reading a file
   * twice where a vault can write before it knows the key (a filesystem).
   * Durable after flush(), like putContent.
   */
  putFile?(path: Buffer | string): Promise<{ id: string; size: number; result: 'stored' | 'exists' }>;
  /**
   * A hint that about `count` puts follow. A vault may prepare: an S3 vault
   * lists what it holds once instead of asking per object. Never fails.
   */
  expectPuts?(count: number): Promise<void>;
  /** Make every put so far durable and visible. */
  flush(): Promise<void>;
  /** Stream an object to outputPath, verifying its SHA-256; a mismatch throws. */
  getContent(id: string, outputPath: string | Buffer): Promise<void>;
  /**
   * Every content object the vault durably holds, with its size, in no set
   * order (puts not yet flushed are left out). Streamed, a shard directory
   * or a page of keys at a time, so that a vault of millions of objects is
   * never held in memory: it is what the database's records of a vault are
   * checked against when they may not be true (after `bt recover`). A vault
   * shared by several hosts lists their objects too. Fails with a VaultError.
   */
  listContent(): AsyncIterable<HeldObject>;

  putMetadata(hostId: string, name: string, sourcePath: string): Promise<void>;
  /** Metadata file names for a host, sorted ascending. */
  listMetadata(hostId: string): Promise<string[]>;
  getMetadata(hostId: string, name: string, outputPath: string): Promise<void>;
  deleteMetadata(hostId: string, name: string): Promise<void>;
  /** Hosts that have metadata in this vault. */
  listHosts(): Promise<string[]>;

  close(): Promise<void>;
}

export const VAULT_FORMAT = 'bt-vault';
export const VAULT_FORMAT_VERSION = 1;
export const VAULT_MARKER = 'bt-vault.json';

export class ContentChangedError extends Error {
  constructor(readonly expected: string, readonly actual: string) {
    super(`content changed while being stored: expected ${expected}, read ${actual}`);
    this.name = 'ContentChangedError';
  }
}

export function isContentId(id: string): boolean {
  return /^[0-9a-f]{64}$/.test(id);
}
