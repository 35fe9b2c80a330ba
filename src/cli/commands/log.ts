import type { Argv } from 'yargs';
import { typed, withService, type GlobalArgs } from '../run.js';
import { out, formatBytes, formatTime } from '../output.js';
import { isoFromMs, isoFromNs } from '../../service/time.js';
import type { PathArg } from '../../service/locate.js';

export function logCommand(y: Argv): Argv {
  return y.command('log <file>', 'list a file\'s versions, newest first', (b) =>
    b.positional('file', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false }),
  typed((argv: GlobalArgs & { file: PathArg; json: boolean }) => withService(argv, (svc) => {
    const h = svc.history(argv.file);
    if (argv.json) {
      out(JSON.stringify(h.versions.map((v) => ({
        checksum: v.checksum,
        backed_up_at: isoFromMs(v.snapshot.createdAt),
        size: v.snapshot.size,
        mode: '0' + v.snapshot.mode.toString(8).padStart(3, '0'),
        mtime: isoFromNs(v.snapshot.mtimeNs),
        deleted: v.snapshot.deleted,
        type: v.snapshot.fileType,
        changes: v.changes,
      }))));
      return;
    }
    for (const v of h.versions) {
      const s = v.snapshot;
      const mode = (s.fileType === 'symlink' ? 'l' : '-') + '0' + s.mode.toString(8).padStart(3, '0');
      out(`${v.checksum.slice(0, 12)}  ${formatTime(s.createdAt)}  ${formatBytes(s.size).padStart(10)}  mtime ${formatTime(Number(s.mtimeNs / 1_000_000n))}  ${mode}  ${v.changes.join(',')}`);
    }
  }), ['file']));
}
