// Recovery on a fresh machine (a fresh HOME) from the vault alone, and
// several vaults.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll, compareTrees, expectCleanError, fingerprint, initConfig, lines, makeEnv, ok, readTree, sha256, vaultObjects, weirdTree, writeTree,
  type BtEnv,
} from './helpers.js';

afterAll(cleanupAll);

describe('recovery on a fresh HOME from the same vault', () => {
  let oldHost: BtEnv;
  let src: string;
  let hostId: string;
  let firstBackupDone: string;
  let expected: ReturnType<typeof readTree>;

  beforeAll(async () => {
    oldHost = makeEnv();
    initConfig(oldHost);
    hostId = JSON.parse(ok(oldHost.run(['config', 'list', '--json'])).stdout).host_id;
    src = path.join(oldHost.work, 'precious');
    writeTree(src, weirdTree('recover'));
    ok(oldHost.run(['dir', 'init', src]));
    ok(oldHost.run(['add'], { cwd: src }));
    ok(oldHost.run(['backup']));
    await new Promise((r) => setTimeout(r, 20)); // metadata versions are named to the millisecond; keep them apart
    firstBackupDone = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 50));
    fs.writeFileSync(path.join(src, 'top.txt'), 'changed after the first backup\n');
    fs.writeFileSync(path.join(src, 'later.txt'), 'only in the second backup\n');
    ok(oldHost.run(['backup', '-a']));
    expected = readTree(src);
  });

  it('recover --list shows the host, its hostname, directories and last backup', () => {
    const fresh = makeEnv();
    initConfig(fresh);
    ok(fresh.run(['config', 'vault', 'add', 'fs', 'old', '--path', oldHost.vaultRoot]));
    const j = JSON.parse(ok(fresh.run(['recover', '--list', '--vault', 'old', '--json'])).stdout);
    expect(j).toHaveLength(1);
    expect(j[0].host_id).toBe(hostId);
    expect(typeof j[0].hostname).toBe('string');
    expect(j[0].directories).toEqual([src]);
    expect(Date.parse(j[0].last_backup_at)).not.toBeNaN();
    const text = ok(fresh.run(['recover', '--list', '--vault', 'old'])).stdout;
    expect(text).toContain(hostId);
    expect(text).toContain(src);
    // the fresh host's own vault holds nothing yet
    const mine = ok(fresh.run(['recover', '--list', '--vault', 'local', '--json'])).stdout;
    expect(JSON.parse(mine)).toEqual([]);
  });

  it('recover --host-id then restore of the whole directory gives an identical tree', () => {
    const fresh = makeEnv();
    initConfig(fresh);
    ok(fresh.run(['config', 'vault', 'add', 'fs', 'old', '--path', oldHost.vaultRoot]));
    const r = ok(fresh.run(['recover', '--host-id', hostId, '--vault', 'old']));
    expect(r.stdout).toContain(hostId);
    expect(r.stdout).toContain(src);
    expect(JSON.parse(ok(fresh.run(['config', 'list', '--json'])).stdout).host_id).toBe(hostId);
    expect(JSON.parse(ok(fresh.run(['dir', 'list', '--json'])).stdout).map((d: any) => d.path)).toEqual([src]);

    const target = path.join(fresh.work, 'restored');
    ok(fresh.run(['restore', src, '--target', target]));
    expect(compareTrees(expected, target)).toEqual([]);

    // history came along
    const log = JSON.parse(ok(fresh.run(['log', path.join(src, 'top.txt'), '--json'])).stdout);
    expect(log.map((v: any) => v.checksum)).toEqual([sha256('changed after the first backup\n'), sha256('hello world\n')]);
    const old = path.join(fresh.work, 'old-top');
    ok(fresh.run(['restore', path.join(src, 'top.txt'), '--checksum', sha256('hello world\n').slice(0, 8), '--target', old]));
    expect(fs.readFileSync(path.join(old, 'top.txt'), 'utf8')).toBe('hello world\n');
  });

  it('recover --at takes the metadata from before that time', () => {
    const fresh = makeEnv();
    initConfig(fresh);
    ok(fresh.run(['config', 'vault', 'add', 'fs', 'old', '--path', oldHost.vaultRoot]));
    ok(fresh.run(['recover', '--host-id', hostId, '--vault', 'old', '--at', firstBackupDone]));
    const log = JSON.parse(ok(fresh.run(['log', path.join(src, 'top.txt'), '--json'])).stdout);
    expect(log).toHaveLength(1);
    const target = path.join(fresh.work, 'restored-at');
    ok(fresh.run(['restore', src, '--target', target]));
    expect(fs.existsSync(path.join(target, 'later.txt'))).toBe(false);
    expect(fs.readFileSync(path.join(target, 'top.txt'), 'utf8')).toBe('hello world\n');
  });

  it('refuses to replace a local database that holds backups unless --force', () => {
    const busy = makeEnv();
    initConfig(busy);
    const d = path.join(busy.work, 'mine');
    writeTree(d, [{ path: 'mine.txt', content: 'mine' }]);
    ok(busy.run(['dir', 'init', d]));
    ok(busy.run(['backup', '-a']));
    ok(busy.run(['config', 'vault', 'add', 'fs', 'old', '--path', oldHost.vaultRoot]));
    const before = fingerprint(busy);
    const r = busy.run(['recover', '--host-id', hostId, '--vault', 'old']);
    expect(expectCleanError(r, { match: '--force' })).toEqual([]);
    expect(fingerprint(busy)).toEqual(before);

    ok(busy.run(['recover', '--host-id', hostId, '--vault', 'old', '--force']));
    expect(JSON.parse(ok(busy.run(['config', 'list', '--json'])).stdout).host_id).toBe(hostId);
    expect(JSON.parse(ok(busy.run(['dir', 'list', '--json'])).stdout).map((x: any) => x.path)).toEqual([src]);
  });

  it('an unknown host id or a malformed one is a clean error', () => {
    const fresh = makeEnv();
    initConfig(fresh);
    ok(fresh.run(['config', 'vault', 'add', 'fs', 'old', '--path', oldHost.vaultRoot]));
    const before = fingerprint(fresh);
    expect(expectCleanError(fresh.run(['recover', '--host-id', '00000000-0000-4000-8000-000000000000', '--vault', 'old']))).toEqual([]);
    expect(expectCleanError(fresh.run(['recover', '--host-id', 'nope', '--vault', 'old']))).toEqual([]);
    expect(expectCleanError(fresh.run(['recover', '--host-id', hostId, '--vault', 'old', '--at', '2001-01-01']))).toEqual([]);
    expect(fingerprint(fresh)).toEqual(before);
  });
});

describe('several vaults', () => {
  it('backup stores the content in every vault, and restore can read from any of them', () => {
    const env = makeEnv();
    initConfig(env);
    const second = path.join(env.root, 'second-vault');
    ok(env.run(['config', 'vault', 'add', 'fs', 'second', '--path', second]));
    ok(env.run(['config', 'vault', 'init', 'second']));
    const d = path.join(env.work, 'd');
    writeTree(d, [{ path: 'a', content: 'alpha' }, { path: 'b/c', content: 'gamma' }, { path: 'e', content: '' }]);
    ok(env.run(['dir', 'init', d]));
    ok(env.run(['backup', '-a']));
    const ids = [sha256('alpha'), sha256('gamma'), sha256('')].sort();
    expect(vaultObjects(env.vaultRoot).map((o) => o.id).sort()).toEqual(ids);
    expect(vaultObjects(second).map((o) => o.id).sort()).toEqual(ids);
    const hostId = JSON.parse(ok(env.run(['config', 'list', '--json'])).stdout).host_id;
    expect(fs.readdirSync(path.join(second, 'metadata', hostId)).some((n) => n.endsWith('.sqlite3.gz'))).toBe(true);

    // lose the first vault's content: restore reads from the second
    fs.rmSync(path.join(env.vaultRoot, 'content'), { recursive: true });
    fs.mkdirSync(path.join(env.vaultRoot, 'content'));
    const target = path.join(env.work, 'out');
    ok(env.run(['restore', d, '--target', target]));
    expect(compareTrees(d, target)).toEqual([]);
    expect(lines(ok(env.run(['recover', '--list', '--vault', 'second'])).stdout)).toHaveLength(1);
  });
});
