import yargs, { type Argv } from 'yargs';
import { BtError, ExitCode, UsageError, describeSystemError } from '../errors.js';
import { configCommand } from './commands/config.js';
import { dirCommand } from './commands/dir.js';
import { addCommand, backupCommand, vaultCommand } from './commands/backup.js';
import { logCommand } from './commands/log.js';
import { restoreCommand, recoverCommand } from './commands/restore.js';
import { VERSION } from './version.js';
import { showArguments, withStandIns } from './raw-args.js';

export function reportError(err: unknown, verbose: boolean): number {
  if (err instanceof BtError) {
    process.stderr.write(`bt: ${err.message}\n`);
    if (verbose && err.cause) process.stderr.write(`${(err.cause as Error).stack ?? String(err.cause)}\n`);
    return err.exitCode;
  }
  const sys = err as NodeJS.ErrnoException;
  if (typeof sys?.code === 'string' && typeof sys.syscall === 'string') {
    // The local filesystem refused something bt does not wrap (disk full, permission): not a bug, the documented 6.
    const where = sys.path ? ` ${sys.path}` : '';
    process.stderr.write(`bt: cannot ${sys.syscall}${where}: ${describeSystemError(sys)}\n`);
    if (verbose) process.stderr.write(`${sys.stack ?? ''}\n`);
    return ExitCode.io;
  }
  const e = err as Error;
  process.stderr.write(`bt: ${e?.message ?? String(err)}\n`);
  if (verbose) process.stderr.write(`${e?.stack ?? ''}\n`);
  else process.stderr.write(`bt: (this is unexpected; run again with --verbose for details)\n`);
  return ExitCode.internal;
}

export async function main(args: string[]): Promise<void> {
  const verbose = args.includes('-v') || args.includes('--verbose');
  // A rejection nobody awaited is a bug like any other: one line (stack under --verbose) and the same exit code.
  const crash = (err: unknown) => process.exit(reportError(err, verbose));
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  // A reader that went away (`bt log F | head -1`): stop quietly, with the status a death by SIGPIPE has.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(128 + 13);
    crash(err);
  });
  // Arguments that are not UTF-8 go to yargs as stand-ins, so that a handler can have their bytes.
  let parser: Argv = yargs(withStandIns(args))
    .scriptName('bt')
    .usage('bt: content-addressed personal backups\n\nUsage: bt <command> [options]')
    .version(VERSION)
    // bt's own messages are English: yargs' are too, in the bundle and in the tsc output alike.
    .locale('en')
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print only errors and requested output', global: true })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'on errors, show the stack trace and underlying cause', global: true })
    .command('config', 'configuration and vaults', (y) => configCommand(y))
    .command('dir', 'tracked directories', (y) => dirCommand(y))
    .strict()
    .demandCommand(1, 'name a command (see bt --help)')
    .help()
    .alias('help', 'h')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      // Throwing stops yargs before any handler runs; main prints the one line.
      throw err ?? new UsageError(showArguments(msg.replace(/\s*\n\s*/g, ' ')));
    });
  for (const add of [addCommand, backupCommand, logCommand, restoreCommand, recoverCommand, vaultCommand]) parser = add(parser);
  try {
    await parser.parseAsync();
  } catch (err) {
    process.exitCode = reportError(err, verbose);
    return;
  }
}
