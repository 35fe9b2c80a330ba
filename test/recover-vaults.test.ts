// Recovery on a machine whose vaults are not the old host's: the recovered
// database's records of which vault holds which object must be made true
// for this machine's vaults, whatever they are named, so that catch-up
// copies what a vault lacks and no vault is credited with what it lacks.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cleanupAll, compareTrees, expectCleanError, initConfig, lines, makeEnv, ok, sha256, vaultObjects, withDb, writeTree,
  type BtEnv,
} from './helpers.js';

afterAll(cleanupAll);

interface OldHost {
  env: BtEnv;
  hostId: string;
  src: string;
  /** The old host's second vault, beside its default 'local'. */
  usb: string;
}

/** A host with the vaults 'local' and 'usb' that backed up two files. */
function oldHost(): OldHost {
  const env = makeEnv();
  initConfig(env);
  const hostId = JSON.parse(ok(env.run(['config', 'list', '--json'])).stdout).host_id as string;
  const usb = path.join(env.root, 'usb');
  ok(env.run(['config', 'vault', 'add', 'fs', 'usb', '--path', usb]));
  ok(env.run(['config', 'vault', 'init', 'usb']));
  const src = path.join(env.work, 'src');
  writeTree(src, [{ path: 'one', content: '1\n' }, { path: 'sub/two', content: '2\n' }]);
  ok(env.run(['dir', 'init', src]));
  ok(env.run(['backup', '-a']));
  return { env, hostId, src, usb };
}

/** A new machine: its own config with an empty 'local' vault, plus filesystem vaults at the given paths. */
function newMachine(vaults: Record<string, string>): BtEnv {
  const env = makeEnv();
  initConfig(env);
  for (const [name, root] of Object.entries(vaults)) ok(env.run(['config', 'vault', 'add', 'fs', name, '--path', root]));
  return env;
}

function vaultRoots(env: BtEnv): Map<string, string> {
  const config = JSON.parse(ok(env.run(['config', 'list', '--json'])).stdout);
  return new Map(config.vaults.map((v: { name: string; vault_root: string }) => [v.name, v.vault_root]));
}

/** Records of the database naming an object its vault does not hold (or a vault not configured): should be none. */
function falseRecords(env: BtEnv): string[] {
  const roots = vaultRoots(env);
  const held = new Map([...roots].map(([name, root]) => [name, new Set(vaultObjects(root).map((o) => o.id))]));
  const rows = withDb(env.dbFile, (db) => db.prepare('SELECT content_id, vault FROM content_vault').all() as Array<{ content_id: string; vault: string }>);
  return rows.filter((r) => !held.get(r.vault)?.has(r.content_id)).map((r) => `${r.vault}: ${r.content_id}`);
}

function recordedIds(env: BtEnv, vault?: string): string[] {
  return withDb(env.dbFile, (db) => (vault === undefined
    ? db.prepare('SELECT id FROM content ORDER BY id').pluck().all()
    : db.prepare('SELECT content_id FROM content_vault WHERE vault = ? ORDER BY content_id').pluck().all(vault)) as string[]);
}

/** With every vault but `only` removed from the config, restore the tracked directory and compare it with `src`. */
function restoreFromOnly(env: BtEnv, only: string, src: string): string[] {
  for (const name of vaultRoots(env).keys()) if (name !== only) ok(env.run(['config', 'vault', 'remove', name]));
  const target = path.join(env.work, `restored-from-${only}`);
  ok(env.run(['restore', src, '--target', target]));
  return compareTrees(src, target);
}

/** Warnings other than that a vault shares a disk with a tracked directory (every vault of these tests does). */
function otherWarnings(stderr: string): string[] {
  return lines(stderr).filter((l) => !/this copy does not survive the disk$/.test(l));
}

const OLD_IDS = [sha256('1\n'), sha256('2\n')].sort();

describe('bt recover records only what this machine\'s vaults hold', () => {
  it('a new, empty vault of an old vault\'s name is caught up after recovery, not taken to hold the old objects', () => {
    const old = oldHost();
    // Another host shares the usb vault: its objects are no content of this host.
    const other = newMachine({ usb: old.usb });
    const otherSrc = path.join(other.work, 'other');
    writeTree(otherSrc, [{ path: 'o', content: 'another host\'s file\n' }]);
    ok(other.run(['dir', 'init', otherSrc]));
    ok(other.run(['backup', '-a']));

    const fresh = newMachine({ usb: old.usb });
    const r = ok(fresh.run(['recover', '--host-id', old.hostId, '--vault', 'usb']));
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^bt: recover: 2 objects: vault 'local' holds 0, 'usb' 2; the next backup copies what a vault lacks$/)]);
    expect(recordedIds(fresh)).toEqual(OLD_IDS);
    expect(recordedIds(fresh, 'usb')).toEqual(OLD_IDS);
    expect(recordedIds(fresh, 'local')).toEqual([]);
    expect(falseRecords(fresh)).toEqual([]);

    fs.writeFileSync(path.join(old.src, 'three'), '3\n');
    const b = ok(fresh.run(['backup', '-a']));
    expect(otherWarnings(b.stderr)).toEqual([]);
    expect(falseRecords(fresh)).toEqual([]);
    const all = [...OLD_IDS, sha256('3\n')].sort();
    expect(vaultObjects(fresh.vaultRoot).map((o) => o.id).sort()).toEqual(all);
    expect(recordedIds(fresh, 'local')).toEqual(all);
    expect(restoreFromOnly(fresh, 'local', old.src)).toEqual([]);
  });

  it('an old vault added under another name is recorded under that name: no false "could not be read" warnings', () => {
    const old = oldHost();
    const fresh = newMachine({ old: old.env.vaultRoot });
    const r = ok(fresh.run(['recover', '--host-id', old.hostId, '--vault', 'old']));
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^bt: recover: 2 objects: vault 'local' holds 0, 'old' 2 \('usb' is not configured here\); the next backup copies what a vault lacks$/)]);
    expect(recordedIds(fresh, 'old')).toEqual(OLD_IDS);
    expect(falseRecords(fresh)).toEqual([]);

    fs.writeFileSync(path.join(old.src, 'three'), '3\n');
    for (let i = 0; i < 2; i++) {
      const b = ok(fresh.run(['backup', '-a']));
      expect(otherWarnings(b.stderr)).toEqual([]);
    }
    expect(falseRecords(fresh)).toEqual([]);
    expect(recordedIds(fresh, 'local')).toEqual(recordedIds(fresh));
    expect(restoreFromOnly(fresh, 'local', old.src)).toEqual([]);
  });

  it('a vault that cannot be opened during recovery is recorded as holding nothing, and caught up once it is back', () => {
    const old = oldHost();
    const fresh = newMachine({ old: old.env.vaultRoot, usb: old.usb });
    const away = `${old.usb}-unplugged`;
    fs.renameSync(old.usb, away);
    // Without --vault: the hosts' metadata is looked for in every vault that opens.
    const r = ok(fresh.run(['recover', '--host-id', old.hostId]));
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/^bt: warning: vault 'usb' is unavailable for this run: path does not exist/),
      expect.stringMatching(/^bt: recover: 2 objects: vault 'local' holds 0, 'old' 2, 'usb' could not be read \(path does not exist: .*\);/),
    ]);
    expect(recordedIds(fresh, 'usb')).toEqual([]);
    expect(falseRecords(fresh)).toEqual([]);

    fs.renameSync(away, old.usb);
    ok(fresh.run(['backup', '-a']));
    expect(falseRecords(fresh)).toEqual([]);
    expect(recordedIds(fresh, 'usb')).toEqual(OLD_IDS);
    expect(recordedIds(fresh, 'local')).toEqual(OLD_IDS);
  });

  it("a killed recover's or catch-up's scratch copy left in data_dir goes with the next run", () => {
    const old = oldHost();
    const fresh = newMachine({ old: old.env.vaultRoot });
    const dataDir = path.dirname(fresh.dbFile);
    for (const d of ['.recover-dead0001', '.sync-dead0002']) {
      fs.mkdirSync(path.join(dataDir, d), { recursive: true });
      fs.writeFileSync(path.join(dataDir, d, 'bt.sqlite3'), 'a whole database copy');
    }
    ok(fresh.run(['recover', '--host-id', old.hostId, '--vault', 'old']));
    ok(fresh.run(['backup', '-a']));
    expect(fs.readdirSync(dataDir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('a vault unreadable during recovery that is then the only one holding the objects is found to hold them', () => {
    const old = oldHost();
    const fresh = newMachine({ old: old.env.vaultRoot, usb: old.usb });
    const away = `${old.usb}-unplugged`;
    fs.renameSync(old.usb, away);
    ok(fresh.run(['recover', '--host-id', old.hostId, '--vault', 'old']));
    expect(recordedIds(fresh, 'usb')).toEqual([]);
    // 'old' goes away for good, 'usb' comes back: no other vault is recorded to hold its objects
    ok(fresh.run(['config', 'vault', 'remove', 'old']));
    fs.renameSync(away, old.usb);
    ok(fresh.run(['backup', '-a']));
    expect(recordedIds(fresh, 'usb')).toEqual(OLD_IDS);
    expect(falseRecords(fresh)).toEqual([]);
    // and the next run copies them from it into 'local', without a warning
    const b = ok(fresh.run(['backup', '-a']));
    expect(otherWarnings(b.stderr)).toEqual([]);
    expect(recordedIds(fresh, 'local')).toEqual(OLD_IDS);
    expect(restoreFromOnly(fresh, 'local', old.src)).toEqual([]);
  });
});

describe('bt recover --list with a vault that cannot be read', () => {
  it('lists the hosts of the vaults that work and warns of the other; fails only when none works', () => {
    const env = makeEnv();
    initConfig(env);
    const hostId = JSON.parse(ok(env.run(['config', 'list', '--json'])).stdout).host_id as string;
    const d = path.join(env.work, 'd');
    writeTree(d, [{ path: 'a', content: 'alpha' }]);
    ok(env.run(['dir', 'init', d]));
    ok(env.run(['backup', '-a']));
    ok(env.run(['config', 'vault', 'add', 'fs', 'gone', '--path', path.join(env.root, 'not-there')]));

    const text = ok(env.run(['recover', '--list']));
    expect(text.stdout).toContain(hostId);
    expect(lines(text.stderr)).toEqual([expect.stringMatching(/^bt: warning: vault 'gone' is unavailable for this run: path does not exist/)]);
    const json = ok(env.run(['recover', '--list', '--json']));
    expect(JSON.parse(json.stdout).map((h: { host_id: string }) => h.host_id)).toEqual([hostId]);
    expect(lines(json.stderr)).toHaveLength(1);

    // The broken vault asked for by name, or every vault broken: one error line, exit 5.
    expect(expectCleanError(env.run(['recover', '--list', '--vault', 'gone']), { code: 5, match: "vault 'gone'" })).toEqual([]);
    fs.rmSync(env.vaultRoot, { recursive: true });
    expect(expectCleanError(env.run(['recover', '--list']), { code: 5, match: /no vault is available/ })).toEqual([]);
  });
});
