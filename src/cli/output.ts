import path from 'node:path';
import type { Progress, Reporter } from '../service/reporter.js';
import { displayName } from '../fsmgr/paths.js';
import { count } from '../util/count.js';

export interface OutputOptions {
  quiet: boolean;
  verbose: boolean;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  return `${Math.floor(s / 60)}m${Math.round(s % 60).toString().padStart(2, '0')}s`;
}

/** Local time as YYYY-MM-DD HH:MM:SS. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const p = (x: number) => x.toString().padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A path below `root` shown relative to the working directory (its bytes), byte-exact and quoted when needed. */
export function showPath(root: string, rel: Buffer, cwd: Buffer): string {
  const abs = Buffer.concat([Buffer.from(root === '/' ? '' : root, 'utf8'), Buffer.from('/'), rel]).toString('latin1');
  const r = path.relative(cwd.toString('latin1'), abs);
  return displayName(Buffer.from(r || '.', 'latin1'));
}

export function out(line: string): void {
  process.stdout.write(line + '\n');
}

/** Part of a line to stdout. */
export function write(text: string): void {
  process.stdout.write(text);
}

/**
 * Writes warnings and info to stderr and, on a TTY, a progress line for
 * runs longer than a second. Off a TTY only the final summary is printed,
 * which is what the systemd journal wants.
 */
export class TerminalReporter implements Reporter {
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(private readonly opts: OutputOptions) {}

  private clear(): void {
    if (this.drawn) {
      process.stderr.write('\r\x1b[K');
      this.drawn = false;
    }
  }

  info(msg: string): void {
    if (this.opts.quiet) return;
    this.clear();
    process.stderr.write(msg + '\n');
  }

  warn(msg: string): void {
    if (this.opts.quiet) return;
    this.clear();
    process.stderr.write(`bt: warning: ${msg}\n`);
  }

  fail(msg: string): void {
    this.clear();
    process.stderr.write(`bt: ${msg}\n`);
  }

  progress(p: Progress): void {
    if (!this.tty || this.opts.quiet) return;
    const now = Date.now();
    if (now - this.started < 1000 || now - this.lastDraw < 200) return;
    this.lastDraw = now;
    const secs = (now - this.started) / 1000;
    // The noun agrees with the number next to it: "1/3 files", "1 file".
    const files = p.totalFiles ? `${p.files}/${count(p.totalFiles, 'file')}` : count(p.files, 'file');
    const line = `${p.phase}: ${files}, ${formatBytes(p.bytes)}, ${formatBytes(p.bytes / secs)}/s`;
    process.stderr.write('\r\x1b[K' + line.slice(0, (process.stderr.columns || 80) - 1));
    this.drawn = true;
  }

  progressDone(): void {
    this.clear();
  }
}
