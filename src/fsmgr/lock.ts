import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LockError } from '../errors.js';
import { pidAlive } from '../util/pid.js';
import { makeDirs } from '../util/make-dirs.js';

export interface HostLock {
  release(): void;
}


/**
 * One bt run at a time per host. The lock file is created with O_EXCL and
 * holds the owner's pid; a lock whose pid is dead (the run was killed) is
 * taken over, and `onStale` is told so the user sees it.
 */
export function acquireLock(baseDir: string, command: string, onStale: (msg: string) => void): HostLock {
  makeDirs(baseDir);
  const lockPath = path.join(baseDir, 'lock');
  const body = JSON.stringify({ pid: process.pid, host: os.hostname(), command, started_at: new Date().toISOString() });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(lockPath, 'wx', 0o644);
      fs.writeFileSync(fd, body);
      fs.closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          fs.rmSync(lockPath, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: { pid?: number; command?: string; started_at?: string } = {};
    try {
      holder = JSON.parse(fs.readFileSync(lockPath, 'utf8'));
    } catch {
      // A lock file being written right now, or truncated by a crash.
    }
    if (typeof holder.pid === 'number' && holder.pid !== process.pid && pidAlive(holder.pid)) {
      throw new LockError(`another bt run holds the lock (pid ${holder.pid}, bt ${holder.command ?? '?'} since ${holder.started_at ?? '?'}): ${lockPath}`);
    }
    if (typeof holder.pid !== 'number') {
      // Unreadable lock: only stale when old enough that no live writer is still filling it.
      const age = Date.now() - fs.statSync(lockPath, { throwIfNoEntry: false })!.mtimeMs;
      if (!(age > 10_000)) throw new LockError(`another bt run holds the lock: ${lockPath}`);
    }
    onStale(`taking over a stale lock left by pid ${holder.pid ?? '?'} (bt ${holder.command ?? '?'}, no longer running)`);
    fs.rmSync(lockPath, { force: true });
  }
  throw new LockError(`could not take the lock: ${lockPath}`);
}
