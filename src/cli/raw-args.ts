// Node decodes each argument as UTF-8 and turns bytes that are not into
// U+FFFD, so `bt log $'x\377'` would name x<U+FFFD>: another file, maybe one
// that exists. The kernel keeps the bytes in /proc/self/cmdline. Before yargs
// parses, each argument whose text is not its bytes is replaced by a stand-in
// (its position between NULs, which no argument can hold, so none can be
// typed), which yargs carries to the handler like any string. `argumentValues`
// then gives a handler the bytes where it takes a path, and refuses a stand-in
// anywhere else: a name or a checksum must be text.

import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { displayName } from '../fsmgr/paths.js';

interface StandIn {
  /** The argument as Node decoded it. */
  text: string;
  /** Its bytes, or null when they cannot be known (no /proc): a U+FFFD in it may then stand for any bytes. */
  bytes: Buffer | null;
}

const standIns = new Map<string, StandIn>();
// yargs writes some values into its messages with JSON.stringify, which quotes them and spells a NUL \u0000.
const STAND_IN = /\0(\d+)\0|"\\u0000(\d+)\\u0000"/g;

/** The kernel's copy of this process's command line, an entry per argument; null when it cannot be read. */
function readCmdline(): Buffer[] | null {
  let raw: Buffer;
  try {
    raw = fs.readFileSync('/proc/self/cmdline');
  } catch {
    return null;
  }
  // Each argument ends with a NUL; without the last one the process has rewritten its command line.
  if (raw.length === 0 || raw[raw.length - 1] !== 0) return null;
  const out: Buffer[] = [];
  for (let start = 0; start < raw.length;) {
    const end = raw.indexOf(0, start);
    out.push(raw.subarray(start, end));
    start = end + 1;
  }
  return out;
}

/**
 * The bytes of each of the user's arguments (`args`: what follows the script
 * in process.argv), taken from the kernel's command line by position from its
 * end: it is node, node's own options (process.execArgv, as `--max-old-space-size`
 * in a shebang line), the script, then `args`. Null unless there are that many
 * entries and each of the last ones decodes to the text Node made of it.
 */
export function argumentBytes(args: readonly string[], cmdline: Buffer[] | null, execArgs = process.execArgv.length): Buffer[] | null {
  if (!cmdline || cmdline.length < 2 + execArgs + args.length) return null;
  const tail = cmdline.slice(cmdline.length - args.length);
  return tail.every((b, i) => b.toString('utf8') === args[i]) ? tail : null;
}

/** `args` with a stand-in for each argument whose text is not its bytes (or may not be, when `bytes` is null). */
export function maskArguments(args: readonly string[], bytes: Buffer[] | null): string[] {
  standIns.clear();
  return args.map((text, i) => {
    const raw = bytes?.[i] ?? null;
    if (raw ? raw.equals(Buffer.from(text)) : !text.includes('\uFFFD')) return text;
    if (!text.startsWith('-')) return standIn(text, raw, i);
    // --target=DIR: the value stands in; an option's name is ASCII, and yargs refuses one that is not.
    const eq = text.indexOf('=');
    if (!text.startsWith('--') || eq < 0 || text.slice(0, eq).includes('\uFFFD')) return text;
    const value = raw && raw.subarray(Buffer.byteLength(text.slice(0, eq + 1)));
    return text.slice(0, eq + 1) + standIn(text.slice(eq + 1), value, i);
  });
}

function standIn(text: string, bytes: Buffer | null, i: number): string {
  const key = `\0${i}\0`;
  standIns.set(key, { text, bytes });
  return key;
}

/** What main hands yargs: the arguments, with stand-ins where their bytes are not their text. */
export function withStandIns(args: string[]): string[] {
  // Decoding turns each byte that is not UTF-8 into U+FFFD: without one, every argument is as typed.
  if (!args.some((a) => a.includes('\uFFFD'))) return args;
  const fromProcess = args.length === process.argv.length - 2 && args.every((a, i) => a === process.argv[i + 2]);
  return maskArguments(args, fromProcess ? argumentBytes(args, readCmdline()) : null);
}

function show(s: StandIn): string {
  if (s.bytes) return displayName(s.bytes);
  return JSON.stringify(s.text).replace(/\uFFFD/g, '\\ufffd');
}

/** A message (yargs' own) with each stand-in shown as its argument, quoted as bt quotes names. */
export function showArguments(message: string): string {
  return message.replace(STAND_IN, (whole, plain?: string, json?: string) => {
    const s = standIns.get(`\0${plain ?? json}\0`);
    return s ? show(s) : whole;
  });
}

function value(v: unknown, key: string, isPath: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => value(x, key, isPath));
  if (typeof v !== 'string' || !v.includes('\0')) return v;
  const s = standIns.get(v);
  if (!s) throw new UsageError(`argument ${JSON.stringify(showArguments(v))} holds a NUL`); // yargs joined a stand-in into more text
  if (!s.bytes) {
    throw new UsageError(`cannot tell which bytes argument ${show(s)} was: U+FFFD may stand for bytes that are not UTF-8, and /proc/self/cmdline, which holds them, cannot be read`);
  }
  if (!isPath) throw new UsageError(`argument ${show(s)} is not valid UTF-8: ${key} must be text`);
  return s.bytes;
}

/** The handler's view of parsed arguments: the bytes of each path argument that is not UTF-8; any other such argument refused. */
export function argumentValues(argv: Record<string, unknown>, pathKeys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(argv)) out[key] = key === '$0' ? v : value(v, key, pathKeys.includes(key));
  return out;
}
