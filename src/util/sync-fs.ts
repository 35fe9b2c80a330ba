import { spawn } from 'node:child_process';
import { describeSystemError } from '../errors.js';
import { errnoCode, nativeModule } from './native.js';

/**
 * syncfs(2) of the filesystem holding `p`: null once it succeeded, else why
 * it failed ("input/output error", say). Node has no binding: bt's native
 * addon makes the call on the threadpool; without it, coreutils' `sync -f`
 * is that one call, falling back to a whole-system `sync` (a superset) on a
 * coreutils without -f. Either way the caller's thread goes on while the
 * disk catches up.
 */
export async function syncFilesystem(p: string): Promise<string | null> {
  const native = nativeModule();
  if (native) {
    const errno = await native.syncFs(p);
    return errno === 0 ? null : describeSystemError({ code: errnoCode(errno), message: errnoCode(errno) });
  }
  if ((await run('sync', ['-f', p])) === 0) return null;
  return (await run('sync', [])) === 0 ? null : 'sync failed';
}

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.on('error', () => resolve(-1));
    child.on('close', (code) => resolve(code ?? -1));
  });
}
