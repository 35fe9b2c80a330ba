// Run a child process under GNU time to get its peak RSS, and time it from here for millisecond resolution.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

export const GNU_TIME = '/usr/bin/time';

export interface Measurement {
  command: string;
  /** Wall time measured around the spawn (GNU time's %e only has 10 ms resolution, too coarse for --help). */
  seconds: number;
  /** GNU time's %e, kept for reference. */
  timeSeconds: number;
  /** Peak resident set size in bytes (%M, reported by GNU time in KiB). */
  maxRssBytes: number;
  exitCode: number;
  /** Last lines of stdout+stderr: enough to see a tool's summary or its error. */
  outputTail: string;
}

export interface RunSpec {
  label: string; // names the log files
  cmd: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logDir: string;
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** GNU time writes "Command exited with non-zero status N" before the formatted line, so take the last line. */
function parseTimeFile(text: string): { elapsed: number; rssKib: number } {
  const last = text.trim().split('\n').pop() ?? '';
  const [elapsed, rss] = last.split(/\s+/).map(Number);
  if (!Number.isFinite(elapsed) || !Number.isFinite(rss)) throw new Error(`cannot parse GNU time output: ${JSON.stringify(text)}`);
  return { elapsed, rssKib: rss };
}

export async function measure(spec: RunSpec): Promise<Measurement> {
  await fsp.mkdir(spec.logDir, { recursive: true });
  const base = path.join(spec.logDir, spec.label);
  const timeFile = `${base}.time`;
  const outFile = `${base}.out`;
  const out = fs.openSync(outFile, 'w');
  const started = process.hrtime.bigint();
  const exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn(GNU_TIME, ['-f', '%e %M', '-o', timeFile, spec.cmd, ...spec.args], { cwd: spec.cwd, env: spec.env, stdio: ['ignore', out, out] });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  fs.closeSync(out);
  const { elapsed, rssKib } = parseTimeFile(await fsp.readFile(timeFile, 'utf8'));
  return {
    command: [spec.cmd, ...spec.args].join(' '),
    seconds,
    timeSeconds: elapsed,
    maxRssBytes: rssKib * 1024,
    exitCode,
    outputTail: tail(await fsp.readFile(outFile, 'utf8'), 5),
  };
}

/** Several commands timed as one operation: times add up, peak RSS is the largest, the first failure is kept. */
export function combine(parts: Measurement[]): Measurement {
  const failed = parts.find((p) => p.exitCode !== 0);
  return {
    command: parts.map((p) => p.command).join(' && '),
    seconds: parts.reduce((s, p) => s + p.seconds, 0),
    timeSeconds: parts.reduce((s, p) => s + p.timeSeconds, 0),
    maxRssBytes: Math.max(...parts.map((p) => p.maxRssBytes)),
    exitCode: failed?.exitCode ?? 0,
    outputTail: parts.map((p) => p.outputTail).filter(Boolean).join('\n'),
  };
}

/** The median run of several (by wall time): short commands are noisy, one run is not a fair figure. */
export function median(runs: Measurement[]): Measurement {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor(sorted.length / 2)];
}
