// Shared helpers for the bt test suite: isolated environments (HOME, config,
// base dir in a temp dir), running the real CLI in a child process, building
// trees with arbitrary byte names, and comparing trees byte for byte.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..');
export const BT = path.join(REPO, 'bin', 'bt');

export const IS_ROOT = process.getuid?.() === 0;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBuf: Buffer;
}

export interface RunOptions {
  cwd?: string;
  /** Extra variables for this run; undefined removes one. */
  env?: Record<string, string | undefined>;
  input?: string;
}

export interface BtEnv {
  /** The temp directory holding everything of this environment. */
  root: string;
  home: string;
  /** A place for tracked trees and restore targets, outside HOME. */
  work: string;
  env: NodeJS.ProcessEnv;
  configFile: string;
  baseDir: string;
  vaultRoot: string;
  dbFile: string;
  stagingDir: string;
  logFile: string;
  lockFile: string;
  /** When set, bt runs as this user (used as root to make permission checks bite). */
  user?: { uid: number; gid: number };
  run(args: string[], opts?: RunOptions): RunResult;
  /** As run, with arguments (and a working directory) given as bytes, which child_process cannot pass. */
  runBytes(args: PathLike[], opts?: RunOptions & { cwdBytes?: PathLike }): RunResult;
  spawn(args: string[], opts?: RunOptions): ChildProcess;
  /** Give the whole environment to `user` (no-op without one). */
  chownAll(): void;
  cleanup(): void;
}

const created: string[] = [];

/** Remove every environment made by makeEnv in this test file (call from afterAll). */
export function cleanupAll(): void {
  if (process.env.BT_TEST_KEEP) return;
  while (created.length) fs.rmSync(created.pop()!, { recursive: true, force: true });
}

function baseEnv(home: string): NodeJS.ProcessEnv {
  // BT_NATIVE=1: bt fails rather than falls back when it cannot load its native addon, so that these tests
  // know they ran it; the tests of the JavaScript fallbacks set BT_NATIVE=0.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', BT_NATIVE: '1' };
  if (process.env.TZ) env.TZ = process.env.TZ;
  return env;
}

/**
 * A fresh, isolated bt environment: HOME in a temp dir, no XDG_CONFIG_HOME,
 * BT_CONFIG or BT_BASE_DIR (so the defaults below HOME apply).
 */
export function makeEnv(opts: { user?: { uid: number; gid: number }; env?: Record<string, string> } = {}): BtEnv {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'bt-test-')));
  created.push(root);
  const home = path.join(root, 'home');
  const work = path.join(root, 'work');
  fs.mkdirSync(home);
  fs.mkdirSync(work);
  const env = { ...baseEnv(home), ...(opts.env ?? {}) };
  const baseDir = path.join(home, 'data', 'bt');
  const spawnOpts = (o: RunOptions) => {
    const e: NodeJS.ProcessEnv = { ...env };
    for (const [k, v] of Object.entries(o.env ?? {})) {
      if (v === undefined) delete e[k];
      else e[k] = v;
    }
    return { cwd: o.cwd ?? work, env: e, ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}) };
  };
  const self: BtEnv = {
    root,
    home,
    work,
    env,
    configFile: path.join(home, '.config', 'bt.toml'),
    baseDir,
    vaultRoot: path.join(baseDir, 'vault'),
    dbFile: path.join(baseDir, 'data', 'bt.sqlite3'),
    stagingDir: path.join(baseDir, 'staging'),
    logFile: path.join(baseDir, 'log', 'bt.jsonl'),
    lockFile: path.join(baseDir, 'lock'),
    user: opts.user,
    run(args, o = {}) {
      const r = spawnSync(process.execPath, [BT, ...args], { ...spawnOpts(o), input: o.input, timeout: 110_000, maxBuffer: 64 << 20 });
      if (r.error) throw r.error;
      return { code: r.status, signal: r.signal, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), stdoutBuf: r.stdout };
    },
    runBytes(args, o = {}) {
      // child_process takes text arguments only: a shell rebuilds each argument from printf's octal escapes and
      // execs node as bin/bt would, so that bt sees the bytes in its argv and /proc/self/cmdline.
      const script = [
        'node=$1 bt=$2; set --',
        ...(o.cwdBytes !== undefined ? [`a=$(printf '${octal(o.cwdBytes)}.'); cd "\${a%.}" || exit 99`] : []),
        ...args.map((a) => `a=$(printf '${octal(a)}.'); set -- "$@" "\${a%.}"`),
        'exec "$node" "$bt" "$@"',
      ].join('\n');
      const r = spawnSync('/bin/sh', ['-c', script, 'sh', process.execPath, BT], { ...spawnOpts(o), input: o.input, timeout: 110_000, maxBuffer: 64 << 20 });
      if (r.error) throw r.error;
      return { code: r.status, signal: r.signal, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), stdoutBuf: r.stdout };
    },
    spawn(args, o = {}) {
      return spawn(process.execPath, [BT, ...args], { ...spawnOpts(o), stdio: ['ignore', 'pipe', 'pipe'] });
    },
    chownAll() {
      if (!opts.user) return;
      chownRecursive(root, opts.user.uid, opts.user.gid);
    },
    cleanup() {
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  return self;
}

/** Every byte as a printf octal escape (the trailing '.' the caller adds keeps a trailing newline from $(...)). */
function octal(p: PathLike): string {
  return [...(Buffer.isBuffer(p) ? p : Buffer.from(p))].map((b) => '\\' + b.toString(8).padStart(3, '0')).join('');
}

/** Whether bt can run as that user here (its checkout and node must be readable by it). */
export function canRunAs(user: { uid: number; gid: number }): boolean {
  const r = spawnSync(process.execPath, [BT, '--version'], { uid: user.uid, gid: user.gid, cwd: '/', env: baseEnv(os.tmpdir()) });
  return r.status === 0;
}

function chownRecursive(p: string, uid: number, gid: number): void {
  fs.lchownSync(p, uid, gid);
  const st = fs.lstatSync(p);
  if (st.isDirectory()) for (const n of fs.readdirSync(p)) chownRecursive(path.join(p, n), uid, gid);
}

/** A run that must succeed; the message shows what bt said otherwise. */
export function ok(r: RunResult): RunResult {
  if (r.code !== 0) throw new Error(`bt exited ${r.code} (signal ${r.signal})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** Non-empty lines of a text. */
export function lines(s: string): string[] {
  return s.split('\n').filter((l) => l.length > 0);
}

/** Bad input is reported as one `bt: ` line without a stack trace. */
export function expectCleanError(r: RunResult, opts: { code?: number; match?: RegExp | string } = {}): string[] {
  const problems: string[] = [];
  if (r.code === 0 || r.code === null) problems.push(`exit code ${r.code}, expected non-zero`);
  if (opts.code !== undefined && r.code !== opts.code) problems.push(`exit code ${r.code}, expected ${opts.code}`);
  const ls = lines(r.stderr);
  if (ls.length !== 1) problems.push(`expected exactly one line on stderr, got ${ls.length}`);
  if (ls.some((l) => !l.startsWith('bt: '))) problems.push(`a stderr line does not start with "bt: "`);
  if (/^\s+at /m.test(r.stderr)) problems.push('stderr holds a stack trace');
  if (/this is unexpected/i.test(r.stderr)) problems.push('stderr reports an unexpected (internal) error');
  if (opts.match !== undefined) {
    const m = typeof opts.match === 'string' ? r.stderr.includes(opts.match) : opts.match.test(r.stderr);
    if (!m) problems.push(`stderr does not match ${String(opts.match)}`);
  }
  return problems.map((p) => `${p}\n  exit=${r.code}\n  stderr=${JSON.stringify(r.stderr)}\n  stdout=${JSON.stringify(r.stdout)}`);
}

// ---------------------------------------------------------------------------
// Tree building

export type PathLike = string | Buffer;

export function bjoin(...parts: PathLike[]): Buffer {
  const bufs: Buffer[] = [];
  parts.forEach((p, i) => {
    if (i > 0) bufs.push(Buffer.from('/'));
    bufs.push(Buffer.isBuffer(p) ? p : Buffer.from(p));
  });
  return Buffer.concat(bufs);
}

export interface TreeFile {
  /** Path relative to the tree root, as bytes or text. */
  path: PathLike;
  content?: Buffer | string;
  /** A symlink with this target instead of a file. */
  symlink?: PathLike;
  mode?: number;
  /** Seconds since the epoch (fractions kept to the microsecond). */
  mtime?: number;
  atime?: number;
  uid?: number;
  gid?: number;
}

export function writeTree(root: string, files: TreeFile[]): void {
  fs.mkdirSync(root, { recursive: true });
  for (const f of files) {
    const abs = bjoin(root, f.path);
    const slash = abs.lastIndexOf(0x2f);
    fs.mkdirSync(abs.subarray(0, slash), { recursive: true });
    if (f.symlink !== undefined) {
      fs.symlinkSync(f.symlink, abs);
      if (f.uid !== undefined) fs.lchownSync(abs, f.uid, f.gid ?? f.uid);
      if (f.mtime !== undefined) fs.lutimesSync(abs, f.atime ?? f.mtime, f.mtime);
      continue;
    }
    fs.writeFileSync(abs, f.content ?? '');
    if (f.uid !== undefined) fs.chownSync(abs, f.uid, f.gid ?? f.uid);
    if (f.mode !== undefined) fs.chmodSync(abs, f.mode);
    if (f.mtime !== undefined) fs.utimesSync(abs, f.atime ?? f.mtime, f.mtime);
  }
}

/** Deterministic pseudo-random bytes (so tests are repeatable without reading /dev/urandom). */
export function pseudoRandom(size: number, seed: string): Buffer {
  const out = Buffer.allocUnsafe(size);
  let off = 0;
  let counter = 0;
  const key = crypto.createHash('sha256').update(seed).digest();
  while (off < size) {
    const block = crypto.createHash('sha256').update(key).update(String(counter++)).digest();
    off += block.copy(out, off);
  }
  return out;
}

export const NAME_NEWLINE = Buffer.from('new\nline.txt');
export const NAME_INVALID = Buffer.concat([Buffer.from('bad-'), Buffer.from([0xff, 0xfe]), Buffer.from('-utf8.bin')]);
export const DIR_INVALID = Buffer.concat([Buffer.from('dir-'), Buffer.from([0xc3, 0x28])]);

/**
 * The tree the issue asks for: nested dirs, empty files, names with spaces,
 * unicode, newlines and invalid UTF-8, symlinks (relative, absolute,
 * dangling, non-UTF-8 target), an executable, a file bigger than bt's
 * small-file threshold, two identical files, and (as root) foreign owners.
 */
export function weirdTree(seed = 'weird'): TreeFile[] {
  const dup = pseudoRandom(64 * 1024, seed + 'dup');
  const t0 = 1_600_000_000;
  const files: TreeFile[] = [
    { path: 'top.txt', content: 'hello world\n', mtime: t0 + 0.123456 },
    { path: 'empty', content: '', mtime: t0 + 1 },
    { path: 'with space.txt', content: 'spaces in the name\n', mtime: t0 + 2.5 },
    { path: 'ünïcödé-日本語.txt', content: 'unicode name\n', mtime: t0 + 3 },
    { path: NAME_NEWLINE, content: 'a newline in the name\n', mtime: t0 + 4 },
    { path: NAME_INVALID, content: pseudoRandom(1000, seed + 'inv'), mtime: t0 + 5 },
    { path: 'exec.sh', content: '#!/bin/sh\necho hi\n', mode: 0o755, mtime: t0 + 6 },
    { path: 'private.txt', content: 'secret\n', mode: 0o600, mtime: t0 + 7 },
    { path: 'nested/a/b/c/deep.txt', content: 'deep\n', mtime: t0 + 8 },
    { path: 'nested/a/empty-too', content: '', mtime: t0 + 9 },
    { path: 'nested/dup1.bin', content: dup, mtime: t0 + 10 },
    { path: 'other/dup2.bin', content: dup, mtime: t0 + 11 },
    { path: 'big.bin', content: pseudoRandom(2_500_000 + 17, seed + 'big'), mtime: t0 + 12 },
    { path: bjoin(DIR_INVALID, 'inner file.txt'), content: 'inside a non-UTF-8 directory\n', mtime: t0 + 13 },
    { path: 'links/rel-link', symlink: '../top.txt', mtime: t0 + 14 },
    { path: 'links/abs-link', symlink: '/etc/hostname', mtime: t0 + 15 },
    { path: 'links/dangling', symlink: 'does/not/exist', mtime: t0 + 16 },
    { path: 'links/bad-target', symlink: Buffer.concat([Buffer.from('target-'), Buffer.from([0xfe])]), mtime: t0 + 17 },
    { path: 'links/dir-link', symlink: '../nested', mtime: t0 + 18 },
  ];
  if (IS_ROOT) {
    files.push({ path: 'owned.txt', content: 'owned by someone else\n', uid: 1234, gid: 4321, mode: 0o640, mtime: t0 + 19 });
    files.push({ path: 'links/owned-link', symlink: 'top.txt', uid: 2345, gid: 5432, mtime: t0 + 20 });
  }
  return files;
}

// ---------------------------------------------------------------------------
// Tree reading and comparison

export interface TreeEntry {
  type: 'file' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  mtimeUs: bigint;
  atimeUs: bigint;
  size: number;
  sha256?: string;
  target?: Buffer;
}

/** Every file and symlink below root (directories are implied by them), keyed by the relative path's bytes in latin1. */
export function readTree(root: string, opts: { skip?: (rel: Buffer) => boolean } = {}): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const rootBuf = Buffer.from(root);
  const walk = (rel: Buffer) => {
    const abs = rel.length ? bjoin(rootBuf, rel) : rootBuf;
    for (const name of fs.readdirSync(abs, { encoding: 'buffer' })) {
      const childRel = rel.length ? bjoin(rel, name) : name;
      if (opts.skip?.(childRel)) continue;
      const childAbs = bjoin(rootBuf, childRel);
      const st = fs.lstatSync(childAbs, { bigint: true });
      if (st.isDirectory()) {
        walk(childRel);
        continue;
      }
      const e: TreeEntry = {
        type: st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other',
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtimeUs: st.mtimeNs / 1000n,
        atimeUs: st.atimeNs / 1000n,
        size: Number(st.size),
      };
      if (e.type === 'file') e.sha256 = crypto.createHash('sha256').update(fs.readFileSync(childAbs)).digest('hex');
      if (e.type === 'symlink') e.target = fs.readlinkSync(childAbs, { encoding: 'buffer' });
      out.set(childRel.toString('latin1'), e);
    }
  };
  walk(Buffer.alloc(0));
  return out;
}

export function showRel(key: string): string {
  return JSON.stringify(Buffer.from(key, 'latin1').toString('utf8')) + (Buffer.from(Buffer.from(key, 'latin1').toString('utf8')).equals(Buffer.from(key, 'latin1')) ? '' : ` (bytes ${Buffer.from(key, 'latin1').toString('hex')})`);
}

export interface CompareOptions {
  /** Compare uid/gid (default: when running as root). */
  owner?: boolean;
  /** Compare symlink mtimes too (default true). */
  symlinkTimes?: boolean;
}

/** Differences between two trees: bytes, type, mode, mtime (microseconds), owner, symlink targets. Empty when identical. */
export function compareTrees(expected: string | Map<string, TreeEntry>, actual: string | Map<string, TreeEntry>, opts: CompareOptions = {}): string[] {
  const a = typeof expected === 'string' ? readTree(expected) : expected;
  const b = typeof actual === 'string' ? readTree(actual) : actual;
  const owner = opts.owner ?? IS_ROOT;
  const diffs: string[] = [];
  for (const [k, e] of a) {
    const g = b.get(k);
    const name = showRel(k);
    if (!g) {
      diffs.push(`missing: ${name}`);
      continue;
    }
    if (e.type !== g.type) {
      diffs.push(`${name}: type ${e.type} != ${g.type}`);
      continue;
    }
    if (e.type === 'file') {
      if (e.sha256 !== g.sha256 || e.size !== g.size) diffs.push(`${name}: content differs (${e.size} B vs ${g.size} B)`);
      if (e.mode !== g.mode) diffs.push(`${name}: mode ${e.mode.toString(8)} != ${g.mode.toString(8)}`);
    }
    if (e.type === 'symlink' && !e.target!.equals(g.target!)) diffs.push(`${name}: symlink target ${e.target!.toString('hex')} != ${g.target!.toString('hex')}`);
    if ((e.type === 'file' || opts.symlinkTimes !== false) && e.mtimeUs !== g.mtimeUs) diffs.push(`${name}: mtime ${e.mtimeUs}us != ${g.mtimeUs}us`);
    if (owner && (e.uid !== g.uid || e.gid !== g.gid)) diffs.push(`${name}: owner ${e.uid}:${e.gid} != ${g.uid}:${g.gid}`);
  }
  for (const k of b.keys()) if (!a.has(k)) diffs.push(`unexpected: ${showRel(k)}`);
  return diffs;
}

// ---------------------------------------------------------------------------
// Vault and database inspection

/** Content objects in a filesystem vault, as [id, path] pairs. */
export function vaultObjects(vaultRoot: string): Array<{ id: string; file: string; shard: string; size: number }> {
  const dir = path.join(vaultRoot, 'content');
  const out: Array<{ id: string; file: string; shard: string; size: number }> = [];
  if (!fs.existsSync(dir)) return out;
  for (const shard of fs.readdirSync(dir)) {
    const sdir = path.join(dir, shard);
    if (!fs.statSync(sdir).isDirectory()) {
      out.push({ id: shard, file: sdir, shard: '', size: fs.statSync(sdir).size });
      continue;
    }
    for (const id of fs.readdirSync(sdir)) {
      const file = path.join(sdir, id);
      out.push({ id, file, shard, size: fs.statSync(file).size });
    }
  }
  return out;
}

export function sha256(data: Buffer | string): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

export function sha256File(file: string): string {
  return sha256(fs.readFileSync(file));
}

/** Open bt's database read-only (returns null when it does not exist yet). */
export function openDb(file: string): BetterSqlite3.Database | null {
  if (!fs.existsSync(file)) return null;
  return new BetterSqlite3(file, { readonly: true, fileMustExist: true });
}

export function withDb<T>(file: string, fn: (db: BetterSqlite3.Database) => T): T {
  const db = openDb(file);
  if (!db) throw new Error(`no database at ${file}`);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export function stagingFiles(env: BtEnv): string[] {
  try {
    return fs.readdirSync(env.stagingDir).filter((n) => n.endsWith('.jsonl')).sort();
  } catch {
    return [];
  }
}

/** Everything "bad input must not change": config bytes, staging, database rows, vault objects, tracked tree. */
export function fingerprint(env: BtEnv, extraDirs: string[] = []): Record<string, unknown> {
  const fp: Record<string, unknown> = {};
  fp.config = fs.existsSync(env.configFile) ? fs.readFileSync(env.configFile, 'utf8') : null;
  fp.staging = stagingFiles(env).map((n) => [n, fs.readFileSync(path.join(env.stagingDir, n), 'utf8')]);
  // A database that does not exist yet counts as an empty one.
  fp.directories = fp.files = fp.snapshots = fp.content = [];
  const db = openDb(env.dbFile);
  if (db) {
    try {
      fp.directories = db.prepare('SELECT id, path, removed_at FROM directory ORDER BY id').all();
      fp.files = db.prepare('SELECT id, directory_id, hex(name) AS name, current_snapshot_id, deleted FROM file ORDER BY id').all();
      fp.snapshots = db.prepare('SELECT id, content_id, deleted FROM file_snapshot ORDER BY id').all();
      fp.content = db.prepare('SELECT id FROM content ORDER BY id').all();
    } finally {
      db.close();
    }
  }
  fp.objects = vaultObjects(env.vaultRoot).map((o) => o.id).sort();
  for (const d of extraDirs) {
    fp['tree:' + d] = fs.existsSync(d) ? [...readTree(d).entries()].map(([k, v]) => [k, v.sha256 ?? v.target?.toString('hex'), v.mode, String(v.mtimeUs)]) : null;
  }
  return fp;
}

/** Lines of the run log, parsed. */
export function runLog(env: BtEnv): Array<Record<string, unknown>> {
  if (!fs.existsSync(env.logFile)) return [];
  return lines(fs.readFileSync(env.logFile, 'utf8')).map((l) => JSON.parse(l));
}

/** Set a path's mtime (only) to the nanosecond with touch(1) (Node's utimes stops at the microsecond). */
export function touchNs(file: string, isoWithNs: string): void {
  const r = spawnSync('touch', ['-h', '-m', '-d', isoWithNs, file]);
  if (r.status !== 0) throw new Error(`touch failed: ${r.stderr}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A pid that is certainly not running: a child that has exited and been reaped. */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const pid = Number(r.stdout.toString());
  try {
    process.kill(pid, 0);
  } catch {
    return pid;
  }
  throw new Error('could not find a dead pid');
}

/** A tracked, backed-up tree in `env`: dir init + add + backup. */
export function trackAndBackup(env: BtEnv, dir: string): void {
  ok(env.run(['dir', 'init', dir]));
  ok(env.run(['add'], { cwd: dir }));
  ok(env.run(['backup']));
}

/** A fresh env with a config and `files` written to `<work>/src`, tracked (and backed up with `backedUp`). */
export function envWithTree(files: TreeFile[], opts: { backedUp?: boolean } = {}): { env: BtEnv; src: string } {
  const env = makeEnv();
  initConfig(env);
  const src = path.join(env.work, 'src');
  writeTree(src, files);
  ok(env.run(['dir', 'init', src]));
  if (opts.backedUp) ok(env.run(['backup', '-a']));
  return { env, src };
}

/** Make sure env has a config (so that later runs do not print "created default config"). */
export function initConfig(env: BtEnv, extra: string[] = []): RunResult {
  return ok(env.run(['config', 'init', ...extra]));
}
