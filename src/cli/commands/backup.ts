import type { Argv } from 'yargs';
import { typed, withService, type GlobalArgs } from '../run.js';
import { out, formatBytes, formatDuration } from '../output.js';

export function addCommand(y: Argv): Argv {
  return y.command('add [paths..]', 'stage new, modified and deleted files (default .)', (b) => b.positional('paths', { type: 'string', array: true, default: ['.'] }),
    typed((argv: GlobalArgs & { paths: string[] }) => withService(argv, (svc) => {
      const c = svc.stage(argv.paths.length ? argv.paths : ['.']);
      if (!argv.quiet) out(`staged ${c.added} new, ${c.modified} modified, ${c.deleted} deleted (${c.unchanged} unchanged)`);
    })));
}

export function backupCommand(y: Argv): Argv {
  return y.command('backup', 'store everything staged in every vault and record snapshots', (b) =>
    b.option('all', { alias: 'a', type: 'boolean', default: false, describe: 'first stage every change under every tracked directory' }),
  typed((argv: GlobalArgs & { all: boolean }) => withService(argv, async (svc) => {
    const s = await svc.backup({ all: argv.all });
    if (!argv.quiet) {
      if (s.status === 'nothing') out(`backup: nothing to back up (${formatDuration(s.durationMs)})`);
      else {
        const parts = [`${s.files} files`, `${s.stored} new versions`];
        if (s.deleted) parts.push(`${s.deleted} deleted`);
        if (s.failed) parts.push(`${s.failed} failed`);
        parts.push(`${formatBytes(s.bytesNew)} new`, `${formatBytes(s.bytesDedup)} deduplicated`, formatDuration(s.durationMs));
        out(`backup: ${parts.join(', ')}`);
      }
    }
    if (s.failed) {
      process.stderr.write(`bt: ${s.failed} file(s) could not be backed up and stay staged\n`);
      return 1;
    }
    return 0;
  })));
}
