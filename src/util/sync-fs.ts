import { spawn } from 'node:child_process';
import { nativeModule } from './native.js';

/**
 * syncfs(2) of the filesystem holding `p`: true once it succeeded. Node has
 * no binding: bt's native addon makes the call on the threadpool; without
 * it, coreutils' `sync -f` is that one call, falling back to a whole-system
 * `sync` (a superset) on a coreutils without -f. Either way the caller's
 * thread goes on while the disk catches up.
 */
export async function syncFilesystem(p: string): Promise<boolean> {
  const native = nativeModule();
  if (native) return (await native.syncFs(p)) === 0;
  if ((await run('sync', ['-f', p])) === 0) return true;
  return (await run('sync', [])) === 0;
}

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.on('error', () => resolve(-1));
    child.on('close', (code) => resolve(code ?? -1));
  });
}
