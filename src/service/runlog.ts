import fs from 'node:fs';
import path from 'node:path';
import type { Context } from './context.js';
import { makeDirs } from '../util/make-dirs.js';

/** Append one JSON line per run to <log_dir>/bt.jsonl; a log that cannot be written never fails the run. */
export function appendRunLog(ctx: Context, record: Record<string, unknown>): void {
  try {
    makeDirs(ctx.config.log_dir);
    fs.appendFileSync(path.join(ctx.config.log_dir, 'bt.jsonl'), JSON.stringify({ time: new Date().toISOString(), pid: process.pid, host_id: ctx.config.host_id, ...record }) + '\n');
  } catch (err) {
    ctx.reporter.warn(`cannot write the run log in ${ctx.config.log_dir}: ${(err as Error).message}`);
  }
}
