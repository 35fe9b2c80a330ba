// The main workflow through the real CLI: first backup of a tree with awkward
// names, status, new versions, log, restore by checksum and by time,
// deletions, backup -a, deduplication, ignore rules.

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import BetterSqlite3 from 'better-sqlite3';
import {
  DIR_INVALID, IS_ROOT, NAME_INVALID, NAME_NEWLINE, bjoin, canRunAs, cleanupAll, compareTrees, expectCleanError, initConfig, lines, makeEnv, ok,
  readTree, runLog, sha256, sha256File, stagingFiles, touchNs, vaultObjects, weirdTree, withDb, writeTree, type BtEnv,
} from './helpers.js';

afterAll(cleanupAll);

/** The status lines (without the summary line) of `bt dir status`. */
function statusLines(out: string): string[] {
  const ls = lines(out);
  return ls.slice(0, -1);
}

function summaryLine(out: string): string {
  return lines(out).at(-1)!;
}

describe('first backup of a tree with awkward names, symlinks, modes and owners', () => {
  let env: BtEnv;
  let src: string;
  let files: ReturnType<typeof weirdTree>;
  let addOut: string;
  let backup: { code: number | null; stdout: string; stderr: string };
  let beforeAdd: string;

  beforeAll(() => {
    env = makeEnv();
    initConfig(env);
    src = path.join(env.work, 'src');
    files = weirdTree();
    writeTree(src, files);
    ok(env.run(['dir', 'init', src]));
    beforeAdd = ok(env.run(['dir', 'status'], { cwd: src })).stdout;
    addOut = ok(env.run(['add'], { cwd: src })).stdout;
    backup = env.run(['backup']);
  });

  it('status before add lists every file as untracked, quoting names that need it', () => {
    const ls = statusLines(beforeAdd);
    expect(ls).toHaveLength(files.length);
    for (const l of ls) expect(l.startsWith('?? ')).toBe(true);
    expect(ls).toContain('?? top.txt');
    expect(ls).toContain('?? with space.txt');
    expect(ls).toContain('?? ünïcödé-日本語.txt');
    expect(ls).toContain('?? "new\\nline.txt"');
    expect(ls).toContain('?? "bad-\\377\\376-utf8.bin"');
    expect(ls).toContain('?? "dir-\\303(/inner file.txt"');
    expect(ls).toContain('?? links/dangling');
    expect(ls).toContain('?? nested/a/b/c/deep.txt');
    expect(summaryLine(beforeAdd)).toBe(`${src}: 0 staged, 0 modified, ${files.length} untracked, 0 deleted, 0 backed up`);
  });

  it('add stages every file', () => {
    expect(addOut.trim()).toBe(`staged ${files.length} new, 0 modified, 0 deleted (0 unchanged)`);
  });

  it('backup exits 0 with a one-line summary and warns that the vault shares the filesystem', () => {
    expect(backup.code, backup.stderr).toBe(0);
    const out = lines(backup.stdout);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(new RegExp(`^backup: ${files.length} files, ${files.length} new versions, .* new, .* deduplicated, \\d+(ms|\\.\\ds)$`));
    expect(backup.stderr).toContain('same filesystem');
    expect(stagingFiles(env)).toEqual([]);
  });

  it('stores every distinct content once, as raw bytes under content/<2 hex>/<sha256>', () => {
    const regular = files.filter((f) => f.symlink === undefined);
    const distinct = new Set(regular.map((f) => sha256(Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content ?? ''))));
    expect(distinct.size).toBe(regular.length - 2); // two empty files, two identical 64 KiB files
    const objects = vaultObjects(env.vaultRoot);
    expect(objects.map((o) => o.id).sort()).toEqual([...distinct].sort());
    for (const o of objects) {
      expect(o.id).toMatch(/^[0-9a-f]{64}$/);
      expect(o.shard).toBe(o.id.slice(0, 2));
      expect(sha256File(o.file)).toBe(o.id);
    }
    // the summary counts the second copy of the identical file as deduplicated
    expect(backup.stdout).not.toMatch(/, 0 B deduplicated/);
  });

  it('uploads the metadata database and host.json to the vault', () => {
    const hostId = JSON.parse(ok(env.run(['config', 'list', '--json'])).stdout).host_id;
    const dir = path.join(env.vaultRoot, 'metadata', hostId);
    const names = fs.readdirSync(dir);
    const dbs = names.filter((n) => /^db-\d{8}T\d{9}Z\.sqlite3\.gz$/.test(n));
    expect(dbs).toHaveLength(1);
    expect(names).toContain('host.json');
    const host = JSON.parse(fs.readFileSync(path.join(dir, 'host.json'), 'utf8'));
    expect(host.host_id).toBe(hostId);
    expect(host.directories).toEqual([src]);
    // the upload is a real SQLite database holding this backup
    const tmp = path.join(env.root, 'meta-check.sqlite3');
    fs.writeFileSync(tmp, zlib.gunzipSync(fs.readFileSync(path.join(dir, dbs[0]!))));
    const db = new BetterSqlite3(tmp, { readonly: true });
    try {
      expect((db.prepare('SELECT COUNT(*) AS n FROM file_snapshot').get() as any).n).toBe(files.length);
    } finally {
      db.close();
    }
  });

  it('after the backup, status is clean and --all lists every file as backed up', () => {
    const r = env.run(['dir', 'status', '--exit-code'], { cwd: src });
    expect(r.code).toBe(0);
    expect(statusLines(r.stdout)).toEqual([]);
    const all = ok(env.run(['dir', 'status', '--all'], { cwd: src })).stdout;
    const ls = statusLines(all);
    expect(ls).toHaveLength(files.length);
    for (const l of ls) expect(l.startsWith('    ')).toBe(false);
    for (const l of ls) expect(l.startsWith('   ')).toBe(true);
    expect(ls).toContain('    '.slice(1) + 'top.txt');
    expect(summaryLine(all)).toBe(`${src}: 0 staged, 0 modified, 0 untracked, 0 deleted, ${files.length} backed up`);
  });

  it('status --json gives directory, files with states and a summary', () => {
    const j = JSON.parse(ok(env.run(['dir', 'status', '--all', '--json'], { cwd: src })).stdout);
    expect(j.directory).toBe(src);
    expect(j.summary).toEqual({ staged: 0, modified: 0, untracked: 0, deleted: 0, backed_up: files.length });
    expect(j.files).toHaveLength(files.length);
    for (const f of j.files) expect(f.state).toBe('backed_up');
    const paths = j.files.map((f: any) => f.path);
    expect(paths).toContain('new\nline.txt');
    expect(paths).toContain('ünïcödé-日本語.txt');
    expect(paths).toContain('links/rel-link');
  });

  it('restoring the directory into a new place gives an identical tree (bytes, modes, mtimes, owners, symlinks, names)', () => {
    const target = path.join(env.work, 'restored');
    const r = ok(env.run(['restore', src, '--target', target]));
    expect(r.stdout).toMatch(new RegExp(`^restored ${files.length} files`));
    expect(compareTrees(src, target)).toEqual([]);
    // spot checks of the hard cases
    expect(fs.readFileSync(bjoin(target, NAME_INVALID)).equals(fs.readFileSync(bjoin(src, NAME_INVALID)))).toBe(true);
    expect(fs.existsSync(bjoin(target, NAME_NEWLINE))).toBe(true);
    expect(fs.existsSync(bjoin(target, DIR_INVALID, 'inner file.txt'))).toBe(true);
    expect(fs.readlinkSync(path.join(target, 'links', 'dangling'))).toBe('does/not/exist');
    expect(fs.lstatSync(path.join(target, 'links', 'dir-link')).isSymbolicLink()).toBe(true);
    expect(fs.statSync(path.join(target, 'exec.sh')).mode & 0o7777).toBe(0o755);
    if (IS_ROOT) {
      const st = fs.statSync(path.join(target, 'owned.txt'));
      expect([st.uid, st.gid]).toEqual([1234, 4321]);
      const lst = fs.lstatSync(path.join(target, 'links', 'owned-link'));
      expect([lst.uid, lst.gid]).toEqual([2345, 5432]);
    }
  });

  it('each run appended a JSON line to the run log', () => {
    ok(env.run(['restore', path.join(src, 'top.txt'), '--target', path.join(env.work, 'runlog-target')]));
    const log = runLog(env);
    const cmds = log.map((l) => l.command);
    expect(cmds).toContain('add');
    expect(cmds).toContain('backup');
    expect(cmds).toContain('restore');
    for (const l of log) expect(typeof l.time).toBe('string');
  });
});

describe('versions: modify, status, add, backup, log, restore an old version', () => {
  let env: BtEnv;
  let src: string;
  let file: string;
  const v1 = 'version one\n';
  const v2 = 'version two, a bit longer\n';
  const atime1 = 1_500_000_000.25;
  let between: string;

  beforeAll(() => {
    env = makeEnv();
    initConfig(env);
    src = path.join(env.work, 'src');
    writeTree(src, [{ path: 'sub/f.txt', content: v1, mode: 0o640 }, { path: 'other.txt', content: 'other' }]);
    file = path.join(src, 'sub', 'f.txt');
    fs.utimesSync(file, atime1, 1_600_000_000);
    touchNs(file, '@1614834367.123456789'); // mtime to the nanosecond, atime kept
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['add'], { cwd: src }));
    ok(env.run(['backup']));
    between = new Date().toISOString();
  });

  it('a content change shows as modified, then staged, and a backup records a second version', async () => {
    await new Promise((r) => setTimeout(r, 30));
    fs.writeFileSync(file, v2);
    fs.chmodSync(file, 0o644);
    const st = ok(env.run(['dir', 'status'], { cwd: src })).stdout;
    expect(statusLines(st)).toEqual([' M sub/f.txt']);
    expect(summaryLine(st)).toContain('1 modified');
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: src }).code).toBe(1);
    expect(ok(env.run(['add', 'sub/f.txt'], { cwd: src })).stdout.trim()).toBe('staged 0 new, 1 modified, 0 deleted (0 unchanged)');
    expect(statusLines(ok(env.run(['dir', 'status'], { cwd: src })).stdout)).toEqual(['A  sub/f.txt']);
    const b = ok(env.run(['backup']));
    expect(b.stdout).toMatch(/^backup: 1 file, 1 new version, /);
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: src }).code).toBe(0);
  });

  it('log lists both versions newest first', () => {
    const text = lines(ok(env.run(['log', 'sub/f.txt'], { cwd: src })).stdout);
    expect(text).toHaveLength(2);
    expect(text[0]!.startsWith(sha256(v2).slice(0, 12))).toBe(true);
    expect(text[1]!.startsWith(sha256(v1).slice(0, 12))).toBe(true);
    // the same file named by an absolute path
    expect(lines(ok(env.run(['log', file])).stdout)).toEqual(text);
  });

  it('log --json gives checksum, times, size, mode, mtime with nanoseconds, deleted, type, changes', () => {
    const j = JSON.parse(ok(env.run(['log', file, '--json'])).stdout);
    expect(j).toHaveLength(2);
    const [newer, older] = j;
    expect(newer.checksum).toBe(sha256(v2));
    expect(older.checksum).toBe(sha256(v1));
    expect(older.size).toBe(Buffer.byteLength(v1));
    expect(newer.size).toBe(Buffer.byteLength(v2));
    expect(older.mode).toBe('0640');
    expect(newer.mode).toBe('0644');
    expect(older.mtime).toBe('2021-03-04T05:06:07.123456789Z');
    expect(newer.mtime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    for (const v of j) {
      expect(v.deleted).toBe(false);
      expect(v.type).toBe('file');
      expect(Array.isArray(v.changes)).toBe(true);
      expect(new Date(v.backed_up_at).toISOString()).toBe(v.backed_up_at);
    }
    expect(Date.parse(newer.backed_up_at)).toBeGreaterThan(Date.parse(older.backed_up_at));
    expect(older.changes).toEqual(['new']);
    expect(newer.changes).toContain('content');
  });

  it('restore --checksum brings the old version back next to the original, byte-identical with its mode, mtime and atime', () => {
    const prefix = sha256(v1).slice(0, 8);
    const r = ok(env.run(['restore', 'sub/f.txt', '--checksum', prefix], { cwd: src }));
    const dest = `${file}.${sha256(v1).slice(0, 12)}`;
    expect(r.stdout).toContain(path.basename(dest));
    // stat before reading: reading updates the atime (relatime)
    const st = fs.statSync(dest, { bigint: true });
    expect(Number(st.mode & 0o7777n)).toBe(0o640);
    expect(st.mtimeNs / 1000n).toBe(1614834367123456n);
    expect(st.atimeNs / 1000n).toBe(1500000000250000n);
    expect(fs.readFileSync(dest, 'utf8')).toBe(v1);
    // the original is untouched
    expect(fs.readFileSync(file, 'utf8')).toBe(v2);
  });

  it('restore never overwrites an existing file without --overwrite', () => {
    const dest = `${file}.${sha256(v1).slice(0, 12)}`;
    fs.writeFileSync(dest, 'precious');
    const r = env.run(['restore', file, '--checksum', sha256(v1).slice(0, 4)]);
    expect(expectCleanError(r, { match: '--overwrite' })).toEqual([]);
    expect(fs.readFileSync(dest, 'utf8')).toBe('precious');
    ok(env.run(['restore', file, '--checksum', sha256(v1).slice(0, 4), '--overwrite']));
    expect(fs.readFileSync(dest, 'utf8')).toBe(v1);
  });

  it('restore without a version takes the latest; --target puts it at its path below the tracked directory', () => {
    const target = path.join(env.work, 't-latest');
    ok(env.run(['restore', file, '--target', target]));
    expect(fs.readFileSync(path.join(target, 'sub', 'f.txt'), 'utf8')).toBe(v2);
    expect(fs.statSync(path.join(target, 'sub', 'f.txt')).mode & 0o7777).toBe(0o644);
    expect(fs.existsSync(path.join(target, 'other.txt'))).toBe(false);
    // into an existing target file: refused, then replaced with --overwrite
    fs.writeFileSync(path.join(target, 'sub', 'f.txt'), 'keep me');
    expect(expectCleanError(env.run(['restore', file, '--target', target]))).toEqual([]);
    expect(fs.readFileSync(path.join(target, 'sub', 'f.txt'), 'utf8')).toBe('keep me');
    ok(env.run(['restore', file, '--target', target, '--overwrite']));
    expect(fs.readFileSync(path.join(target, 'sub', 'f.txt'), 'utf8')).toBe(v2);
  });

  it('restore --at picks the version current at that time (ISO-8601, a date, a date and minute)', () => {
    const t1 = path.join(env.work, 't-at1');
    ok(env.run(['restore', file, '--at', between, '--target', t1]));
    expect(fs.readFileSync(path.join(t1, 'sub', 'f.txt'), 'utf8')).toBe(v1);

    const now = new Date();
    const p = (n: number) => String(n).padStart(2, '0');
    const day = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
    const t2 = path.join(env.work, 't-at2');
    ok(env.run(['restore', file, '--at', day, '--target', t2]));
    expect(fs.readFileSync(path.join(t2, 'sub', 'f.txt'), 'utf8')).toBe(v2);

    const t3 = path.join(env.work, 't-at3');
    ok(env.run(['restore', file, '--at', `${day} ${p(now.getHours())}:${p(now.getMinutes())}`, '--target', t3]));
    expect(fs.readFileSync(path.join(t3, 'sub', 'f.txt'), 'utf8')).toBe(v2);

    // a directory as it was at that time
    const t4 = path.join(env.work, 't-at4');
    ok(env.run(['restore', src, '--at', between, '--target', t4]));
    expect(fs.readFileSync(path.join(t4, 'sub', 'f.txt'), 'utf8')).toBe(v1);
    expect(fs.readFileSync(path.join(t4, 'other.txt'), 'utf8')).toBe('other');
  });

  it('restore --content-only writes the bytes without the recorded mode and times', () => {
    const target = path.join(env.work, 't-content-only');
    ok(env.run(['restore', file, '--checksum', sha256(v1).slice(0, 6), '--content-only', '--target', target]));
    const out = path.join(target, 'sub', 'f.txt');
    expect(fs.readFileSync(out, 'utf8')).toBe(v1);
    const st = fs.statSync(out, { bigint: true });
    expect(st.mtimeNs / 1000n).not.toBe(1614834367123456n);
    expect(Math.abs(Number(st.mtimeNs / 1_000_000n) - Date.now())).toBeLessThan(60_000);
  });

  it('restore of a symlink version recreates the symlink', () => {
    const link = path.join(src, 'link');
    fs.symlinkSync('sub/f.txt', link);
    ok(env.run(['add', 'link'], { cwd: src }));
    ok(env.run(['backup']));
    const j = JSON.parse(ok(env.run(['log', link, '--json'])).stdout);
    expect(j).toHaveLength(1);
    expect(j[0].type).toBe('symlink');
    ok(env.run(['restore', link]));
    const dest = `${link}.${j[0].checksum.slice(0, 12)}`;
    expect(fs.lstatSync(dest).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(dest)).toBe('sub/f.txt');
  });
});

// Both ways of walking: the native scanner, and the JavaScript walk bt falls back to without it.
describe.each([['native scanner', '1'], ['JavaScript walk', '0']])('status codes and what counts as modified (%s)', (_walker, native) => {
  let env: BtEnv;
  let src: string;

  beforeAll(() => {
    env = makeEnv({ env: { BT_NATIVE: native } });
    initConfig(env);
    src = path.join(env.work, 'src');
    writeTree(src, [
      { path: 'content.txt', content: 'abc' },
      { path: 'size.txt', content: 'abc' },
      { path: 'mtime.txt', content: 'abc', mtime: 1_600_000_000 },
      { path: 'mode.txt', content: 'abc', mode: 0o644 },
      { path: 'owner.txt', content: 'abc' },
      { path: 'type.txt', content: 'abc' },
      { path: 'link', symlink: 'content.txt' },
      { path: 'gone.txt', content: 'bye' },
      { path: 'same.txt', content: 'same' },
      { path: 'd/deep.txt', content: 'deep' },
    ]);
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['add'], { cwd: src }));
    ok(env.run(['backup']));
  });

  it('shows " M" for changes of size, mtime, mode, owner, type and symlink target; "??" for new; " D" for deleted with --deleted only', () => {
    const p = (n: string) => path.join(src, n);
    const st0 = fs.statSync(p('content.txt'));
    fs.writeFileSync(p('content.txt'), 'xyz'); // same size,
    fs.utimesSync(p('content.txt'), st0.atime, new Date(st0.mtimeMs + 5000)); // new mtime
    fs.writeFileSync(p('size.txt'), 'abcd');
    fs.utimesSync(p('mtime.txt'), 1_600_000_100, 1_600_000_100);
    fs.chmodSync(p('mode.txt'), 0o600);
    if (IS_ROOT) fs.chownSync(p('owner.txt'), 4242, 4242);
    fs.rmSync(p('type.txt'));
    fs.symlinkSync('content.txt', p('type.txt'));
    fs.rmSync(p('link'));
    fs.symlinkSync('size.txt', p('link'));
    fs.rmSync(p('gone.txt'));
    fs.writeFileSync(p('d/new.txt'), 'new');

    const out = ok(env.run(['dir', 'status'], { cwd: src })).stdout;
    // a deletion not yet backed up is listed like any other change
    const expected = [' M content.txt', '?? d/new.txt', ' D gone.txt', ' M link', ' M mode.txt', ' M mtime.txt', ...(IS_ROOT ? [' M owner.txt'] : []), ' M size.txt', ' M type.txt'];
    expect(statusLines(out)).toEqual(expected);
    expect(summaryLine(out)).toBe(`${src}: 0 staged, ${expected.length - 2} modified, 1 untracked, 1 deleted, ${IS_ROOT ? 2 : 3} backed up`);

    const del = ok(env.run(['dir', 'status', '--deleted'], { cwd: src })).stdout;
    expect(statusLines(del)).toContain(' D gone.txt');

    const all = statusLines(ok(env.run(['dir', 'status', '--all', '--deleted'], { cwd: src })).stdout);
    expect(all).toContain('    same.txt'.slice(1));
    expect(all).toContain(' D gone.txt');
    expect(all).toContain('   d/deep.txt');

    const j = JSON.parse(ok(env.run(['dir', 'status', '--json', '--deleted'], { cwd: src })).stdout);
    const states = Object.fromEntries(j.files.map((f: any) => [f.path, f.state]));
    expect(states['gone.txt']).toBe('deleted');
    expect(j.files.find((f: any) => f.path === 'gone.txt')).toEqual({ path: 'gone.txt', state: 'deleted', pending: true });
    expect(states['d/new.txt']).toBe('untracked');
    expect(states['mode.txt']).toBe('modified');
    expect(j.summary.deleted).toBe(1);
  });

  it('status of a subdirectory, and paths shown relative to the working directory', () => {
    const sub = ok(env.run(['dir', 'status', 'd'], { cwd: src })).stdout;
    expect(statusLines(sub)).toEqual(['?? d/new.txt']);
    const fromInside = ok(env.run(['dir', 'status', '.'], { cwd: path.join(src, 'd') })).stdout;
    expect(statusLines(fromInside)).toEqual(['?? new.txt']);
    const whole = ok(env.run(['dir', 'status', src], { cwd: path.join(src, 'd') })).stdout;
    expect(statusLines(whole)).toContain('?? new.txt');
    expect(statusLines(whole)).toContain(' M ../size.txt');
  });

  it('--exit-code is 1 while anything is not backed up, 0 once clean (a recorded deletion is clean)', () => {
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: src }).code).toBe(1);
    ok(env.run(['add'], { cwd: src }));
    const staged = statusLines(ok(env.run(['dir', 'status'], { cwd: src })).stdout);
    expect(staged).toContain('D  gone.txt'); // a staged deletion, as git shows it
    const sj = JSON.parse(ok(env.run(['dir', 'status', '--json'], { cwd: src })).stdout);
    expect(sj.files.find((f: any) => f.path === 'gone.txt')).toEqual({ path: 'gone.txt', state: 'staged', op: 'delete' });
    expect(sj.files.find((f: any) => f.path === 'd/new.txt')).toEqual({ path: 'd/new.txt', state: 'staged' });
    for (const l of staged.filter((x) => x !== 'D  gone.txt')) expect(l.startsWith('A ')).toBe(true);
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: src }).code).toBe(1);
    ok(env.run(['backup']));
    const r = env.run(['dir', 'status', '--exit-code', '--deleted'], { cwd: src });
    expect(r.code).toBe(0);
    expect(statusLines(r.stdout)).toEqual(['-D gone.txt']); // recorded: history, listed on request
    const j = JSON.parse(ok(env.run(['dir', 'status', '--json', '--deleted'], { cwd: src })).stdout);
    expect(j.files).toEqual([{ path: 'gone.txt', state: 'deleted', pending: false }]);
    expect(statusLines(ok(env.run(['dir', 'status'], { cwd: src })).stdout)).toEqual([]);
  });
});

describe('status where names sort around a directory\'s slash', () => {
  // The walk and the database are merged in byte order: '-' and '.' sort before '/', '0' after it.
  it('classifies files next to, inside and in place of directories of the same prefix', () => {
    const env = makeEnv();
    initConfig(env);
    const src = path.join(env.work, 'src');
    writeTree(src, [
      { path: 'x-1', content: 'a' }, { path: 'x.txt', content: 'b' }, { path: 'x/y', content: 'c' }, { path: 'x/z/w', content: 'd' },
      { path: 'x0', content: 'e' }, { path: 'ign/a', content: 'f' }, { path: 'p', content: 'g' }, { path: 'q/r', content: 'h' },
    ]);
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['add'], { cwd: src }));
    ok(env.run(['backup']));
    fs.writeFileSync(path.join(src, 'x/y'), 'cc');
    fs.rmSync(path.join(src, 'x.txt'));
    fs.rmSync(path.join(src, 'x/z'), { recursive: true });
    fs.writeFileSync(path.join(src, 'x/new'), 'i');
    fs.writeFileSync(path.join(src, 'x-0'), 'j');
    fs.writeFileSync(path.join(src, '.btignore'), 'ign/\n'); // a tracked file now ignored is not a deletion
    fs.rmSync(path.join(src, 'p'));
    fs.mkdirSync(path.join(src, 'p'));
    fs.writeFileSync(path.join(src, 'p/inside'), 'k'); // a file replaced by a directory
    fs.rmSync(path.join(src, 'q'), { recursive: true });
    fs.writeFileSync(path.join(src, 'q'), 'l'); // a directory replaced by a file

    const states = (args: string[]) => {
      const j = JSON.parse(ok(env.run(['dir', 'status', '--all', '--deleted', '--json', ...args], { cwd: src })).stdout);
      return j.files.map((f: { path: string; state: string }) => `${f.state} ${f.path}`);
    };
    expect(states([])).toEqual([
      'untracked .btignore', 'deleted p', 'untracked p/inside', 'untracked q', 'deleted q/r', 'untracked x-0', 'backed_up x-1',
      'deleted x.txt', 'untracked x/new', 'modified x/y', 'deleted x/z/w', 'backed_up x0',
    ]);
    expect(states(['x'])).toEqual(['untracked x/new', 'modified x/y', 'deleted x/z/w']);
    expect(states(['x.txt'])).toEqual(['deleted x.txt']);
    ok(env.run(['add'], { cwd: src }));
    ok(env.run(['backup']));
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: src }).code).toBe(0);
    expect(states([]).filter((l: string) => !l.startsWith('backed_up'))).toEqual(['deleted p', 'deleted q/r', 'deleted x.txt', 'deleted x/z/w']);
  });
});

describe('deletions and backup -a', () => {
  let env: BtEnv;
  let src: string;
  let beforeDelete: string;

  beforeAll(async () => {
    env = makeEnv();
    initConfig(env);
    src = path.join(env.work, 'src');
    writeTree(src, [{ path: 'keep.txt', content: 'keep' }, { path: 'doomed.txt', content: 'doomed', mode: 0o600 }, { path: 'edit.txt', content: 'edit 1' }]);
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['add'], { cwd: src }));
    ok(env.run(['backup']));
    await new Promise((r) => setTimeout(r, 20));
    beforeDelete = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
  });

  it('a deleted file shows in status until its deletion is backed up, then only with --deleted', () => {
    fs.rmSync(path.join(src, 'doomed.txt'));
    expect(statusLines(ok(env.run(['dir', 'status'], { cwd: src })).stdout)).toEqual([' D doomed.txt']);
    expect(statusLines(ok(env.run(['dir', 'status', '--deleted'], { cwd: src })).stdout)).toEqual([' D doomed.txt']);
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: src }).code).toBe(1);
    expect(ok(env.run(['add'], { cwd: src })).stdout.trim()).toBe('staged 0 new, 0 modified, 1 deleted (2 unchanged)');
    const b = ok(env.run(['backup']));
    expect(b.stdout).toMatch(/^backup: 1 file, 0 new versions, 1 deleted/);
    expect(statusLines(ok(env.run(['dir', 'status'], { cwd: src })).stdout)).toEqual([]);
    expect(statusLines(ok(env.run(['dir', 'status', '--deleted'], { cwd: src })).stdout)).toEqual(['-D doomed.txt']);
    const log = JSON.parse(ok(env.run(['log', path.join(src, 'doomed.txt'), '--json'])).stdout);
    expect(log).toHaveLength(2);
    expect(log[0].deleted).toBe(true);
    expect(log[1].deleted).toBe(false);
  });

  it('a directory restore leaves out files deleted by then, and includes them at an earlier time', () => {
    const latest = path.join(env.work, 'r-latest');
    ok(env.run(['restore', src, '--target', latest]));
    expect(fs.readdirSync(latest).sort()).toEqual(['edit.txt', 'keep.txt']);
    // into the same target again: refused, then replaced with --overwrite
    fs.writeFileSync(path.join(latest, 'keep.txt'), 'scribbled over');
    expect(expectCleanError(env.run(['restore', src, '--target', latest]), { match: '--overwrite' })).toEqual([]);
    expect(fs.readFileSync(path.join(latest, 'keep.txt'), 'utf8')).toBe('scribbled over');
    ok(env.run(['restore', src, '--target', latest, '--overwrite']));
    expect(fs.readFileSync(path.join(latest, 'keep.txt'), 'utf8')).toBe('keep');
    expect(compareTrees(path.join(src), latest).filter((d) => !d.startsWith('missing: "doomed'))).toEqual([]);
    const earlier = path.join(env.work, 'r-earlier');
    ok(env.run(['restore', src, '--target', earlier, '--at', beforeDelete]));
    expect(fs.readdirSync(earlier).sort()).toEqual(['doomed.txt', 'edit.txt', 'keep.txt']);
    expect(fs.readFileSync(path.join(earlier, 'doomed.txt'), 'utf8')).toBe('doomed');
    expect(fs.statSync(path.join(earlier, 'doomed.txt')).mode & 0o7777).toBe(0o600);
  });

  it('a deleted file can still be restored by checksum', () => {
    const target = path.join(env.work, 'r-deleted');
    ok(env.run(['restore', path.join(src, 'doomed.txt'), '--checksum', sha256('doomed').slice(0, 10), '--target', target]));
    expect(fs.readFileSync(path.join(target, 'doomed.txt'), 'utf8')).toBe('doomed');
  });

  it('backup -a stages new, modified and deleted files first, like commit -a', () => {
    fs.writeFileSync(path.join(src, 'edit.txt'), 'edit 2, longer');
    fs.writeFileSync(path.join(src, 'fresh.txt'), 'fresh');
    fs.rmSync(path.join(src, 'keep.txt'));
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: src }).code).toBe(1);
    const b = ok(env.run(['backup', '-a']));
    expect(b.stdout).toMatch(/^backup: 3 files, 2 new versions, 1 deleted/);
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: src }).code).toBe(0);
    expect(lines(ok(env.run(['log', 'edit.txt'], { cwd: src })).stdout)).toHaveLength(2);
    expect(JSON.parse(ok(env.run(['log', 'keep.txt', '--json'], { cwd: src })).stdout)[0].deleted).toBe(true);
    const again = ok(env.run(['backup', '--all']));
    expect(again.stdout).toMatch(/^backup: nothing to back up/);
  });

  it('backup with nothing staged says so and exits 0', () => {
    const r = ok(env.run(['backup']));
    expect(lines(r.stdout)).toHaveLength(1);
    expect(r.stdout).toMatch(/^backup: nothing to back up \(.*\)$/m);
  });
});

describe('a backup of many commits', () => {
  it('records every file across commits of 7 files (BT_COMMIT_FILES=7, 61 files)', () => {
    const env = makeEnv({ env: { BT_COMMIT_FILES: '7' } });
    initConfig(env);
    const src = path.join(env.work, 'many');
    const tree = Array.from({ length: 60 }, (_, i) => ({ path: `d${i % 6}/f${i}.txt`, content: `content ${i}\n`.repeat(i + 1) }));
    tree.push({ path: 'd0/same-as-f1.txt', content: tree[1]!.content });
    writeTree(src, tree);
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['add'], { cwd: src }));
    expect(ok(env.run(['backup'])).stdout).toMatch(/^backup: 61 files, 61 new versions/);
    // A commit takes the files done when it is due: 7, plus fewer than the 8 the pool has in flight while it
    // waits for the commit before it. So 61 files make at least 5 commits (more when 10 s pass).
    expect(runLog(env).at(-1)!.commits).toBeGreaterThanOrEqual(5);
    expect(stagingFiles(env)).toEqual([]);
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: src }).code).toBe(0);
    withDb(env.dbFile, (db) => {
      expect(db.prepare('SELECT count(*) FROM file WHERE current_snapshot_id IS NOT NULL').pluck().get()).toBe(61);
      expect(db.prepare('SELECT count(*) FROM content').pluck().get()).toBe(60);
    });
    expect(vaultObjects(env.vaultRoot).length).toBe(60);
    const back = path.join(env.work, 'back');
    ok(env.run(['restore', src, '--target', back]));
    expect(compareTrees(src, back)).toEqual([]);
  });
});

describe('deduplication', () => {
  it('identical content is stored once across files, directories and backups', () => {
    const env = makeEnv();
    initConfig(env);
    const a = path.join(env.work, 'a');
    const b = path.join(env.work, 'b');
    const same = Buffer.alloc(300_000, 7);
    writeTree(a, [{ path: 'one.bin', content: same }, { path: 'x/two.bin', content: same }, { path: 'other.txt', content: 'other' }]);
    writeTree(b, [{ path: 'three.bin', content: same }]);
    ok(env.run(['dir', 'init', a]));
    ok(env.run(['dir', 'init', b]));
    ok(env.run(['add'], { cwd: a }));
    ok(env.run(['add'], { cwd: b }));
    const first = ok(env.run(['backup']));
    expect(first.stdout).toMatch(/^backup: 4 files, 4 new versions, /);
    expect(vaultObjects(env.vaultRoot).map((o) => o.id).sort()).toEqual([sha256(same), sha256('other')].sort());

    // the same bytes again under a new name and as a new version of another file
    fs.writeFileSync(path.join(a, 'four.bin'), same);
    fs.writeFileSync(path.join(a, 'other.txt'), same);
    const second = ok(env.run(['backup', '-a']));
    expect(second.stdout).toMatch(/^backup: 2 files, 2 new versions, 0 B new, 586 KiB deduplicated/);
    expect(vaultObjects(env.vaultRoot)).toHaveLength(2);
    withDb(env.dbFile, (db) => {
      expect((db.prepare('SELECT COUNT(*) AS n FROM content').get() as any).n).toBe(2);
    });
  });
});

describe('ignore rules', () => {
  it('config ignore_list and .btignore (name globs at any depth, anchored paths, dir-only patterns, comments)', () => {
    const env = makeEnv();
    initConfig(env);
    const src = path.join(env.work, 'src');
    writeTree(src, [
      { path: '.btignore', content: '# build output\nbuild/\n*.log\n/docs/secret.txt\n\n  # indented comment\ncache\n' },
      { path: 'keep.txt', content: 'k' },
      { path: 'a.log', content: 'l' },
      { path: 'deep/er/b.log', content: 'l' },
      { path: 'build/out.o', content: 'o' },
      { path: 'sub/build/out.o', content: 'o' },
      { path: 'sub/build.txt', content: 'not a dir match' },
      { path: 'x/build', content: 'a FILE named build is not matched by build/' },
      { path: 'docs/secret.txt', content: 's' },
      { path: 'docs/public.txt', content: 'p' },
      { path: 'other/docs/secret.txt', content: 'anchored patterns match from the root only' },
      { path: 'cache/c1', content: 'c' },
      { path: 'n/cache', content: 'a file named cache' },
      { path: 'swap.swp', content: 'default ignore list' },
      { path: '# build output', content: 'a file whose name looks like the comment' },
    ]);
    ok(env.run(['dir', 'init', src]));
    const r = ok(env.run(['add'], { cwd: src }));
    const j = JSON.parse(ok(env.run(['dir', 'status', '--json'], { cwd: src })).stdout);
    const staged = j.files.map((f: any) => f.path).filter((p: string) => p !== '.btignore').sort();
    expect(staged).toEqual(['# build output', 'docs/public.txt', 'keep.txt', 'other/docs/secret.txt', 'sub/build.txt', 'x/build'].sort());
    expect(r.stdout).toMatch(/^staged \d+ new/);

    // a pattern added to the config's ignore_list applies too
    const cfg = fs.readFileSync(env.configFile, 'utf8').replace(/ignore_list = \[/, 'ignore_list = [ "keep.*", ');
    fs.writeFileSync(env.configFile, cfg);
    ok(env.run(['backup']));
    fs.writeFileSync(path.join(src, 'keep.md'), 'ignored by config');
    const st = ok(env.run(['dir', 'status'], { cwd: src })).stdout;
    expect(st).not.toContain('keep.md');
  });

  it('base_dir reached through a symlink is still never walked, staged or tracked', () => {
    const env = makeEnv();
    const real = path.join(env.work, 'real');
    writeTree(path.join(real, 'src'), [{ path: 'a.txt', content: 'a' }]);
    fs.symlinkSync(real, path.join(env.work, 'link'));
    const base = path.join(env.work, 'link', 'src', 'btbase');
    const run = (args: string[], cwd?: string) => env.run(args, { cwd, env: { BT_BASE_DIR: base } });
    ok(run(['config', 'init']));
    const src = path.join(real, 'src');
    ok(run(['dir', 'init', src]));
    for (let i = 0; i < 2; i++) expect(ok(run(['backup', '-a'])).stdout).toMatch(/^backup: (1 file, 1 new version|nothing to back up)/);
    expect(vaultObjects(path.join(real, 'src', 'btbase', 'vault')).map((o) => o.id)).toEqual([sha256('a')]);
    expect(run(['add', 'btbase'], src).code).toBe(2);
    expect(run(['dir', 'init', path.join(src, 'btbase')]).code).toBe(2);
  });

  it('a path named to add is refused when ignored or inside base_dir, unless it is a tracked file; nothing is staged', () => {
    const env = makeEnv();
    const src = path.join(env.work, 'src');
    // base_dir inside the tracked directory
    const base = path.join(src, 'btbase');
    const env2 = { ...env, run: (args: string[], o: { cwd?: string } = {}) => env.run(args, { ...o, env: { BT_BASE_DIR: base } }) };
    writeTree(src, [
      { path: '.btignore', content: '*.tmp\nbuild/\n' },
      { path: 'keep.txt', content: 'k' },
      { path: 'c.tmp', content: 't' },
      { path: 'build/deep/out.o', content: 'o' },
    ]);
    ok(env2.run(['config', 'init']));
    ok(env2.run(['dir', 'init', src]));
    ok(env2.run(['backup', '-a']));
    for (const [arg, why] of [
      ['c.tmp', `add: ${path.join(src, 'c.tmp')} is ignored by the ignore_list or ${src}/.btignore`],
      ['build/deep', `add: ${path.join(src, 'build/deep')} is ignored by the ignore_list or ${src}/.btignore`],
      ['build/deep/out.o', `add: ${path.join(src, 'build/deep/out.o')} is ignored by the ignore_list or ${src}/.btignore`],
      ['btbase', `add: ${base} is inside bt's own base directory (${base}), which is never backed up`],
      [path.join('btbase', 'data'), `add: ${path.join(base, 'data')} is inside bt's own base directory (${base}), which is never backed up`],
    ]) {
      const r = env2.run(['add', 'keep.txt', arg!], { cwd: src });
      expect(r.code, arg).toBe(2);
      expect(r.stderr.trim()).toBe(`bt: ${why}`);
    }
    fs.writeFileSync(path.join(src, 'keep.txt'), 'k2');
    expect(statusLines(ok(env2.run(['dir', 'status'], { cwd: src })).stdout)).toEqual([' M keep.txt']);
    // a tracked file that a later rule ignores can still be staged by name
    fs.appendFileSync(path.join(src, '.btignore'), 'keep.txt\n');
    expect(ok(env2.run(['add', 'keep.txt'], { cwd: src })).stdout.trim()).toBe('staged 0 new, 1 modified, 0 deleted (0 unchanged)');
  });
});

describe('ignore rules: negation', () => {
  it("a '!' line is skipped with a warning naming it, instead of ignoring every other file", () => {
    const env = makeEnv();
    initConfig(env);
    const src = path.join(env.work, 'neg');
    writeTree(src, [
      { path: '.btignore', content: '*.log\n!keep.log\n' },
      { path: 'a.txt', content: 'a' },
      { path: 'b.log', content: 'b' },
      { path: 'keep.log', content: 'k' },
    ]);
    ok(env.run(['dir', 'init', src]));
    const r = ok(env.run(['add'], { cwd: src }));
    expect(r.stdout.trim()).toBe('staged 2 new, 0 modified, 0 deleted (0 unchanged)');
    expect(r.stderr).toContain(`ignore pattern '!keep.log' in ${path.join(src, '.btignore')} skipped: negation ('!') is not supported`);
  });
});

describe('files bt cannot read', () => {
  it('a FIFO is skipped and reported; the rest is backed up', () => {
    const env = makeEnv();
    initConfig(env);
    const src = path.join(env.work, 'src');
    writeTree(src, [{ path: 'a.txt', content: 'a' }]);
    expect(spawnSync('mkfifo', [path.join(src, 'pipe')]).status).toBe(0);
    ok(env.run(['dir', 'init', src]));
    const add = ok(env.run(['add'], { cwd: src }));
    expect(add.stderr).toMatch(/fifo.*pipe/);
    expect(add.stdout.trim()).toBe('staged 1 new, 0 modified, 0 deleted (0 unchanged)');
    ok(env.run(['backup']));
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: src }).code).toBe(0);
  });

  // As root every file is readable, so bt runs as nobody there; a non-root runner uses itself.
  // (Skipped only when root cannot run bt as nobody, e.g. a checkout under /root.)
  const user = IS_ROOT ? { uid: 65534, gid: 65534 } : undefined;
  const possible = user === undefined || canRunAs(user);

  for (const [walker, native] of [['native scanner', '1'], ['JavaScript walk', '0']] as const) {
    it.skipIf(!possible)(`an unreadable directory is reported by add and status, and the rest is staged (${walker})`, () => {
      const env = makeEnv({ user, env: { BT_NATIVE: native } });
      const src = path.join(env.work, 'src');
      writeTree(src, [{ path: 'a.txt', content: 'a' }, { path: 'shut/x.txt', content: 'x' }, { path: 'z/z.txt', content: 'z' }]);
      env.chownAll();
      fs.chmodSync(path.join(src, 'shut'), 0o000);
      try {
        ok(env.run(['config', 'init']));
        ok(env.run(['dir', 'init', src]));
        const st = ok(env.run(['dir', 'status'], { cwd: src }));
        expect(statusLines(st.stdout)).toEqual(['?? a.txt', '?? z/z.txt']);
        expect(st.stderr).toContain(`bt: cannot read directory: EACCES: ${path.join(src, 'shut')}`);
        // add stages the rest, names what it could not read even with -q, and exits 1
        const add = env.run(['add', '-q'], { cwd: src });
        expect(add.code).toBe(1);
        expect(lines(add.stderr)).toEqual([`bt: cannot read directory: EACCES: ${path.join(src, 'shut')}`, 'bt: 1 path could not be read: what lies there was not staged']);
        expect(statusLines(ok(env.run(['dir', 'status'], { cwd: src })).stdout)).toEqual(['A  a.txt', 'A  z/z.txt']);
      } finally {
        fs.chmodSync(path.join(src, 'shut'), 0o755);
      }
    });
  }

  it.skipIf(!possible)('a directory of tracked files that became unreadable stops nothing: backup -a stores the rest and deletes nothing', () => {
    const env = makeEnv({ user });
    const src = path.join(env.work, 'src');
    writeTree(src, [{ path: 'a.txt', content: 'a' }, { path: 'shut/x.txt', content: 'x' }]);
    env.chownAll();
    ok(env.run(['config', 'init']));
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['backup', '-a']));
    fs.writeFileSync(path.join(src, 'a.txt'), 'a, changed');
    fs.chmodSync(path.join(src, 'shut'), 0o000);
    try {
      const st = ok(env.run(['dir', 'status', '--deleted'], { cwd: src }));
      expect(statusLines(st.stdout)).toEqual([' M a.txt']);
      expect(st.stderr).toContain(`bt: cannot check (permission denied): ${path.join(src, 'shut', 'x.txt')}`);
      // what a timer runs: the rest is stored, and the run says what it could not read (with -q too) and exits 1
      const b = env.run(['backup', '-a', '-q']);
      expect(b.code).toBe(1);
      expect(b.stdout).toBe('');
      expect(lines(b.stderr)).toEqual([
        `bt: cannot read directory: EACCES: ${path.join(src, 'shut')}`,
        `bt: cannot check (permission denied): ${path.join(src, 'shut', 'x.txt')}`,
        'bt: 2 paths could not be read: what lies there was not staged',
      ]);
      expect(runLog(env).filter((l) => l.command === 'backup').pop()!.status).toBe('partial');
      expect(lines(ok(env.run(['log', 'a.txt'], { cwd: src })).stdout)).toHaveLength(2);
      expect(lines(ok(env.run(['log', 'shut/x.txt'], { cwd: src })).stdout)).toHaveLength(1);
      expect(env.run(['dir', 'status', '--exit-code', '-q'], { cwd: src }).code).toBe(1);
    } finally {
      fs.chmodSync(path.join(src, 'shut'), 0o755);
    }
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: src }).code).toBe(0);
  });

  it.skipIf(!possible)('an unreadable file is reported, stays staged, the rest is recorded, and the backup exits non-zero', () => {
    const env = makeEnv({ user });
    const src = path.join(env.work, 'src');
    writeTree(src, [{ path: 'a.txt', content: 'a' }, { path: 'b/b.txt', content: 'bb' }, { path: 'locked.txt', content: 'you cannot read me' }]);
    env.chownAll();
    fs.chmodSync(path.join(src, 'locked.txt'), 0o000);
    ok(env.run(['config', 'init']));
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['add'], { cwd: src }));
    const b = env.run(['backup']);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain('locked.txt');
    expect(b.stderr).toMatch(/permission denied/i);
    expect(/^\s+at /m.test(b.stderr)).toBe(false);
    expect(b.stdout).toMatch(/^backup: 3 files, 2 new versions, 1 failed/);
    // the others are recorded and restorable
    expect(lines(ok(env.run(['log', 'a.txt'], { cwd: src })).stdout)).toHaveLength(1);
    expect(lines(ok(env.run(['log', 'b/b.txt'], { cwd: src })).stdout)).toHaveLength(1);
    // the unreadable one stays staged
    const st = ok(env.run(['dir', 'status'], { cwd: src })).stdout;
    expect(statusLines(st)).toEqual(['A  locked.txt']);
    expect(stagingFiles(env).length).toBeGreaterThan(0);
    // quiet still names the file the exit status is about
    const again = env.run(['backup', '-q']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`bt: cannot back up ${path.join(src, 'locked.txt')}: permission denied (left staged)\n`);
    // once readable, the next backup stores it and exits 0
    fs.chmodSync(path.join(src, 'locked.txt'), 0o644);
    const fixed = ok(env.run(['backup']));
    expect(fixed.stdout).toMatch(/^backup: 1 file, 1 new version, /);
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: src }).code).toBe(0);
    const log = runLog(env).filter((l) => l.command === 'backup');
    expect(log.some((l) => l.status === 'partial' || (l.failed as number) > 0)).toBe(true);
  });
});

describe('a file changed between add and backup', () => {
  it('is backed up as it is at backup time and reported; an unchanged one is not', async () => {
    const env = makeEnv();
    initConfig(env);
    const src = path.join(env.work, 'src');
    writeTree(src, [{ path: 'edited.txt', content: 'as staged' }, { path: 'same.txt', content: 'same' }]);
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['add'], { cwd: src }));
    await new Promise((r) => setTimeout(r, 20));
    fs.writeFileSync(path.join(src, 'edited.txt'), 'as it is at backup time');
    const b = ok(env.run(['backup']));
    expect(b.stderr).toContain(`bt: warning: changed since it was staged, backed up as it is now: ${path.join(src, 'edited.txt')}\n`);
    expect(b.stderr).not.toContain('same.txt');
    const [v] = JSON.parse(ok(env.run(['log', 'edited.txt', '--json'], { cwd: src })).stdout);
    expect(v.checksum).toBe(sha256('as it is at backup time'));
    expect(runLog(env).filter((l) => l.command === 'backup').pop()!.changed_since_staged).toBe(1);
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: src }).code).toBe(0);
  });
});

describe('run log', () => {
  // "Each run appends a JSON line to <base_dir>/log/bt.jsonl."
  let env: BtEnv;
  let src: string;
  beforeAll(() => {
    env = makeEnv();
    initConfig(env);
    src = path.join(env.work, 'src');
    writeTree(src, [{ path: 'f', content: 'f' }]);
  });

  const steps: Array<[string, (e: BtEnv, s: string) => string[]]> = [
    ['dir init', (_e, s) => ['dir', 'init', s]],
    ['add', () => ['add']],
    ['dir status', () => ['dir', 'status']],
    ['backup', () => ['backup']],
    ['backup (nothing to do)', () => ['backup']],
    ['log', () => ['log', 'f']],
    ['dir list', () => ['dir', 'list']],
    ['restore', (_e, s) => ['restore', path.join(s, 'f')]],
  ];
  for (const [name, args] of steps) {
    it(`bt ${name} appends one JSON line`, () => {
      const before = runLog(env).length;
      ok(env.run(args(env, src), { cwd: src }));
      const after = runLog(env);
      expect(after.length).toBe(before + 1);
      expect(typeof after.at(-1)!.time).toBe('string');
    });
  }

  it('a backup that fails (its only vault is missing) appends one JSON line too', () => {
    fs.writeFileSync(path.join(src, 'f'), 'changed, so there is work');
    ok(env.run(['add'], { cwd: src }));
    const before = runLog(env).length;
    fs.renameSync(env.vaultRoot, env.vaultRoot + '.away');
    try {
      const r = env.run(['backup']);
      expect(r.code).not.toBe(0);
    } finally {
      fs.renameSync(env.vaultRoot + '.away', env.vaultRoot);
    }
    const after = runLog(env);
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)!.command).toBe('backup');
  });
});

describe('tree helpers sanity', () => {
  it('compareTrees notices content, mode, mtime and symlink differences', () => {
    const env = makeEnv();
    const a = path.join(env.work, 'a');
    const b = path.join(env.work, 'b');
    const spec = [{ path: 'f', content: 'x', mtime: 1_000_000 }, { path: 'l', symlink: 't', mtime: 1_000_000 }];
    writeTree(a, spec);
    writeTree(b, spec);
    expect(compareTrees(a, b)).toEqual([]);
    fs.chmodSync(path.join(b, 'f'), 0o600);
    fs.utimesSync(path.join(b, 'f'), 1_000_000, 1_000_000.000001);
    fs.rmSync(path.join(b, 'l'));
    fs.symlinkSync('u', path.join(b, 'l'));
    const d = compareTrees(readTree(a), readTree(b), { symlinkTimes: false });
    expect(d.some((x) => x.includes('mode'))).toBe(true);
    expect(d.some((x) => x.includes('mtime'))).toBe(true);
    expect(d.some((x) => x.includes('symlink target'))).toBe(true);
  });
});
