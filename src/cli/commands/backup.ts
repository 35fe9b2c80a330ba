import type { Argv } from 'yargs';
import { typed, withService, type GlobalArgs } from '../run.js';
import { out, formatBytes, formatDuration } from '../output.js';
import { count } from '../../util/count.js';
import { backupExitCode, type BackupSummary } from '../../service/backup.js';
import type { PathArg } from '../../service/locate.js';

export function addCommand(y: Argv): Argv {
  return y.command('add [paths..]', 'stage new, modified and deleted files (default .)', (b) => b.positional('paths', { type: 'string', array: true, default: ['.'] }),
    typed((argv: GlobalArgs & { paths: PathArg[] }) => withService(argv, async (svc) => {
      const c = await svc.stage(argv.paths.length ? argv.paths : ['.']);
      if (!argv.quiet) out(`staged ${c.added} new, ${c.modified} modified, ${c.deleted} deleted (${c.unchanged} unchanged)`);
      return unreadableLine(c.unreadable) ? 1 : 0;
    }, { walks: true }), ['paths']));
}

/** The closing line for paths a walk could not read (each was named as it was met); whether there were any. */
function unreadableLine(n: number): boolean {
  if (n) process.stderr.write(`bt: ${count(n, 'path')} could not be read: what lies there was not staged\n`);
  return n > 0;
}

export function backupCommand(y: Argv): Argv {
  return y.command('backup', 'store everything staged in every vault and record snapshots', (b) =>
    b.option('all', { alias: 'a', type: 'boolean', default: false, describe: 'first stage every change under every tracked directory' }),
  typed((argv: GlobalArgs & { all: boolean }) => withService(argv, async (svc) => {
    const s = await svc.backup({ all: argv.all });
    if (!argv.quiet) out(summaryLine(s));
    unreadableLine(s.staged?.unreadable ?? 0);
    if (s.failed) process.stderr.write(`bt: ${count(s.failed, 'file could not be backed up and stays', 'files could not be backed up and stay')} staged\n`);
    for (const d of s.vaultsDown) process.stderr.write(`bt: vault '${d.name}' was not backed up to: ${d.reason}; the next backup catches it up\n`);
    return backupExitCode(s);
  }, { walks: argv.all })));
}

/** The one line a backup prints: what it stored, or what it did instead when nothing was staged. */
function summaryLine(s: BackupSummary): string {
  const took = formatDuration(s.durationMs);
  if (s.status === 'nothing') return `backup: nothing to back up (${took})`;
  if (s.files === 0) {
    // Nothing was staged, and the run only caught up vaults that lacked objects or metadata: counts
    // of 0 files and 0 B would read as if it had looked at files and found them all stored.
    const did = s.caughtUp ? `${count(s.caughtUp, 'object')} copied to vaults that lacked them` : s.metadata ? 'metadata sent to the vaults' : '';
    return `backup: no files staged${did ? `; ${did}` : ''}, ${took}`;
  }
  const parts = [count(s.files, 'file'), count(s.stored, 'new version')];
  if (s.deleted) parts.push(`${s.deleted} deleted`);
  if (s.failed) parts.push(`${s.failed} failed`);
  // Staged files found as they were backed up: without this, "1 file, 0 new versions" leaves the reader guessing.
  if (s.unchanged) parts.push(`${s.unchanged} unchanged`);
  if (s.caughtUp) parts.push(`${count(s.caughtUp, 'object')} copied to vaults that lacked them`);
  parts.push(`${formatBytes(s.bytesNew)} new`, `${formatBytes(s.bytesDedup)} deduplicated`, took);
  return `backup: ${parts.join(', ')}`;
}

export function vaultCommand(y: Argv): Argv {
  return y.command('vault', 'work on vaults\' contents', (v) => v
    .command('sync [name]', 'copy every recorded object a vault lacks (default: every vault) from the others', (b) => b.positional('name', { type: 'string' }),
      typed((argv: GlobalArgs & { name?: string }) => withService(argv, async (svc) => {
        const results = await svc.syncVaults(argv.name);
        let code = 0;
        for (const r of results) {
          if (!argv.quiet) out(`vault ${r.vault}: ${count(r.copied, 'object')} copied (${formatBytes(r.bytes)})${r.unavailable ? `, ${r.unavailable} not available from any other vault` : ''}`);
          if (r.unavailable || r.error) code = 1;
          if (r.error) process.stderr.write(`bt: vault '${r.vault}': ${r.error}\n`);
        }
        return code;
      })))
    .demandCommand(1, 'name a vault command: sync'));
}
