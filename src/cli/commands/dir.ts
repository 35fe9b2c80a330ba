import type { Argv } from 'yargs';
import { typed, withService, type GlobalArgs } from '../run.js';
import { out, write, formatTime, showPath } from '../output.js';
import type { StatusEntry } from '../../service/status.js';
import { displayName, jsonName } from '../../fsmgr/paths.js';
import { count } from '../../util/count.js';
import type { PathArg } from '../../service/locate.js';

const CODES: Record<string, string> = { staged: 'A ', modified: ' M', untracked: '??', deleted: ' D', backed_up: '  ' };

/** git's two columns (staged, on disk), and '-D' for a deletion the backup already holds. */
function statusCode(f: StatusEntry): string {
  if (f.pendingDelete) return f.state === 'staged' ? 'D ' : ' D';
  return f.state === 'deleted' ? '-D' : CODES[f.state]!;
}

export function dirCommand(y: Argv): Argv {
  return y
    .command('init [path]', 'track a directory (default .)', (b) => b.positional('path', { type: 'string', default: '.' }),
      typed((argv: GlobalArgs & { path: PathArg }) => withService(argv, (svc) => {
        const r = svc.addDirectory(argv.path);
        if (argv.quiet) return;
        if (r.status === 'already') {
          out(`already tracked: ${r.directory.path}`);
          return;
        }
        out(`tracking ${r.directory.path}`);
        for (const a of r.absorbed) out(`absorbed ${a.path} with its files and history`);
      }), ['path']))
    .command('list', 'list tracked directories', (b) => b.option('json', { type: 'boolean', default: false }),
      typed((argv: GlobalArgs & { json: boolean }) => withService(argv, (svc) => {
        const dirs = svc.listDirectories();
        if (argv.json) {
          out(JSON.stringify(dirs.map((d) => ({ path: d.path, files: d.files, last_backup_at: d.lastBackupAt ? new Date(d.lastBackupAt).toISOString() : null }))));
          return;
        }
        for (const d of dirs) out(`${d.path}\t${count(d.files, 'file')}\t${d.lastBackupAt ? 'last backup ' + formatTime(d.lastBackupAt) : 'never backed up'}`);
      })))
    .command('remove <path>', 'stop tracking a directory (its history stays restorable)', (b) => b.positional('path', { type: 'string', demandOption: true }),
      typed((argv: GlobalArgs & { path: PathArg }) => withService(argv, (svc) => {
        const d = svc.removeDirectory(argv.path);
        if (!argv.quiet) out(`stopped tracking ${d.path}; its history can still be restored`);
      }), ['path']))
    .command('status [path]', 'show what changed since the last backup (default: the whole tracked directory)', (b) =>
      b.positional('path', { type: 'string' })
        .option('all', { type: 'boolean', default: false, describe: 'list backed-up files too' })
        .option('deleted', { type: 'boolean', default: false, describe: 'list deleted files' })
        .option('json', { type: 'boolean', default: false })
        .option('exit-code', { type: 'boolean', default: false, describe: 'exit 1 when anything is not backed up' }),
    typed((argv: GlobalArgs & { path?: PathArg; all: boolean; deleted: boolean; json: boolean; exitCode: boolean }) => withService(argv, async (svc) => {
      // A deletion not yet backed up is a change like any other; one the backup has recorded is history, listed on request.
      const listed = (f: StatusEntry) => (f.state === 'backed_up' ? argv.all : f.state === 'deleted' && !f.pendingDelete ? argv.deleted : true);
      const cwd = svc.cwd;
      let directory = '';
      let first = true;
      // Printed as found, so that a status of a large tree holds no line per file; the JSON is
      // written piece by piece, byte for byte what JSON.stringify makes of the whole object.
      const st = await svc.status(argv.path, {
        begin: (dir) => {
          directory = dir;
          if (argv.json) write(`{"directory":${JSON.stringify(dir)},"files":[`);
        },
        entry: (f) => {
          if (!listed(f)) return;
          if (argv.json) {
            const entry = f.state === 'deleted' ? { path: jsonName(f.rel), state: f.state, pending: f.pendingDelete }
              : f.state === 'staged' && f.pendingDelete ? { path: jsonName(f.rel), state: f.state, op: 'delete' }
              : { path: jsonName(f.rel), state: f.state };
            write(`${first ? '' : ','}${JSON.stringify(entry)}`);
            first = false;
          } else {
            out(`${statusCode(f)} ${showPath(directory, f.rel, cwd)}`);
          }
        },
      }).catch((err: unknown) => {
        // A failure mid-scan: end the partial JSON line, so that the error on stderr starts on its own.
        if (argv.json && directory) out(''); // begun: the directory is known
        throw err;
      });
      if (argv.json) {
        out(`],"summary":${JSON.stringify(st.summary)}}`);
      } else if (!argv.quiet) {
        const s = st.summary;
        const parts = [`${s.staged} staged`, `${s.modified} modified`, `${s.untracked} untracked`, `${s.deleted} deleted`, `${s.backed_up} backed up`];
        const where = st.scope.length ? displayName(Buffer.concat([Buffer.from(st.directory === '/' ? '' : st.directory), Buffer.from('/'), st.scope])) : st.directory;
        out(`${where}: ${parts.join(', ')}`);
      }
      return argv.exitCode && st.dirty ? 1 : 0;
    }, { walks: true }), ['path']))
    .demandCommand(1, 'name a dir command: init, list, remove, status');
}
