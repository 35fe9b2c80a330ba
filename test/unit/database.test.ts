import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/db/database.js';
import type { NewSnapshot } from '../../src/db/types.js';
import { fingerprint } from '../../src/fsmgr/stat.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-db-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const open = () => new Database(path.join(tmp, `db${n++}`));

function snap(contentId: string | null, extra: Partial<NewSnapshot> = {}): NewSnapshot {
  return {
    contentId, size: 1, mode: 0o644, uid: 0, gid: 0, atimeNs: 1n, mtimeNs: 2n, ctimeNs: 3n, birthtimeNs: null,
    fileType: 'file', linkTarget: null, deleted: false, ...extra,
  };
}
const ID = (c: string) => c.repeat(64);

describe('Database directories', () => {
  it('creates a directory and finds the deepest one holding a path', () => {
    const db = open();
    const a = db.createDirectory('/home/u/a').directory;
    const ab = db.createDirectory('/home/u/x/b').directory;
    expect(db.searchDirectoryForPath('/home/u/a/f')?.id).toBe(a.id);
    expect(db.searchDirectoryForPath('/home/u/a')?.id).toBe(a.id);
    expect(db.searchDirectoryForPath('/home/u/ab')).toBeNull();
    expect(db.searchDirectoryForPath('/home/u/x/b/c/d')?.id).toBe(ab.id);
    expect(db.searchDirectoryForPath('/elsewhere')).toBeNull();
    db.close();
  });

  it('createDirectory above tracked ones absorbs them: files move with prefixed names and keep their snapshots', () => {
    const db = open();
    const child = db.createDirectory('/p/one').directory;
    const other = db.createDirectory('/p/two/deep').directory;
    const sibling = db.createDirectory('/q').directory;
    const f1 = db.findOrCreateFile(child.id, Buffer.from('f.txt'));
    const f2 = db.findOrCreateFile(other.id, Buffer.concat([Buffer.from('sub/'), Buffer.from([0xff])]));
    db.findOrCreateFile(sibling.id, Buffer.from('s'));
    db.recordContent(ID('a'), 1, 'local', 1);
    db.recordContent(ID('b'), 1, 'local', 1);
    db.insertSnapshot(f1, snap(ID('a')), null, 1000);
    db.insertSnapshot(f1, snap(ID('b')), null, 2000);
    db.insertSnapshot(f2, snap(ID('a')), null, 1000);

    const { directory: parent, absorbed } = db.createDirectory('/p');
    expect(absorbed.map((d) => d.path).sort()).toEqual(['/p/one', '/p/two/deep']);
    expect(db.listDirectories().map((d) => d.path)).toEqual(['/p', '/q']);
    expect(db.findDirectoryById(child.id)).toBeNull();

    const moved1 = db.findFile(parent.id, Buffer.from('one/f.txt'));
    expect(moved1?.id).toBe(f1.id);
    const moved2 = db.findFile(parent.id, Buffer.concat([Buffer.from('two/deep/sub/'), Buffer.from([0xff])]));
    expect(moved2?.id).toBe(f2.id);
    expect(db.findFileSnapshotsForFile(f1.id).map((s) => s.contentId)).toEqual([ID('b'), ID('a')]);
    expect(db.findFile(sibling.id, Buffer.from('s'))).not.toBeNull();
    expect(db.searchDirectoryForPath('/p/one/f.txt')?.id).toBe(parent.id);
    expect(db.hasFilesBelow(parent.id, Buffer.from('two'))).toBe(true);
    expect(db.hasFilesBelow(parent.id, Buffer.from('tw'))).toBe(false);
    db.close();
  });

  it('moveFiles re-roots names below the destination', () => {
    const db = open();
    const src = db.createDirectory('/r/s/t').directory;
    const f = db.findOrCreateFile(src.id, Buffer.from('x/y'));
    const dest = { id: db.createDirectory('/other').directory.id, path: '/r', createdAt: 0, removedAt: null };
    db.moveFiles(src, dest);
    expect(db.findFile(dest.id, Buffer.from('s/t/x/y'))?.id).toBe(f.id);
    db.close();
  });

  it('absorbing into / works', () => {
    const db = open();
    const c = db.createDirectory('/data').directory;
    const f = db.findOrCreateFile(c.id, Buffer.from('f'));
    const root = db.createDirectory('/').directory;
    expect(db.findFile(root.id, Buffer.from('data/f'))?.id).toBe(f.id);
    db.close();
  });

  it('a removed directory keeps its history and can be found with includeRemoved', () => {
    const db = open();
    const d = db.createDirectory('/gone').directory;
    const f = db.findOrCreateFile(d.id, Buffer.from('f'));
    db.recordContent(ID('c'), 1, 'local', 1);
    db.insertSnapshot(f, snap(ID('c')), null, 5);
    db.removeDirectory(d.id);
    expect(db.listDirectories()).toEqual([]);
    expect(db.searchDirectoryForPath('/gone/f')).toBeNull();
    expect(db.searchDirectoryForPath('/gone/f', true)?.id).toBe(d.id);
    // tracking the same path again takes up its history
    const again = db.createDirectory('/gone').directory;
    expect(again.id).toBe(d.id);
    expect(db.listDirectories().map((x) => x.id)).toEqual([d.id]);
    expect(db.findFile(again.id, Buffer.from('f'))?.id).toBe(f.id);
    db.close();
  });

  it('directoriesHolding: every directory holding a path, deepest first, the active one before removed ones', () => {
    const db = open();
    const top = db.createDirectory('/top').directory;
    db.removeDirectory(top.id);
    const a = db.createDirectory('/top/a').directory;
    expect(db.directoriesHolding('/top/a/x').map((d) => d.id)).toEqual([a.id, top.id]);
    expect(db.directoriesHolding('/top/b').map((d) => d.id)).toEqual([top.id]);
    expect(db.directoriesHolding('/other')).toEqual([]);
    db.close();
  });

  it('history kept from before a dir remove joins the directory tracked over it; a name in both becomes one file', () => {
    const db = open();
    db.recordContent(ID('a'), 1, 'local', 1);
    db.recordContent(ID('b'), 1, 'local', 1);
    db.recordContent(ID('c'), 1, 'local', 1);
    // /top tracked with a/x and a/y, then removed
    const top = db.createDirectory('/top').directory;
    const x1 = db.findOrCreateFile(top.id, Buffer.from('a/x'));
    db.insertSnapshot(x1, snap(ID('a')), null, 10);
    db.insertSnapshot(db.findOrCreateFile(top.id, Buffer.from('a/y')), snap(ID('b')), null, 10);
    db.removeDirectory(top.id);
    // /top/a tracked on its own later, with a newer x
    const a = db.createDirectory('/top/a').directory;
    db.insertSnapshot(db.findOrCreateFile(a.id, Buffer.from('x')), snap(ID('c')), null, 20);
    const { directory, absorbed } = db.createDirectory('/top');
    expect(directory.id).toBe(top.id);
    expect(absorbed.map((d) => d.id)).toEqual([a.id]);
    expect(db.listDirectories(true).map((d) => d.path)).toEqual(['/top']);
    const x = db.trackedFile(top.id, Buffer.from('a/x'))!;
    expect(x.current?.contentId).toBe(ID('c'));
    expect(db.findFileSnapshotsForFile(x.id).map((v) => v.contentId)).toEqual([ID('c'), ID('a')]);
    expect(db.trackedFile(top.id, Buffer.from('a/y'))?.current?.contentId).toBe(ID('b'));
    expect(db.driftPrint(top.id, Buffer.from('a/x'))).toMatch(/^file:/);
    db.close();
  });
});

describe('Database snapshots and content', () => {
  it('versions newest first; the restorable versions and the names at a time are the ones current then', () => {
    const db = open();
    const d = db.createDirectory('/d').directory;
    const f = db.findOrCreateFile(d.id, Buffer.from('f'));
    const g = db.findOrCreateFile(d.id, Buffer.from('g'));
    for (const c of ['1', '2']) db.recordContent(ID(c), 1, 'local', 1);
    db.insertSnapshot(f, snap(ID('1')), null, 100);
    db.insertSnapshot(f, snap(ID('2')), null, 200);
    db.insertSnapshot(g, snap(ID('1')), null, 150);
    db.insertSnapshot(g, snap(ID('1'), { deleted: true }), null, 250);
    expect(db.findFileSnapshotsForFile(f.id).map((s) => s.createdAt)).toEqual([200, 100]);
    const at = (t: number) => Object.fromEntries([...db.iterRestorableAt(d.id, t)].map((x) => [x.name.toString(), x.version.contentId?.[0]]));
    const names = (t: number) => Object.fromEntries([...db.iterNamesAt(d.id, t)].map((x) => [x.name.toString(), x.deleted]));
    expect(at(50)).toEqual({});
    expect(at(100)).toEqual({ f: '1' });
    expect(at(199)).toEqual({ f: '1', g: '1' });
    expect(at(300)).toEqual({ f: '2' });
    expect(names(300)).toEqual({ f: false, g: true });
    expect(names(50)).toEqual({});
    expect(db.findFile(d.id, Buffer.from('g'))!.deleted).toBe(true);
    expect(db.countSnapshots()).toBe(4);
    db.close();
  });

  it('contentBehind(vault) is true exactly while some content has no record in that vault, as contentMissingFrom says', () => {
    const db = open();
    const behind = (v: string) => [db.contentBehind(v), db.contentMissingFrom(v).map((m) => m.id[0])] as const;
    expect(behind('a')).toEqual([false, []]);
    db.recordContent(ID('1'), 1, 'a', 1);
    db.recordContent(ID('1'), 1, 'b', 1);
    db.recordContent(ID('2'), 1, 'a', 1);
    expect(behind('a')).toEqual([false, []]);
    expect(behind('b')).toEqual([true, ['2']]);
    expect(behind('new')).toEqual([true, ['1', '2']]);
    db.recordContent(ID('2'), 1, 'b', 1);
    db.recordContent(ID('2'), 1, 'b', 2); // recorded twice, counted once
    expect(behind('b')).toEqual([false, []]);
    db.close();
  });

  it('keeps 64-bit nanosecond times exactly', () => {
    const db = open();
    const d = db.createDirectory('/t').directory;
    const f = db.findOrCreateFile(d.id, Buffer.from('f'));
    db.recordContent(ID('e'), 1, 'local', 1);
    const s = db.insertSnapshot(f, snap(ID('e'), { mtimeNs: 1614834367123456789n, atimeNs: 1500000000250000001n }), null, 1);
    const back = db.getSnapshot(s.id)!;
    expect(back.mtimeNs).toBe(1614834367123456789n);
    expect(back.atimeNs).toBe(1500000000250000001n);
    const g = db.findOrCreateFile(d.id, Buffer.from('g'));
    db.insertSnapshot(g, snap(ID('e'), { mtimeNs: -1234567891n, atimeNs: 0n }), null, 1);
    const restorable = Object.fromEntries([...db.iterRestorableAt(d.id, 1)].map((x) => [x.name.toString(), x.version]));
    expect(restorable.f).toMatchObject({ mtimeNs: 1614834367123456789n, atimeNs: 1500000000250000001n, contentId: ID('e'), fileType: 'file' });
    expect(restorable.g).toMatchObject({ mtimeNs: -1234567891n, atimeNs: 0n });
    db.close();
  });

  it("keeps each file's drift print (fsmgr's fingerprint() of its current version) with it, and migration 3 fills it in for an older database", () => {
    const dir = path.join(tmp, 'drift-print');
    const db = new Database(dir);
    const d = db.createDirectory('/p').directory;
    const file = (name: string) => db.findOrCreateFile(d.id, Buffer.from(name, 'latin1'));
    db.recordContent(ID('a'), 7, 'local', 1);
    const plain = snap(ID('a'), { size: 7, mode: 0o640, uid: 1000, gid: 100, mtimeNs: 1614834367123456789n });
    const target = Buffer.from('/x/\xff\x01', 'latin1');
    const link = snap(null, { fileType: 'symlink', size: 5, linkTarget: target, mtimeNs: -1234567891n });
    const changed = file('changed');
    db.insertSnapshot(changed, snap(ID('a')), null, 1);
    db.insertSnapshot(changed, plain, null, 2);
    db.insertSnapshot(file('link'), link, null, 1);
    const gone = file('gone');
    db.insertSnapshot(gone, plain, null, 1);
    db.insertSnapshot(gone, { ...plain, deleted: true }, null, 2);
    file('never');
    db.recordVersion(null, d.id, Buffer.from('recorded'), plain, null, 3);
    const plainPrint = fingerprint({ kind: 'file', size: 7, mode: 0o640, uid: 1000, gid: 100, mtimeNs: 1614834367123456789n, linkTarget: null });
    const expected = {
      changed: plainPrint,
      gone: '-',
      link: fingerprint({ kind: 'symlink', size: 5, mode: 0o644, uid: 0, gid: 0, mtimeNs: -1234567891n, linkTarget: target }),
      never: '',
      recorded: plainPrint,
    };
    const prints = (from: Database) => Object.fromEntries(from.driftPage(d.id, null, null, 100).map(([n, p]) => [n.toString('latin1'), p]));
    expect(prints(db)).toEqual(expected);
    expect(db.driftPrint(d.id, Buffer.from('link'))).toBe(expected.link);
    // The same files as a database of schema 2 held them, without the column.
    db.db.exec('ALTER TABLE file DROP COLUMN drift_print');
    db.db.pragma('user_version = 2');
    db.close();
    const migrated = new Database(dir);
    expect(prints(migrated)).toEqual(expected);
    migrated.close();
  });

  it('a backup that finds a file unchanged, or a deletion already recorded, mends a stale drift print', () => {
    // As an older bt leaves it when it records while this one migrates the database: a version without its print.
    const db = open();
    const d = db.createDirectory('/s').directory;
    db.recordContent(ID('a'), 7, 'local', 1);
    const values = { contentId: ID('a'), size: 7, mode: 0o640, uid: 1000, gid: 100, atimeNs: 1n, mtimeNs: 5n, ctimeNs: 6n, birthtimeNs: null, fileType: 'file' as const };
    const kept = db.recordVersion(null, d.id, Buffer.from('kept'), { ...values, linkTarget: null, deleted: false }, null, 1);
    const gone = db.findOrCreateFile(d.id, Buffer.from('gone'));
    db.insertSnapshot(gone, snap(ID('a')), null, 1);
    db.insertSnapshot(gone, snap(ID('a'), { deleted: true }), null, 2);
    const prints = () => Object.fromEntries(db.driftPage(d.id, null, null, 100).map(([n, p]) => [n.toString(), p]));
    const good = prints();
    expect(good.gone).toBe('-');
    db.db.exec(`UPDATE file SET drift_print = 'stale'`);
    const results = db.recordBackup([
      { kind: 'version', directoryId: d.id, name: 'kept', fileId: kept, unchanged: true, vaults: ['local'], snap: { ...values, linkTarget: null } },
      { kind: 'delete', directoryId: d.id, name: 'gone' },
    ], ['local'], 'run', 3);
    expect(results).toEqual(['unchanged', 'skipped']);
    expect(prints()).toEqual(good);
    expect(db.findFileSnapshotsForFile(kept)).toHaveLength(1); // mended, not versioned again
    db.close();
  });

  it('recordContent is idempotent and tracks placement per vault', () => {
    const db = open();
    db.recordContent(ID('f'), 10, 'a', 1);
    db.recordContent(ID('f'), 10, 'a', 2);
    db.recordContent(ID('f'), 10, 'b', 3);
    expect(db.hasContent(ID('f'))).toBe(true);
    expect(db.contentVaults(ID('f'))).toEqual(['a', 'b']);
    expect(db.hasContent(ID('0'))).toBe(false);
    db.close();
  });

  it('metadata key/values and the schema survive a reopen', () => {
    const dir = path.join(tmp, 'reopen');
    const db = new Database(dir);
    db.setMeta('k', 'v1');
    db.setMeta('k', 'v2');
    db.createDirectory('/keep');
    db.close();
    const again = new Database(dir);
    expect(again.getMeta('k')).toBe('v2');
    expect(again.getMeta('missing')).toBeNull();
    expect(again.listDirectories().map((d) => d.path)).toEqual(['/keep']);
    again.close();
  });
});
