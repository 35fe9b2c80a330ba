// Tracked directories: init (default ., inside a tracked one, above tracked
// ones), list, remove with history kept.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, expectCleanError, initConfig, lines, makeEnv, ok, sha256, stagingFiles, writeTree, withDb } from './helpers.js';

afterAll(cleanupAll);

describe('bt dir init / list', () => {
  it('tracks the working directory by default and lists it as never backed up', () => {
    const env = makeEnv();
    initConfig(env);
    const d = path.join(env.work, 'docs');
    writeTree(d, [{ path: 'a.txt', content: 'a' }, { path: 'b/c.txt', content: 'c' }]);
    const r = ok(env.run(['dir', 'init'], { cwd: d }));
    expect(r.stdout).toContain(d);
    expect(lines(ok(env.run(['dir', 'list'])).stdout)).toEqual([`${d}\t0 files\tnever backed up`]);
    expect(JSON.parse(ok(env.run(['dir', 'list', '--json'])).stdout)).toEqual([{ path: d, files: 0, last_backup_at: null }]);

    ok(env.run(['add'], { cwd: d }));
    const before = Date.now();
    ok(env.run(['backup']));
    const after = Date.now();
    const text = lines(ok(env.run(['dir', 'list'])).stdout);
    expect(text).toHaveLength(1);
    expect(text[0]).toMatch(new RegExp(`^${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\t2 files\\tlast backup \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d`));
    const j = JSON.parse(ok(env.run(['dir', 'list', '--json'])).stdout);
    expect(j).toHaveLength(1);
    expect(j[0].path).toBe(d);
    expect(j[0].files).toBe(2);
    const t = Date.parse(j[0].last_backup_at);
    expect(t).toBeGreaterThanOrEqual(before - 1000);
    expect(t).toBeLessThanOrEqual(after + 1000);
  });

  it('inside an already tracked directory it says "already tracked" and exits 0', () => {
    const env = makeEnv();
    initConfig(env);
    const d = path.join(env.work, 'top');
    fs.mkdirSync(path.join(d, 'inner', 'deeper'), { recursive: true });
    ok(env.run(['dir', 'init', d]));
    const r = ok(env.run(['dir', 'init', path.join(d, 'inner', 'deeper')]));
    expect(r.stdout).toContain(`already tracked: ${d}`);
    const again = ok(env.run(['dir', 'init'], { cwd: d }));
    expect(again.stdout).toContain('already tracked');
    expect(JSON.parse(ok(env.run(['dir', 'list', '--json'])).stdout).map((x: any) => x.path)).toEqual([d]);
  });

  it('relative paths and symlinked paths resolve to the real directory', () => {
    const env = makeEnv();
    initConfig(env);
    const real = path.join(env.work, 'real');
    fs.mkdirSync(real);
    fs.symlinkSync(real, path.join(env.work, 'alias'));
    ok(env.run(['dir', 'init', 'alias'], { cwd: env.work }));
    expect(JSON.parse(ok(env.run(['dir', 'list', '--json'])).stdout).map((x: any) => x.path)).toEqual([real]);
  });

  it('refuses a missing path or a file', () => {
    const env = makeEnv();
    initConfig(env);
    fs.writeFileSync(path.join(env.work, 'file'), 'x');
    expect(expectCleanError(env.run(['dir', 'init', path.join(env.work, 'nope')]), { match: 'nope' })).toEqual([]);
    expect(expectCleanError(env.run(['dir', 'init', path.join(env.work, 'file')]))).toEqual([]);
    expect(JSON.parse(ok(env.run(['dir', 'list', '--json'])).stdout)).toEqual([]);
  });

  it('above tracked directories it absorbs them with their files and history', async () => {
    const env = makeEnv();
    initConfig(env);
    const parent = path.join(env.work, 'parent');
    const a = path.join(parent, 'a');
    const b = path.join(parent, 'x', 'b');
    writeTree(a, [{ path: 'f.txt', content: 'one' }]);
    writeTree(b, [{ path: 'g.txt', content: 'gee' }]);
    writeTree(parent, [{ path: 'loose.txt', content: 'loose' }]);
    ok(env.run(['dir', 'init', a]));
    ok(env.run(['dir', 'init', b]));
    ok(env.run(['add'], { cwd: a }));
    ok(env.run(['add'], { cwd: b }));
    ok(env.run(['backup']));
    await new Promise((r) => setTimeout(r, 20));
    fs.writeFileSync(path.join(a, 'f.txt'), 'two!');
    ok(env.run(['add'], { cwd: a }));
    ok(env.run(['backup']));
    // something staged in a child before the parent absorbs it
    fs.writeFileSync(path.join(b, 'staged.txt'), 'staged before absorb');
    ok(env.run(['add'], { cwd: b }));

    const r = ok(env.run(['dir', 'init', parent]));
    expect(r.stdout).toContain(parent);
    expect(r.stdout).toContain('absorbed');
    expect(r.stdout).toContain(a);
    expect(r.stdout).toContain(b);

    const list = JSON.parse(ok(env.run(['dir', 'list', '--json'])).stdout);
    expect(list.map((x: any) => x.path)).toEqual([parent]);
    expect(list[0].files).toBe(2);
    expect(lines(ok(env.run(['dir', 'list'])).stdout)).toHaveLength(1);

    // history of a file from the absorbed dir
    const log = JSON.parse(ok(env.run(['log', path.join(a, 'f.txt'), '--json'])).stdout);
    expect(log.map((v: any) => v.checksum)).toEqual([sha256('two!'), sha256('one')]);
    expect(lines(ok(env.run(['log', 'a/f.txt'], { cwd: parent })).stdout)).toHaveLength(2);

    // status from the parent: old files are backed up, not untracked
    const st = JSON.parse(ok(env.run(['dir', 'status', '--all', '--json'], { cwd: parent })).stdout);
    expect(st.directory).toBe(parent);
    const states = Object.fromEntries(st.files.map((f: any) => [f.path, f.state]));
    expect(states).toEqual({ 'a/f.txt': 'backed_up', 'x/b/g.txt': 'backed_up', 'x/b/staged.txt': 'staged', 'loose.txt': 'untracked' });

    // the staged file is backed up into the parent, and old versions still restore
    ok(env.run(['add'], { cwd: parent }));
    ok(env.run(['backup']));
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: parent }).code).toBe(0);
    const target = path.join(env.work, 'restored');
    ok(env.run(['restore', path.join(a, 'f.txt'), '--checksum', sha256('one').slice(0, 6), '--target', target]));
    expect(fs.readFileSync(path.join(target, 'a', 'f.txt'), 'utf8')).toBe('one');
    const whole = path.join(env.work, 'whole');
    ok(env.run(['restore', parent, '--target', whole]));
    expect(fs.readFileSync(path.join(whole, 'x', 'b', 'staged.txt'), 'utf8')).toBe('staged before absorb');
    expect(fs.readFileSync(path.join(whole, 'loose.txt'), 'utf8')).toBe('loose');
    withDb(env.dbFile, (db) => {
      expect((db.prepare('SELECT COUNT(*) AS n FROM directory WHERE removed_at IS NULL').get() as any).n).toBe(1);
    });
  });
});

describe('bt dir remove', () => {
  it('stops tracking; history stays restorable', () => {
    const env = makeEnv();
    initConfig(env);
    const d = path.join(env.work, 'gone');
    writeTree(d, [{ path: 'sub/file.txt', content: 'keep my history' }]);
    ok(env.run(['dir', 'init', d]));
    ok(env.run(['add'], { cwd: d }));
    ok(env.run(['backup']));
    const r = ok(env.run(['dir', 'remove', d]));
    expect(r.stdout).toContain(d);
    expect(JSON.parse(ok(env.run(['dir', 'list', '--json'])).stdout)).toEqual([]);
    expect(ok(env.run(['dir', 'list'])).stdout).toBe('');

    // no longer tracked for add/status
    expect(expectCleanError(env.run(['add'], { cwd: d }))).toEqual([]);
    expect(expectCleanError(env.run(['dir', 'status'], { cwd: d }))).toEqual([]);
    expect(stagingFiles(env)).toEqual([]);

    // but restorable
    const target = path.join(env.work, 'back');
    ok(env.run(['restore', path.join(d, 'sub', 'file.txt'), '--target', target]));
    expect(fs.readFileSync(path.join(target, 'sub', 'file.txt'), 'utf8')).toBe('keep my history');
    expect(lines(ok(env.run(['log', path.join(d, 'sub', 'file.txt')])).stdout)).toHaveLength(1);
    // even after the directory itself is gone from disk
    fs.rmSync(d, { recursive: true });
    const target2 = path.join(env.work, 'back2');
    ok(env.run(['restore', path.join(d, 'sub', 'file.txt'), '--target', target2]));
    expect(fs.readFileSync(path.join(target2, 'sub', 'file.txt'), 'utf8')).toBe('keep my history');
  });

  it('tracking it again later works', () => {
    const env = makeEnv();
    initConfig(env);
    const d = path.join(env.work, 'again');
    writeTree(d, [{ path: 'f', content: 'f' }]);
    ok(env.run(['dir', 'init', d]));
    ok(env.run(['dir', 'remove', d]));
    ok(env.run(['dir', 'init', d]));
    expect(JSON.parse(ok(env.run(['dir', 'list', '--json'])).stdout).map((x: any) => x.path)).toEqual([d]);
    ok(env.run(['add'], { cwd: d }));
    ok(env.run(['backup']));
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: d }).code).toBe(0);
  });

  it('tracking it again after backups takes up its history: log, restore and status go on from it', () => {
    const env = makeEnv();
    initConfig(env);
    const d = path.join(env.work, 'top');
    writeTree(d, [{ path: 'a/inner/f', content: 'one' }, { path: 'g', content: 'g' }]);
    ok(env.run(['dir', 'init', d]));
    ok(env.run(['backup', '-a']));
    fs.writeFileSync(path.join(d, 'a/inner/f'), 'two');
    ok(env.run(['backup', '-a']));
    ok(env.run(['dir', 'remove', d]));
    // the inner part tracked on its own for a while, then the whole again
    ok(env.run(['dir', 'init', path.join(d, 'a')]));
    fs.writeFileSync(path.join(d, 'a/inner/f'), 'three');
    ok(env.run(['backup', '-a']));
    ok(env.run(['dir', 'init', d]));
    expect(JSON.parse(ok(env.run(['dir', 'list', '--json'])).stdout).map((x: any) => [x.path, x.files])).toEqual([[d, 2]]);
    const log = JSON.parse(ok(env.run(['log', 'a/inner/f', '--json'], { cwd: d })).stdout);
    expect(log).toHaveLength(3);
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: d }).code).toBe(0);
    const target = path.join(env.work, 'back');
    ok(env.run(['restore', d, '--target', target, '--at', new Date(Date.now() + 60_000).toISOString()]));
    expect(fs.readFileSync(path.join(target, 'a/inner/f'), 'utf8')).toBe('three');
    expect(fs.readFileSync(path.join(target, 'g'), 'utf8')).toBe('g');
    ok(env.run(['restore', 'a/inner/f', '--checksum', log[2].checksum.slice(0, 8), '--target', path.join(env.work, 'old')], { cwd: d }));
    expect(fs.readFileSync(path.join(env.work, 'old', 'a/inner/f'), 'utf8')).toBe('one');
  });

  it('tracking a directory below a removed one: log and restore of its files still find their history, and the removed one restores whole', () => {
    const env = makeEnv();
    initConfig(env);
    const d = path.join(env.work, 'home');
    writeTree(d, [{ path: 'Música/rock/x.txt', content: 'one' }, { path: 'b.txt', content: 'b' }]);
    ok(env.run(['dir', 'init', d]));
    ok(env.run(['backup', '-a']));
    const before = new Date(Date.now() + 1000).toISOString();
    ok(env.run(['dir', 'remove', d]));
    const rock = path.join(d, 'Música', 'rock');
    ok(env.run(['dir', 'init', rock]));
    // the old version is found through the removed directory while the new one has none
    const log = JSON.parse(ok(env.run(['log', 'x.txt', '--json'], { cwd: rock })).stdout);
    expect(log.map((v: any) => v.checksum)).toEqual([sha256('one')]);
    expect(ok(env.run(['dir', 'status'], { cwd: rock })).stdout).toMatch(/^\?\? x.txt$/m);
    fs.writeFileSync(path.join(rock, 'x.txt'), 'NEW');
    ok(env.run(['backup', '-a']));
    expect(JSON.parse(ok(env.run(['log', 'x.txt', '--json'], { cwd: rock })).stdout).map((v: any) => v.checksum)).toEqual([sha256('NEW')]);
    // the removed directory as it was, whole
    const out = path.join(env.work, 'out');
    ok(env.run(['restore', d, '--target', out, '--at', before]));
    expect(fs.readFileSync(path.join(out, 'Música/rock/x.txt'), 'utf8')).toBe('one');
    expect(fs.readFileSync(path.join(out, 'b.txt'), 'utf8')).toBe('b');
    // and the new one as it is
    const out2 = path.join(env.work, 'out2');
    ok(env.run(['restore', rock, '--target', out2]));
    expect(fs.readFileSync(path.join(out2, 'x.txt'), 'utf8')).toBe('NEW');
  });

  it('refuses a directory that is not tracked', () => {
    const env = makeEnv();
    initConfig(env);
    const r = env.run(['dir', 'remove', env.work]);
    expect(expectCleanError(r)).toEqual([]);
  });
});

describe('bt add', () => {
  it('outside any tracked directory: one-line error, non-zero exit, nothing staged', () => {
    const env = makeEnv();
    initConfig(env);
    const d = path.join(env.work, 'untracked');
    writeTree(d, [{ path: 'f', content: 'x' }]);
    expect(expectCleanError(env.run(['add'], { cwd: d }), { match: d })).toEqual([]);
    expect(expectCleanError(env.run(['add', path.join(d, 'f')]))).toEqual([]);
    expect(stagingFiles(env)).toEqual([]);
  });

  it('stages only the given paths, and several at once', () => {
    const env = makeEnv();
    initConfig(env);
    const d = path.join(env.work, 'sel');
    writeTree(d, [{ path: 'a/1', content: '1' }, { path: 'b/2', content: '2' }, { path: 'c/3', content: '3' }, { path: 'top', content: 't' }]);
    ok(env.run(['dir', 'init', d]));
    expect(ok(env.run(['add', 'a', 'top'], { cwd: d })).stdout.trim()).toBe('staged 2 new, 0 modified, 0 deleted (0 unchanged)');
    const st = JSON.parse(ok(env.run(['dir', 'status', '--json'], { cwd: d })).stdout);
    const states = Object.fromEntries(st.files.map((f: any) => [f.path, f.state]));
    expect(states).toEqual({ 'a/1': 'staged', 'b/2': 'untracked', 'c/3': 'untracked', top: 'staged' });
    ok(env.run(['backup']));
    expect(ok(env.run(['add', path.join(d, 'b'), path.join(d, 'c', '3')])).stdout.trim()).toBe('staged 2 new, 0 modified, 0 deleted (0 unchanged)');
  });

  it('overlapping paths (a directory, a file inside it, the same path twice) stage each file once; two adds of the same files back up each once', () => {
    const env = makeEnv();
    initConfig(env);
    const d = path.join(env.work, 'overlap');
    writeTree(d, [{ path: 'a/1', content: '1' }, { path: 'a/b/2', content: '2' }, { path: 'c', content: 'c' }]);
    ok(env.run(['dir', 'init', d]));
    expect(ok(env.run(['add', 'a', 'a/b', 'a/b/2', 'c', 'c', '.'], { cwd: d })).stdout.trim()).toBe('staged 3 new, 0 modified, 0 deleted (0 unchanged)');
    ok(env.run(['add', 'a'], { cwd: d }));
    expect(stagingFiles(env)).toHaveLength(2);
    expect(ok(env.run(['backup'])).stdout).toMatch(/^backup: 3 files, 3 new versions,/);
    expect(stagingFiles(env)).toEqual([]);
    const log = JSON.parse(ok(env.run(['log', path.join(d, 'a', 'b', '2'), '--json'])).stdout);
    expect(log).toHaveLength(1);
  });

  it('add of a deleted path stages its deletion', () => {
    const env = makeEnv();
    initConfig(env);
    const d = path.join(env.work, 'del');
    writeTree(d, [{ path: 'sub/x', content: 'x' }, { path: 'sub/y', content: 'y' }]);
    ok(env.run(['dir', 'init', d]));
    ok(env.run(['add'], { cwd: d }));
    ok(env.run(['backup']));
    fs.rmSync(path.join(d, 'sub'), { recursive: true });
    expect(ok(env.run(['add', 'sub'], { cwd: d })).stdout.trim()).toBe('staged 0 new, 0 modified, 2 deleted (0 unchanged)');
    ok(env.run(['backup']));
    expect(env.run(['dir', 'status', '--exit-code'], { cwd: d }).code).toBe(0);
  });
});

describe('bt dir status scope', () => {
  it('without PATH shows the whole tracked directory from a subdirectory; with . only the part below it', () => {
    const env = makeEnv();
    initConfig(env);
    const d = path.join(env.work, 'proj');
    writeTree(d, [{ path: 'top.txt', content: 'top' }, { path: 'sub/inner.txt', content: 'inner' }]);
    ok(env.run(['dir', 'init'], { cwd: d }));
    ok(env.run(['add'], { cwd: d }));
    ok(env.run(['backup']));
    fs.appendFileSync(path.join(d, 'top.txt'), ' changed');
    const sub = path.join(d, 'sub');
    const whole = JSON.parse(ok(env.run(['dir', 'status', '--json', '--all'], { cwd: sub })).stdout);
    expect(whole.directory).toBe(d);
    expect(whole.summary).toMatchObject({ modified: 1, backed_up: 1 });
    expect(lines(ok(env.run(['dir', 'status'], { cwd: sub })).stdout)).toEqual([' M ../top.txt', `${d}: 0 staged, 1 modified, 0 untracked, 0 deleted, 1 backed up`]);
    const here = JSON.parse(ok(env.run(['dir', 'status', '.', '--json', '--all'], { cwd: sub })).stdout);
    expect(here.files).toEqual([{ path: 'sub/inner.txt', state: 'backed_up' }]);
    expect(here.summary).toMatchObject({ modified: 0, backed_up: 1 });
  });
});
