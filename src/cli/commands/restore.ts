import type { Argv } from 'yargs';
import { typed, withService, type GlobalArgs } from '../run.js';
import { out, formatBytes, formatDuration } from '../output.js';
import { displayName } from '../../fsmgr/paths.js';
import { UsageError } from '../../errors.js';
import type { HoldingsReport } from '../../service/recover-holdings.js';
import { count } from '../../util/count.js';
import type { PathArg } from '../../service/locate.js';

export function restoreCommand(y: Argv): Argv {
  return y.command('restore <path>', 'bring back a version of a file, or a directory as it was', (b) =>
    b.positional('path', { type: 'string', demandOption: true })
      .option('checksum', { type: 'string', describe: 'the version whose checksum starts with this (4+ hex digits)' })
      .option('at', { type: 'string', describe: 'the version current at this time (ISO-8601 or "YYYY-MM-DD[ HH:MM]")' })
      .option('content-only', { type: 'boolean', default: false, describe: 'do not restore mode, times or ownership' })
      .option('target', { type: 'string', describe: 'restore into this directory, at the path relative to the tracked directory' })
      .option('overwrite', { type: 'boolean', default: false, describe: 'replace existing files' })
      .conflicts('checksum', 'at'),
  typed((argv: GlobalArgs & { path: PathArg; checksum?: string; at?: string; contentOnly: boolean; target?: PathArg; overwrite: boolean }) => withService(argv, async (svc) => {
    // `--target` with nothing after it would otherwise mean the working directory.
    if (argv.target !== undefined && argv.target.length === 0) throw new UsageError('--target needs a directory');
    const r = await svc.restore(argv.path, { checksum: argv.checksum, at: argv.at, contentOnly: argv.contentOnly, target: argv.target, overwrite: argv.overwrite });
    if (argv.quiet) return;
    if (r.kind === 'file') out(`restored ${displayName(r.destination)} (${r.checksum!.slice(0, 12)}, ${formatBytes(r.bytes)})`);
    else out(`restored ${count(r.files, 'file')} (${formatBytes(r.bytes)}) into ${displayName(r.destination)} in ${formatDuration(r.durationMs)}`);
  }), ['path', 'target']));
}

export function recoverCommand(y: Argv): Argv {
  return y.command('recover', 'list the hosts a vault holds, or take over one host\'s metadata on a new machine', (b) =>
    b.option('list', { type: 'boolean', default: false, describe: 'list hosts whose metadata the vault holds' })
      .option('host-id', { type: 'string', describe: 'the host to recover' })
      .option('vault', { type: 'string', describe: 'read from this vault only' })
      .option('at', { type: 'string', describe: 'the last metadata from before this time' })
      .option('json', { type: 'boolean', default: false })
      .option('force', { type: 'boolean', default: false, describe: 'replace a local database that holds backups' })
      .check((a) => {
        if (!a.list && !a.hostId) throw new UsageError('give --list or --host-id UUID');
        if (a.list && a.hostId) throw new UsageError('--list and --host-id go separately');
        return true;
      }),
  typed((argv: GlobalArgs & { list: boolean; hostId?: string; vault?: string; at?: string; json: boolean; force: boolean }) => withService(argv, async (svc, reporter) => {
    if (argv.list) {
      const hosts = await svc.listHosts(argv.vault);
      if (argv.json) {
        out(JSON.stringify(hosts));
        return;
      }
      if (!hosts.length && !argv.quiet) out('no host metadata in the vault');
      for (const h of hosts) out(`${h.host_id}  ${h.hostname}  last backup ${h.last_backup_at ?? 'never'}  vault ${h.vault}  ${h.directories.join(', ')}`);
      return;
    }
    const r = await svc.recover({ hostId: argv.hostId!, vault: argv.vault, at: argv.at, force: argv.force });
    reporter.info(`bt: ${holdingsLine(r.holdings)}`);
    if (!argv.quiet) {
      out(`recovered host ${r.hostId} from vault '${r.vault}' (${r.version}): ${count(r.snapshots, 'version')} of files in ${count(r.directories.length, 'directory', 'directories')}`);
      for (const d of r.directories) out(`  ${d}`);
    }
  })));
}

/** What recover found this machine's vaults to hold, in one line: "recover: 2 objects: vault 'local' holds 0, 'usb' 2; ..." */
function holdingsLine(h: HoldingsReport): string {
  const vaults = h.vaults.map((v, i) => `${i === 0 ? 'vault ' : ''}'${v.vault}' ${v.held === null ? `could not be read (${v.error})` : `${i === 0 ? 'holds ' : ''}${v.held}`}`);
  let line = `recover: ${h.objects} objects: ${vaults.join(', ')}`;
  if (h.dropped.length) line += ` (${h.dropped.map((n) => `'${n}'`).join(', ')} ${h.dropped.length === 1 ? 'is' : 'are'} not configured here)`;
  if (h.unheld) line += `; ${h.unheld} held by none of them`;
  if (h.vaults.some((v) => v.held === null || v.held < h.objects - h.unheld)) line += '; the next backup copies what a vault lacks';
  return line;
}
