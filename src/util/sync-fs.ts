import { spawn } from 'node:child_process';
import { describeSystemError } from '../errors.js';
import { errnoCode, nativeModule } from './native.js';

/**
 * syncfs(2) of the filesystem holding `p`: null once it succeeded, else why
 * it failed ("input/output error", say). Node has no binding: bt's native
 * addon makes the call on the threadpool; without it, coreutils' `sync -f`
 * (8.24 and later: every system Node 20 runs on) is that one call. Either
 * way the caller's thread goes on while the disk catches up.
 *
 * There is no fallback to a plain `sync`: sync(2) reports no error, so after
 * a failed `sync -f` it would pass a write-back error off as durable data.
 */
export async function syncFilesystem(p: string): Promise<string | null> {
  const native = nativeModule();
  if (native) {
    const errno = await native.syncFs(p);
    if (errno === 0) return null;
    const code = errnoCode(errno);
    return describeSystemError({ code, message: code });
  }
  return runSync(p);
}

/** `sync -f p`: null on success, else its last line of complaint (without the "sync: " prefix), or what is missing. */
function runSync(p: string): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn('sync', ['-f', p], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 4096) stderr += chunk;
    });
    child.on('error', (err) => resolve(`cannot run sync: ${describeSystemError(err)}`));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(null);
      const lines = stderr.trim().split('\n').map((l) => l.replace(/^sync: /, ''));
      // A sync without -f (BusyBox built without it, say) cannot make the call at all: say what would.
      if (/(invalid|unrecognized|unknown) option|usage/i.test(stderr)) return resolve(`this system's sync has no -f (${lines[0]}): bt needs coreutils 8.24 or later, or its native addon`);
      resolve(lines[lines.length - 1] || `sync -f exited with ${signal ?? `code ${code}`}`);
    });
  });
}
