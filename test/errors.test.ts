// Bad input: one clear `bt: ` line on stderr, a non-zero exit, no stack
// trace, and nothing changed.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import BetterSqlite3 from 'better-sqlite3';
import { BT, REPO, cleanupAll, envWithTree, expectCleanError, fingerprint, initConfig, makeEnv, ok, sha256, stagingFiles, writeTree, type BtEnv, type RunResult } from './helpers.js';

afterAll(cleanupAll);

/** Two contents whose SHA-256 share the first 4 hex digits (found by search; about 300 tries). */
function collidingContents(): [string, string] {
  const seen = new Map<string, string>();
  for (let i = 0; ; i++) {
    const c = `collide ${i}\n`;
    const p = sha256(c).slice(0, 4);
    const other = seen.get(p);
    if (other !== undefined) return [other, c];
    seen.set(p, c);
  }
}

describe('bad input', () => {
  let env: BtEnv;
  let src: string;
  let outside: string;
  let file: string;
  const [c1, c2] = collidingContents();

  beforeAll(async () => {
    env = makeEnv();
    initConfig(env);
    src = path.join(env.work, 'src');
    outside = path.join(env.work, 'outside');
    writeTree(src, [{ path: 'f.txt', content: c1, mtime: 1_600_000_000 }, { path: 'sub/g.txt', content: 'g' }]);
    writeTree(outside, [{ path: 'o.txt', content: 'o' }]);
    file = path.join(src, 'f.txt');
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['backup', '-a']));
    await new Promise((r) => setTimeout(r, 20));
    fs.writeFileSync(file, c2);
    fs.utimesSync(file, 1_600_000_100, 1_600_000_100);
    ok(env.run(['backup', '-a']));
    // something staged and something untracked, to see that they stay as they are
    fs.writeFileSync(path.join(src, 'staged.txt'), 'staged');
    ok(env.run(['add', 'staged.txt'], { cwd: src }));
    fs.writeFileSync(path.join(src, 'untracked.txt'), 'untracked');
  });

  /** Run bt and check the error is clean and nothing changed. */
  function bad(args: string[], opts: { cwd?: string; code?: number; match?: RegExp | string } = {}): RunResult {
    const extra = [src, outside, path.join(env.work, 'target')];
    const before = fingerprint(env, extra);
    const r = env.run(args, { cwd: opts.cwd ?? src });
    expect(expectCleanError(r, { code: opts.code, match: opts.match })).toEqual([]);
    expect(fingerprint(env, extra)).toEqual(before);
    return r;
  }

  it('sanity: the fixture has two versions with colliding 4-hex prefixes', () => {
    const j = JSON.parse(ok(env.run(['log', file, '--json'])).stdout);
    expect(j.map((v: any) => v.checksum)).toEqual([sha256(c2), sha256(c1)]);
    expect(sha256(c1).slice(0, 4)).toBe(sha256(c2).slice(0, 4));
    expect(sha256(c1).slice(0, 5)).not.toBe(sha256(c2).slice(0, 5));
  });

  describe('outside a tracked directory', () => {
    it('add', () => bad(['add'], { cwd: outside, match: outside }));
    it('add of a path outside', () => bad(['add', path.join(outside, 'o.txt')]));
    it('dir status', () => bad(['dir', 'status'], { cwd: outside }));
    it('dir status --exit-code', () => bad(['dir', 'status', '--exit-code'], { cwd: outside }));
    it('restore', () => bad(['restore', path.join(outside, 'o.txt')]));
    it('log', () => bad(['log', path.join(outside, 'o.txt')]));
  });

  describe('restore / log of what was never backed up', () => {
    it('restore of an untracked file', () => bad(['restore', 'untracked.txt'], { match: 'never backed up' }));
    it('restore of a staged, not yet backed up file', () => bad(['restore', 'staged.txt']));
    it('restore --checksum of an untracked file', () => bad(['restore', 'untracked.txt', '--checksum', 'abcd'], { code: 3, match: 'never backed up' }));
    it('restore of a path that does not exist', () => bad(['restore', 'no/such/file']));
    it('log of an untracked file', () => bad(['log', 'untracked.txt']));
    it('dir status of a missing path', () => bad(['dir', 'status', 'no-such-dir']));
    it('add of a missing path', () => bad(['add', 'no-such-file']));
  });

  describe('version selection', () => {
    it('unknown checksum prefix', () => {
      let prefix = 'abcdef01';
      while (sha256(c1).startsWith(prefix) || sha256(c2).startsWith(prefix)) prefix = prefix.split('').reverse().join('');
      bad(['restore', 'f.txt', '--checksum', prefix], { match: prefix });
    });
    it('ambiguous checksum prefix', () => bad(['restore', 'f.txt', '--checksum', sha256(c1).slice(0, 4)], { match: /ambiguous/i }));
    it('a prefix shorter than 4 hex digits', () => bad(['restore', 'f.txt', '--checksum', sha256(c1).slice(0, 3)]));
    it('a prefix that is not hex', () => bad(['restore', 'f.txt', '--checksum', 'xyz123']));
    it('--checksum on a directory', () => bad(['restore', '.', '--checksum', 'abcd'], { code: 2, match: 'is a directory' }));
    it('--at before the first version of a file', () => bad(['restore', 'f.txt', '--at', '2001-02-03']));
    it('--at before the first version, ISO-8601', () => bad(['restore', 'f.txt', '--at', '2001-02-03T04:05:06Z']));
    it('--at before anything in a directory', () => bad(['restore', src, '--at', '2001-02-03 10:00', '--target', path.join(env.work, 'target')]));
    it('--at that is not a time', () => bad(['restore', 'f.txt', '--at', 'yesterday-ish']));
    it('--at with an impossible date', () => bad(['restore', 'f.txt', '--at', '2026-02-30']));
    it('--checksum and --at together', () => bad(['restore', 'f.txt', '--checksum', sha256(c1).slice(0, 8), '--at', '2030-01-01'], { code: 2 }));
    it('--checksum on a directory', () => bad(['restore', src, '--checksum', sha256(c1).slice(0, 8), '--target', path.join(env.work, 'target')]));
    it('a directory restore without --target', () => bad(['restore', src], { match: '--target' }));
  });

  describe('restore does not overwrite', () => {
    it('an existing file next to the original', () => {
      const dest = `${file}.${sha256(c2).slice(0, 12)}`;
      fs.writeFileSync(dest, 'existing');
      try {
        bad(['restore', 'f.txt'], { match: '--overwrite' });
        expect(fs.readFileSync(dest, 'utf8')).toBe('existing');
      } finally {
        fs.rmSync(dest);
      }
    });
    it('an existing file in a directory target', () => {
      const target = path.join(env.work, 'target');
      writeTree(target, [{ path: 'sub/g.txt', content: 'mine' }]);
      bad(['restore', src, '--target', target], { match: '--overwrite' });
      expect(fs.readFileSync(path.join(target, 'sub', 'g.txt'), 'utf8')).toBe('mine');
      expect(fs.existsSync(path.join(target, 'f.txt'))).toBe(false);
    });
  });

  describe('a restore target that cannot be made (exit 6, one line naming it)', () => {
    const underFile = () => path.join(outside, 'o.txt', 'sub');
    it('below a regular file: a file restore', () => bad(['restore', 'f.txt', '--target', underFile()], { code: 6, match: `cannot create directory ${underFile()}: not a directory` }));
    it('below a regular file: a directory restore', () => bad(['restore', src, '--target', underFile()], { code: 6, match: 'not a directory' }));
    // Node 20's own recursive mkdir loops forever here; bt must answer at once.
    it.runIf(fs.existsSync('/proc/self'))('below /proc', () => bad(['restore', src, '--target', '/proc/bt-no-such-dir/x'], { code: 6, match: 'cannot create directory /proc/bt-no-such-dir/x' }));
  });

  describe('a restore whose flush to disk fails', () => {
    // A `sync` whose -f fails as coreutils' does on a disk that reports a write-back error, while a plain
    // `sync` succeeds (sync(2) reports nothing), so that falling back to it would pass the error off as
    // success. bt runs `sync -f` only without its native addon (BT_NATIVE=0), which makes the syncfs call itself.
    function failingSyncPath(): string {
      const bin = path.join(env.work, 'failing-sync-bin');
      fs.mkdirSync(bin, { recursive: true });
      const script = '#!/bin/sh\n[ "$1" = -f ] || exit 0\necho "sync: error syncing \'$2\': Input/output error" >&2\nexit 1\n';
      fs.writeFileSync(path.join(bin, 'sync'), script, { mode: 0o755 });
      return `${bin}:${env.env.PATH}`;
    }
    it('fails with one line naming the target and exit 6, for a directory and for a file', () => {
      const target = path.join(env.work, 'flush-target');
      const PATH = failingSyncPath();
      try {
        const r = env.run(['restore', src, '--target', target], { cwd: src, env: { PATH, BT_NATIVE: '0' } });
        expect(expectCleanError(r, { code: 6, match: `cannot flush the restored files to disk at ${target}` })).toEqual([]);
        expect(r.stderr).toContain('Input/output error');
        const one = env.run(['restore', 'f.txt', '--target', target, '--overwrite'], { cwd: src, env: { PATH, BT_NATIVE: '0' } });
        expect(expectCleanError(one, { code: 6, match: 'cannot flush the restored files to disk' })).toEqual([]);
      } finally {
        fs.rmSync(target, { recursive: true, force: true });
      }
    });
    it('succeeds with a working sync (the same restore)', () => {
      const target = path.join(env.work, 'flush-target');
      try {
        ok(env.run(['restore', src, '--target', target], { cwd: src }));
        expect(fs.readFileSync(path.join(target, 'sub', 'g.txt'), 'utf8')).toBe('g');
      } finally {
        fs.rmSync(target, { recursive: true, force: true });
      }
    });
  });

  describe('a backup whose vault flush fails', () => {
    it('records nothing, keeps the file staged, names the error, and the next backup stores it', () => {
      // As above: `sync -f` fails, a plain `sync` would succeed.
      const { env: own, src: dir } = envWithTree([{ path: 'a.txt', content: 'first' }], { backedUp: true });
      fs.writeFileSync(path.join(dir, 'b.txt'), 'second');
      ok(own.run(['add', 'b.txt'], { cwd: dir }));
      const bin = path.join(own.work, 'failing-sync-bin');
      fs.mkdirSync(bin, { recursive: true });
      fs.writeFileSync(path.join(bin, 'sync'), '#!/bin/sh\n[ "$1" = -f ] || exit 0\necho "sync: error syncing \'$2\': Input/output error" >&2\nexit 1\n', { mode: 0o755 });
      const r = own.run(['backup'], { cwd: dir, env: { PATH: `${bin}:${own.env.PATH}`, BT_NATIVE: '0' } });
      // A partial run (exit 1): the file stays staged, and the last line says why the vault was set aside.
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('cannot back up');
      expect(r.stderr.trim().split('\n').pop()).toMatch(/^bt: vault 'local' was not backed up to: cannot sync the vault filesystem at .*: Input\/output error/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      const status = JSON.parse(ok(own.run(['dir', 'status', '--json'], { cwd: dir })).stdout) as { files: Array<{ path: string; state: string }> };
      expect(status.files.find((f) => f.path === 'b.txt')?.state).toBe('staged');
      expect(expectCleanError(own.run(['log', 'b.txt'], { cwd: dir }), { code: 3, match: 'never backed up' })).toEqual([]);
      ok(own.run(['backup'], { cwd: dir }));
      expect(JSON.parse(ok(own.run(['log', 'b.txt', '--json'], { cwd: dir })).stdout)).toHaveLength(1);
    });
    it('says what is missing when this system has a sync without -f', () => {
      const { env: own, src: dir } = envWithTree([{ path: 'a.txt', content: 'first' }]);
      const bin = path.join(own.work, 'old-sync-bin');
      fs.mkdirSync(bin, { recursive: true });
      // BusyBox's answer when built without -f.
      fs.writeFileSync(path.join(bin, 'sync'), '#!/bin/sh\n[ "$1" = -f ] || exit 0\necho "sync: unrecognized option: f" >&2\necho "Usage: sync" >&2\nexit 1\n', { mode: 0o755 });
      const r = own.run(['backup', '-a'], { cwd: dir, env: { PATH: `${bin}:${own.env.PATH}`, BT_NATIVE: '0' } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("this system's sync has no -f (unrecognized option: f)");
      expect(r.stderr).toContain('bt needs coreutils 8.24 or later, or its native addon');
    });
  });

  describe('BT_NATIVE=1 where the native addon is not built', () => {
    it('fails with one line naming the setting and exit 2; BT_NATIVE=0 runs there', () => {
      // A copy of the built CLI without native/: what an install that could not compile the addon has.
      const copy = path.join(env.work, 'no-addon');
      fs.mkdirSync(path.join(copy, 'dist'), { recursive: true });
      fs.cpSync(path.join(REPO, 'bin'), path.join(copy, 'bin'), { recursive: true });
      fs.cpSync(path.join(REPO, 'dist', 'bundle'), path.join(copy, 'dist', 'bundle'), { recursive: true });
      fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(copy, 'node_modules'));
      const run = (native: string) => spawnSync(process.execPath, [path.join(copy, 'bin', 'bt'), 'dir', 'status'], { cwd: src, env: { ...env.env, BT_NATIVE: native }, encoding: 'utf8' });
      const r = run('1');
      expect(expectCleanError({ code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, stdoutBuf: Buffer.from(r.stdout) }, { code: 2, match: /^bt: BT_NATIVE=1, but .*bt_native\.node was not built/ })).toEqual([]);
      expect(run('0').status).toBe(0);
    });
  });

  describe('unknown commands and options (exit 2)', () => {
    it('unknown command', () => bad(['frobnicate'], { code: 2, match: 'frobnicate' }));
    it('unknown dir subcommand', () => bad(['dir', 'frob'], { code: 2 }));
    it('unknown config vault subcommand', () => bad(['config', 'vault', 'frob'], { code: 2 }));
    it('unknown option of dir status', () => bad(['dir', 'status', '--bogus'], { code: 2, match: 'bogus' }));
    it('unknown option of restore', () => bad(['restore', 'f.txt', '--bogus'], { code: 2, match: 'bogus' }));
    it('--target with no directory after it (not the working directory)', () => bad(['restore', 'f.txt', '--target'], { code: 2, match: '--target needs a directory' }));
    it('unknown option of add does not stage anything', () => bad(['add', '--bogus'], { code: 2, match: 'bogus' }));
    it('unknown option of backup does not run the backup', () => {
      expect(stagingFiles(env).length).toBeGreaterThan(0);
      const r = bad(['backup', '--bogus'], { code: 2, match: 'bogus' });
      expect(r.stdout).toBe('');
    });
    it('no command at all', () => bad([], { code: 2 }));
    it('missing argument of log', () => bad(['log'], { code: 2 }));
    it('missing argument of restore', () => bad(['restore'], { code: 2 }));
    it('missing argument of dir remove', () => bad(['dir', 'remove'], { code: 2 }));
    it('recover without --list or --host-id', () => bad(['recover'], { code: 2 }));
    it('an unknown vault type', () => bad(['config', 'vault', 'add', 'ftp', 'x', '--path', '/tmp/x'], { code: 2 }));
  });

  describe('vaults', () => {
    it('unknown vault: recover --list --vault', () => bad(['recover', '--list', '--vault', 'nope'], { match: 'nope', code: 5 }));
    it('unknown vault: recover --host-id --vault (on a fresh host)', () => {
      const fresh = makeEnv();
      initConfig(fresh);
      const before = fingerprint(fresh);
      const r = fresh.run(['recover', '--host-id', '00000000-0000-4000-8000-000000000000', '--vault', 'nope']);
      expect(expectCleanError(r, { match: 'nope' })).toEqual([]);
      expect(fingerprint(fresh)).toEqual(before);
    });
    it('unknown vault: config vault init', () => bad(['config', 'vault', 'init', 'nope'], { match: 'nope', code: 5 }));
    it('unknown vault: config vault remove', () => bad(['config', 'vault', 'remove', 'nope'], { match: 'nope', code: 5 }));
    it('vault init of a path that is a file: "not a directory"', () => {
      const other = makeEnv();
      initConfig(other);
      const file = path.join(other.root, 'afile');
      fs.writeFileSync(file, 'x');
      ok(other.run(['config', 'vault', 'add', 'fs', 'f', '--path', file]));
      const r = other.run(['config', 'vault', 'init', 'f']);
      expect(r.code).toBe(5);
      expect(expectCleanError(r, { match: `not a directory` })).toEqual([]);
      expect(fs.readFileSync(file, 'utf8')).toBe('x');
    });
    it('vault init whose parent directory is missing', () => {
      const other = makeEnv();
      initConfig(other);
      const missing = path.join(other.root, 'no', 'such', 'vault');
      ok(other.run(['config', 'vault', 'add', 'fs', 'far', '--path', missing]));
      const before = fingerprint(other);
      expect(expectCleanError(other.run(['config', 'vault', 'init', 'far']))).toEqual([]);
      expect(fs.existsSync(missing)).toBe(false);
      expect(fingerprint(other)).toEqual(before);
    });
  });
});

describe('vault path missing', () => {
  it('backup fails cleanly, keeps everything staged and records nothing', () => {
    const env = makeEnv();
    initConfig(env);
    const src = path.join(env.work, 'src');
    writeTree(src, [{ path: 'a', content: 'a' }]);
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['add'], { cwd: src }));
    fs.rmSync(env.vaultRoot, { recursive: true });
    const before = fingerprint(env, [src]);
    const r = env.run(['backup']);
    expect(expectCleanError(r, { match: env.vaultRoot })).toEqual([]);
    expect(fingerprint(env, [src])).toEqual(before);
    expect(ok(env.run(['dir', 'status'], { cwd: src })).stdout).toContain('A  a');
  });

  it('restore from a vault whose path is missing fails cleanly and writes nothing', () => {
    const env = makeEnv();
    initConfig(env);
    const src = path.join(env.work, 'src');
    writeTree(src, [{ path: 'a', content: 'a' }]);
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['backup', '-a']));
    fs.renameSync(env.vaultRoot, env.vaultRoot + '.away');
    const target = path.join(env.work, 'target');
    const r = env.run(['restore', src, '--target', target]);
    expect(expectCleanError(r, { match: env.vaultRoot })).toEqual([]);
    expect(fs.existsSync(path.join(target, 'a'))).toBe(false);
    const r2 = env.run(['restore', path.join(src, 'a')]);
    expect(expectCleanError(r2)).toEqual([]);
    expect(fs.readdirSync(src)).toEqual(['a']);
  });

  it('a corrupt object is detected on restore and nothing is left behind', () => {
    const env = makeEnv();
    initConfig(env);
    const src = path.join(env.work, 'src');
    writeTree(src, [{ path: 'a', content: 'the real bytes' }]);
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['backup', '-a']));
    const id = sha256('the real bytes');
    fs.writeFileSync(path.join(env.vaultRoot, 'content', id.slice(0, 2), id), 'the fake bytes');
    const target = path.join(env.work, 'target');
    const r = env.run(['restore', path.join(src, 'a'), '--target', target]);
    expect(expectCleanError(r, { match: /corrupt/ })).toEqual([]);
    expect(fs.existsSync(path.join(target, 'a'))).toBe(false);
    expect(fs.existsSync(target) ? fs.readdirSync(target) : []).toEqual([]);
  });
});

describe('malformed config', () => {
  it('a TOML syntax error names the file and the line; nothing is rewritten', () => {
    const env = makeEnv();
    initConfig(env);
    const text = fs.readFileSync(env.configFile, 'utf8').split('\n');
    text.splice(2, 0, 'this is = = not toml');
    const broken = text.join('\n');
    fs.writeFileSync(env.configFile, broken);
    for (const args of [['dir', 'list'], ['config', 'list'], ['backup'], ['add']]) {
      const r = env.run(args, { cwd: env.work });
      expect(expectCleanError(r, { match: env.configFile })).toEqual([]);
      expect(r.stderr).toMatch(/line 3\b/);
      expect(fs.readFileSync(env.configFile, 'utf8')).toBe(broken);
    }
    expect(fs.existsSync(env.dbFile)).toBe(false);
  });

  it('an invalid value names the file and its line', () => {
    const env = makeEnv();
    initConfig(env);
    const lines = fs.readFileSync(env.configFile, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('host_id'));
    lines[i] = 'host_id = "not-a-uuid"';
    fs.writeFileSync(env.configFile, lines.join('\n'));
    const r = env.run(['dir', 'list']);
    expect(expectCleanError(r, { match: env.configFile })).toEqual([]);
    expect(r.stderr).toContain(`line ${i + 1}`);
    expect(r.stderr).toContain('host_id');
  });

  it('a relative base_dir and a vault without a root are rejected', () => {
    const env = makeEnv();
    initConfig(env);
    const orig = fs.readFileSync(env.configFile, 'utf8');
    fs.writeFileSync(env.configFile, orig.replace(/^base_dir = .*$/m, 'base_dir = "relative/dir"'));
    expect(expectCleanError(env.run(['dir', 'list']), { match: 'base_dir' })).toEqual([]);
    fs.writeFileSync(env.configFile, orig.replace(/^vault_root = .*$/m, ''));
    expect(expectCleanError(env.run(['dir', 'list']), { match: 'vault_root' })).toEqual([]);
  });

  it('a config that cannot be read (a directory) is a clean error', () => {
    const env = makeEnv();
    fs.mkdirSync(env.configFile, { recursive: true });
    expect(expectCleanError(env.run(['dir', 'list']), { match: env.configFile })).toEqual([]);
  });
});

describe('a damaged database', () => {
  it('is named in one line with exit 6, under --exit-code too (never the 1 of "changes found"), and is left as it was', () => {
    const { env, src } = envWithTree([{ path: 'a.txt', content: 'a' }], { backedUp: true });
    const junk = Buffer.alloc(8192, 0x5a);
    fs.rmSync(`${env.dbFile}-wal`, { force: true });
    fs.rmSync(`${env.dbFile}-shm`, { force: true });
    fs.writeFileSync(env.dbFile, junk);
    for (const args of [['dir', 'status', '--exit-code'], ['backup', '-a'], ['log', 'a.txt']]) {
      const r = env.run(args, { cwd: src });
      expect(expectCleanError(r, { code: 6, match: `${env.dbFile} is not a readable bt database` }), args.join(' ')).toEqual([]);
    }
    expect(fs.readFileSync(env.dbFile).equals(junk)).toBe(true);
  });
});

describe('a database from a newer bt', () => {
  it('is refused in one line with exit 2, and left as it was', () => {
    const env = makeEnv();
    initConfig(env);
    ok(env.run(['dir', 'list']));
    expect(fs.existsSync(env.dbFile)).toBe(true);
    const db = new BetterSqlite3(env.dbFile);
    db.pragma('user_version = 99');
    db.close();
    const before = fs.readFileSync(env.dbFile);
    const r = env.run(['dir', 'list']);
    expect(expectCleanError(r, { code: 2, match: "the database's schema version 99 is newer than this bt supports" })).toEqual([]);
    expect(fs.readFileSync(env.dbFile).equals(before)).toBe(true);
  });
});

describe('a staging area that cannot be written', () => {
  it('is exit 6 with one line naming it and the reason, not the clean-up that followed', () => {
    const { env, src } = envWithTree([{ path: 'a.txt', content: 'a' }]);
    const blocker = path.join(env.work, 'a-file');
    fs.writeFileSync(blocker, '');
    const text = fs.readFileSync(env.configFile, 'utf8');
    fs.writeFileSync(env.configFile, text.replace(/^staging_dir = .*$/m, `staging_dir = ${JSON.stringify(path.join(blocker, 'staging'))}`));
    const r = env.run(['add'], { cwd: src });
    expect(expectCleanError(r, { code: 6, match: `bt: cannot write the staging area ${blocker}/staging: not a directory\n` })).toEqual([]);
  });
});

describe('a reader that stops reading', () => {
  it('ends bt quietly, with the status of a death by SIGPIPE', () => {
    const { env, src } = envWithTree(Array.from({ length: 3000 }, (_, i) => ({ path: `f${i}`, content: `${i}` })));
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BT}" dir status | head -n 1; echo "bt exited \${PIPESTATUS[0]}" >&2`], { cwd: src, env: env.env, encoding: 'utf8' });
    expect(r.stdout).toBe('?? f0\n');
    expect(r.stderr).toBe('bt exited 141\n');
  });
});
