// Every error a user can see is a BtError: it carries the one-line message
// printed on stderr and the process exit code. Anything else is a bug and is
// reported with its stack only under --verbose.

export const ExitCode = {
  ok: 0,
  failure: 1, // the operation ran but did not fully succeed
  usage: 2, // bad arguments, bad config, wrong place
  notFound: 3, // a path, version, vault or host that does not exist
  locked: 4, // another bt run holds the lock
  vault: 5, // a vault is missing, unreachable or not writable
  io: 6, // the local filesystem refused (disk full, permission)
  // A bug: apart from 1, so that `dir status --exit-code` (1: changes found) never reads a crash as a result.
  internal: 70, // sysexits' EX_SOFTWARE
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class BtError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.failure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BtError';
  }
}

/** An error as a worker thread posts it to the thread that reports it. */
export interface PostedError {
  error: string;
  /** A system error's code (ENOENT, ...). */
  code?: string;
  /** A BtError's exit code: its message is then meant for the user as it is. */
  exitCode?: ExitCodeValue;
  stack?: string;
}

export function postError(err: unknown): PostedError {
  const e = err as NodeJS.ErrnoException;
  return { error: e?.message ?? String(err), code: e?.code, exitCode: err instanceof BtError ? err.exitCode : undefined, stack: e?.stack };
}

/** The posted error again, a BtError with its exit code when it was one, so that it is reported as it would have been on this thread. */
export function receiveError(p: PostedError): Error {
  const err = p.exitCode === undefined ? new Error(p.error) : new BtError(p.error, p.exitCode);
  return Object.assign(err, { code: p.code, stack: p.stack ?? `Error: ${p.error}` });
}

export class UsageError extends BtError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

export class ConfigError extends BtError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

export class NotFoundError extends BtError {
  constructor(message: string) {
    super(message, ExitCode.notFound);
  }
}

export class LockError extends BtError {
  constructor(message: string) {
    super(message, ExitCode.locked);
  }
}

export class VaultError extends BtError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.vault, options);
  }
}

/** An object a vault holds but cannot serve until it is restored from an archive storage class. */
export class ArchivedObjectError extends VaultError {
  constructor(message: string, readonly vault: string, readonly bucket: string, readonly key: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  /** The command that brings the object back from the archive. */
  get restoreCommand(): string {
    return `aws s3api restore-object --bucket ${this.bucket} --key ${this.key} --restore-request Days=7`;
  }
}

export class IoError extends BtError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.io, options);
  }
}

/** A short human description of a Node system error (ENOSPC → "no space left on device"). */
export function describeSystemError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES': return 'permission denied';
    case 'EPERM': return 'operation not permitted';
    case 'ENOSPC': return 'no space left on device';
    case 'EROFS': return 'read-only file system';
    case 'EISDIR': return 'is a directory';
    case 'ENOTDIR': return 'not a directory';
    case 'EEXIST': return 'already exists';
    case 'EIO': return 'input/output error';
    case 'EDQUOT': return 'disk quota exceeded';
    default: return e?.message ?? String(err);
  }
}
