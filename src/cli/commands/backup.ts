import type { Argv } from 'yargs';
import { typed, withService, type GlobalArgs } from '../run.js';
import { out, formatBytes, formatDuration } from '../output.js';
import type { PathArg } from '../../service/locate.js';

export function addCommand(y: Argv): Argv {
  return y.command('add [paths..]', 'stage new, modified and deleted files (default .)', (b) => b.positional('paths', { type: 'string', array: true, default: ['.'] }),
    typed((argv: GlobalArgs & { paths: PathArg[] }) => withService(argv, async (svc) => {
      const c = await svc.stage(argv.paths.length ? argv.paths : ['.']);
      if (!argv.quiet) out(`staged ${c.added} new, ${c.modified} modified, ${c.deleted} deleted (${c.unchanged} unchanged)`);
    }, { walks: true }), ['paths']));
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
        if (s.caughtUp) parts.push(`${s.caughtUp} objects copied to vaults that lacked them`);
        parts.push(`${formatBytes(s.bytesNew)} new`, `${formatBytes(s.bytesDedup)} deduplicated`, formatDuration(s.durationMs));
        out(`backup: ${parts.join(', ')}`);
      }
    }
    if (s.failed) process.stderr.write(`bt: ${s.failed} file(s) could not be backed up and stay staged\n`);
    for (const d of s.vaultsDown) process.stderr.write(`bt: vault '${d.name}' was not backed up to: ${d.reason}; the next backup catches it up\n`);
    return s.failed > 0 || s.vaultsDown.length > 0 ? 1 : 0;
  }, { walks: argv.all })));
}

export function vaultCommand(y: Argv): Argv {
  return y.command('vault', 'work on vaults\' contents', (v) => v
    .command('sync [name]', 'copy every recorded object a vault lacks (default: every vault) from the others', (b) => b.positional('name', { type: 'string' }),
      typed((argv: GlobalArgs & { name?: string }) => withService(argv, async (svc) => {
        const results = await svc.syncVaults(argv.name);
        let code = 0;
        for (const r of results) {
          if (!argv.quiet) out(`vault ${r.vault}: ${r.copied} objects copied (${formatBytes(r.bytes)})${r.unavailable ? `, ${r.unavailable} not available from any other vault` : ''}`);
          if (r.unavailable || r.error) code = 1;
          if (r.error) process.stderr.write(`bt: vault '${r.vault}': ${r.error}\n`);
        }
        return code;
      })))
    .demandCommand(1, 'name a vault command: sync'));
}
