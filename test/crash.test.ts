// The host lock, and `bt backup` killed with SIGKILL at several points:
// the next run finishes the staged work, and the database and vault agree.

import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll, compareTrees, deadPid, expectCleanError, fingerprint, initConfig, lines, makeEnv, ok, readTree, sha256File, sleep, stagingFiles,
  vaultObjects, withDb, writeTree, type BtEnv,
} from './helpers.js';

afterAll(cleanupAll);

function writeLock(env: BtEnv, pid: number): void {
  fs.mkdirSync(env.baseDir, { recursive: true });
  fs.writeFileSync(env.lockFile, JSON.stringify({ pid, host: 'test', command: 'backup', started_at: new Date().toISOString() }));
}

describe('host lock', () => {
  let env: BtEnv;
  let src: string;
  beforeAll(() => {
    env = makeEnv();
    initConfig(env);
    src = path.join(env.work, 'src');
    writeTree(src, [{ path: 'a', content: 'a' }]);
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['backup', '-a']));
    fs.writeFileSync(path.join(src, 'b'), 'b');
  });

  it('while another live bt holds the lock, add, backup and restore fail cleanly (exit 4) and change nothing', () => {
    writeLock(env, process.pid);
    try {
      const target = path.join(env.work, 'target');
      const before = fingerprint(env, [src, target]);
      for (const args of [['add'], ['backup'], ['backup', '-a'], ['restore', src, '--target', target]]) {
        const r = env.run(args, { cwd: src });
        expect(expectCleanError(r, { code: 4, match: /lock/ })).toEqual([]);
        expect(r.stderr).toContain(String(process.pid));
      }
      expect(fingerprint(env, [src, target])).toEqual(before);
      // the lock of the other run is left alone
      expect(JSON.parse(fs.readFileSync(env.lockFile, 'utf8')).pid).toBe(process.pid);
    } finally {
      fs.rmSync(env.lockFile, { force: true });
    }
  });

  it('a stale lock (its pid is dead) is taken over with a message', () => {
    writeLock(env, deadPid());
    const r = ok(env.run(['add'], { cwd: src }));
    expect(r.stderr).toContain('stale lock');
    expect(r.stdout).toMatch(/^staged 1 new/);
    expect(fs.existsSync(env.lockFile)).toBe(false);
    writeLock(env, deadPid());
    const b = ok(env.run(['backup']));
    expect(b.stderr).toContain('stale lock');
    expect(b.stdout).toMatch(/^backup: 1 file, 1 new version, /);
    expect(fs.existsSync(env.lockFile)).toBe(false);
  });

  it('the lock is released after every run, also after a failed one', () => {
    expect(fs.existsSync(env.lockFile)).toBe(false);
    env.run(['restore', path.join(src, 'nope')]);
    expect(fs.existsSync(env.lockFile)).toBe(false);
    ok(env.run(['add'], { cwd: src }));
    expect(fs.existsSync(env.lockFile)).toBe(false);
  });
});

interface Spawned {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(env: BtEnv, args: string[]): Spawned {
  const child = env.spawn(args);
  const s: Spawned = { child, stdout: '', stderr: '', done: null as never };
  child.stdout!.on('data', (d) => (s.stdout += d));
  child.stderr!.on('data', (d) => (s.stderr += d));
  s.done = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return s;
}

async function waitFor(cond: () => boolean, s: Spawned, timeoutMs = 30_000): Promise<boolean> {
  let exited = false;
  void s.done.then(() => (exited = true));
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (cond()) return true;
    if (exited) return false;
    await sleep(3);
  }
  return false;
}

function dirCount(dir: string): number {
  try {
    return fs.readdirSync(dir).length;
  } catch {
    return 0;
  }
}

describe('bt backup killed with SIGKILL', () => {
  let env: BtEnv;
  let src: string;
  let fileCount = 0;
  const events: string[] = [];
  let final: { code: number | null; stdout: string; stderr: string };
  let lockBeforeFinal = false;
  let concurrentAdd: ReturnType<BtEnv['run']> | null = null;
  const earlyExits: string[] = [];

  beforeAll(async () => {
    // Commits of 500 files, so that the kills land between commits and during them.
    env = makeEnv({ env: { BT_COMMIT_FILES: '500' } });
    initConfig(env);
    src = path.join(env.work, 'big');
    // ~2200 small files (several commits of 500), 200 files of 1 MiB, one of 80 MiB: about 290 MB.
    for (let i = 0; i < 2200; i++) {
      const d = path.join(src, 'small', String(i % 20));
      if (i < 20) fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, `s${i}.dat`), crypto.randomBytes(512 + (i % 7) * 300));
    }
    fs.mkdirSync(path.join(src, 'mb'), { recursive: true });
    for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(src, 'mb', `m${i}.bin`), crypto.randomBytes(1 << 20));
    // a few duplicates, to see they are stored once even across killed runs
    for (let i = 0; i < 5; i++) fs.copyFileSync(path.join(src, 'mb', `m${i}.bin`), path.join(src, `dup${i}.bin`));
    const fd = fs.openSync(path.join(src, 'huge.bin'), 'w');
    for (let i = 0; i < 80; i++) fs.writeSync(fd, crypto.randomBytes(1 << 20));
    fs.closeSync(fd);
    fileCount = 2200 + 200 + 5 + 1;
    ok(env.run(['dir', 'init', src]));
    expect(ok(env.run(['add'], { cwd: src })).stdout).toMatch(new RegExp(`^staged ${fileCount} new`));

    const contentDir = path.join(env.vaultRoot, 'content');
    const tmpDir = path.join(env.vaultRoot, 'tmp');
    const objectsNow = () => vaultObjects(env.vaultRoot).length;

    // Round 1: stop the backup once it holds the lock; a concurrent add must be refused; then kill it.
    {
      const s = start(env, ['backup']);
      const locked = await waitFor(() => {
        try {
          return JSON.parse(fs.readFileSync(env.lockFile, 'utf8')).pid === s.child.pid;
        } catch {
          return false;
        }
      }, s);
      if (locked) {
        s.child.kill('SIGSTOP');
        concurrentAdd = env.run(['add'], { cwd: src });
        events.push(`concurrent add while a backup holds the lock: exit ${concurrentAdd.code}: ${concurrentAdd.stderr.trim()}`);
      }
      s.child.kill('SIGKILL');
      const r = await s.done;
      events.push(`round 1 (after taking the lock): ${r.signal ?? 'exit ' + r.code}`);
    }

    // Rounds 2..: kill at different points of the run.
    const triggers: Array<[string, (base: number) => () => boolean]> = [
      ['when the first temp files appear in the vault', () => () => dirCount(tmpDir) > 0],
      ['when content objects first appear', (base) => () => objectsNow() > base],
      ['300 ms in', () => { const t = Date.now() + 300; return () => Date.now() >= t; }],
      ['700 ms in', () => { const t = Date.now() + 700; return () => Date.now() >= t; }],
      ['1500 ms in', () => { const t = Date.now() + 1500; return () => Date.now() >= t; }],
      ['when the metadata upload starts', () => () => {
        try {
          return fs.readdirSync(path.join(env.baseDir, 'data')).some((n) => n.startsWith('.upload-'));
        } catch {
          return false;
        }
      }],
    ];
    for (const [name, make] of triggers) {
      const base = fs.existsSync(contentDir) ? objectsNow() : 0;
      const s = start(env, ['backup']);
      const cond = make(base);
      const hit = await waitFor(cond, s);
      s.child.kill('SIGKILL');
      const r = await s.done;
      events.push(`kill ${name}: ${hit ? 'triggered' : 'not triggered'}, ${r.signal ?? 'exit ' + r.code}, ${objectsNow()} objects, ${stagingFiles(env).length} staging batches`);
      if (r.signal !== 'SIGKILL' && r.code !== 0) earlyExits.push(`${name}: exit ${r.code}: ${s.stderr}`); // finished before the kill: must have succeeded
    }

    lockBeforeFinal = fs.existsSync(env.lockFile);
    final = env.run(['backup']);
    events.push(`final run: exit ${final.code}: ${final.stdout.trim()}`);
  });

  it('a concurrent add while the backup holds the lock is refused (exit 4)', () => {
    expect(concurrentAdd, events.join('\n')).not.toBeNull();
    expect(expectCleanError(concurrentAdd!, { code: 4, match: /lock/ })).toEqual([]);
  });

  it('a run that ended before its kill succeeded', () => {
    expect(earlyExits).toEqual([]);
  });

  it('the next run finishes the staged work and exits 0', () => {
    expect(final.code, `${final.stderr}\n${events.join('\n')}`).toBe(0);
    expect(final.stdout).toMatch(/^backup: /);
    if (lockBeforeFinal) expect(final.stderr).toContain('stale lock');
    expect(stagingFiles(env)).toEqual([]);
    const st = env.run(['dir', 'status', '--exit-code'], { cwd: src });
    expect(st.code, st.stdout.slice(0, 2000)).toBe(0);
    expect(lines(st.stdout)).toHaveLength(1);
  });

  it('the database and the vault agree: every content id is held, intact, once; no duplicate snapshots', () => {
    const objects = vaultObjects(env.vaultRoot);
    const byId = new Map(objects.map((o) => [o.id, o]));
    expect(byId.size).toBe(objects.length);
    for (const o of objects) expect(o.shard).toBe(o.id.slice(0, 2));
    withDb(env.dbFile, (db) => {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const content = db.prepare('SELECT id, size FROM content').all() as Array<{ id: string; size: number }>;
      for (const c of content) {
        const o = byId.get(c.id);
        expect(o, `content ${c.id} recorded but not in the vault`).toBeDefined();
        expect(o!.size).toBe(c.size);
      }
      const missingPlacement = db.prepare(`SELECT c.id FROM content c WHERE NOT EXISTS (SELECT 1 FROM content_vault v WHERE v.content_id = c.id AND v.vault = 'local')`).all();
      expect(missingPlacement).toEqual([]);
      const dangling = db.prepare('SELECT s.id FROM file_snapshot s WHERE s.content_id IS NOT NULL AND s.content_id NOT IN (SELECT id FROM content)').all();
      expect(dangling).toEqual([]);
      const dupSnaps = db.prepare('SELECT file_id, COUNT(*) AS n FROM file_snapshot GROUP BY file_id HAVING n > 1').all();
      expect(dupSnaps).toEqual([]);
      const files = (db.prepare('SELECT COUNT(*) AS n FROM file WHERE deleted = 0 AND current_snapshot_id IS NOT NULL').get() as any).n;
      expect(files).toBe(fileCount);
      // every object the vault holds is one the database records (nothing in the tree changed between runs)
      const recorded = new Set(content.map((c) => c.id));
      expect(objects.filter((o) => !recorded.has(o.id)).map((o) => o.id)).toEqual([]);
      expect(content.length).toBe(fileCount - 5); // five duplicates
      const lastRun = db.prepare('SELECT status FROM backup_run ORDER BY started_at DESC LIMIT 1').get() as any;
      expect(lastRun.status).toBe('ok');
    });
    // every object's bytes hash to its name
    for (const o of objects) expect(sha256File(o.file), o.file).toBe(o.id);
  });

  it('the newest metadata in the vault holds every version (a recovery would see it all)', () => {
    const hostId = JSON.parse(ok(env.run(['config', 'list', '--json'])).stdout).host_id;
    const dir = path.join(env.vaultRoot, 'metadata', hostId);
    const newest = fs.readdirSync(dir).filter((n) => /^db-.*\.sqlite3\.gz$/.test(n)).sort().at(-1)!;
    expect(newest).toBeDefined();
    const tmp = path.join(env.root, 'newest.sqlite3');
    fs.writeFileSync(tmp, zlib.gunzipSync(fs.readFileSync(path.join(dir, newest))));
    withDb(tmp, (db) => {
      expect((db.prepare('SELECT COUNT(*) AS n FROM file_snapshot').get() as any).n).toBe(fileCount);
    });
  });

  it('a restore of the tree is identical', () => {
    const target = path.join(env.work, 'restored');
    ok(env.run(['restore', src, '--target', target]));
    expect(compareTrees(readTree(src), readTree(target))).toEqual([]);
  });

  it('report what the kills hit (informational)', () => {
    // Visible with --reporter=verbose; the assertions above are what matter.
    console.log(events.join('\n'));
    expect(events.length).toBeGreaterThan(0);
  });
});
