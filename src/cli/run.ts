import type { BtService } from '../service/bt-service.js';
import { TerminalReporter, type OutputOptions } from './output.js';
import { argumentValues } from './raw-args.js';

export interface GlobalArgs {
  quiet?: boolean;
  verbose?: boolean;
}

export function outputOptions(argv: GlobalArgs): OutputOptions {
  return { quiet: Boolean(argv.quiet), verbose: Boolean(argv.verbose) };
}

export interface ServiceUse {
  /** The command walks tracked directories: start the walk worker before loading the service. */
  walks?: boolean;
}

/** Open the service for one command (loaded lazily so that --help stays fast), run `fn`, close it, set the exit code. */
export async function withService(
  argv: GlobalArgs & { _?: unknown[] },
  fn: (svc: BtService, reporter: TerminalReporter) => Promise<number | void> | number | void,
  use: ServiceUse = {},
): Promise<void> {
  const started = Date.now();
  if (use.walks) (await import('../service/prepare.js')).prepareWalkThread();
  const { BtService } = await import('../service/bt-service.js');
  const { BtError, ExitCode } = await import('../errors.js');
  const reporter = new TerminalReporter(outputOptions(argv));
  const svc = await BtService.open({ env: process.env, reporter });
  const command = (argv._ ?? []).map(String).join(' ');
  let code = 0;
  try {
    code = (await fn(svc, reporter)) ?? 0;
    svc.logRun(command, code, started);
  } catch (err) {
    svc.logRun(command, err instanceof BtError ? err.exitCode : ExitCode.internal, started, (err as Error)?.message ?? String(err));
    throw err;
  } finally {
    await svc.close();
  }
  process.exitCode = code;
}

/**
 * yargs' inferred argument types do not follow our builders; handlers state the shape they read.
 * `paths` names the arguments that are paths: one that is not UTF-8 reaches the handler as its
 * bytes (a Buffer); any other argument that is not is refused.
 */
export function typed<T>(fn: (argv: T) => unknown, paths: readonly string[] = []): (argv: unknown) => Promise<void> {
  return async (argv) => {
    await fn(argumentValues(argv as Record<string, unknown>, paths) as T);
  };
}
