import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Database } from '../../src/db/database.js';
import { BackupRecorder } from '../../src/db/backup-recorder.js';
import type { BackupRecord } from '../../src/db/types.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-rec-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const open = () => new Database(path.join(tmp, `db${n++}`));
const ID = (c: string) => c.repeat(64);

function version(directoryId: string, name: string, contentId: string | null, extra: Partial<Extract<BackupRecord, { kind: 'version' }>> = {}): BackupRecord {
  return {
    kind: 'version', directoryId, name, fileId: null, unchanged: false, vaults: ['local'],
    snap: { contentId, size: 3, mode: 0o100644, uid: 0, gid: 0, atimeNs: 1n, mtimeNs: 1763900000123456789n, ctimeNs: 3n, birthtimeNs: null, fileType: 'file', linkTarget: null },
    ...extra,
  };
}

describe('Database.recordBackup', () => {
  it('records versions, content placement, deletions and unchanged files, and marks the metadata dirty', () => {
    const db = open();
    const dir = db.createDirectory('/d').directory;
    const run = db.startRun();
    expect(db.hasFiles(dir.id)).toBe(false);
    const odd = Buffer.from([0x61, 0xff, 0x0a]).toString('latin1'); // invalid UTF-8 and a newline
    const link = version(dir.id, 'ln', null);
    if (link.kind === 'version') link.snap = { ...link.snap, fileType: 'symlink', linkTarget: Buffer.from([0xfe, 0x2f]).toString('latin1') };
    expect(db.recordBackup([version(dir.id, 'a', ID('a')), version(dir.id, odd, ID('b')), link], ['local'], run.id, 1000)).toEqual(['stored', 'stored', 'stored']);
    expect(db.getMeta('metadata_dirty')).toBe('1');
    expect(db.hasFiles(dir.id)).toBe(true);
    expect(db.contentVaults(ID('a'))).toEqual(['local']);
    const oddFile = db.findFile(dir.id, Buffer.from(odd, 'latin1'))!;
    expect(db.findFileSnapshotsForFile(oddFile.id)[0]).toMatchObject({ contentId: ID('b'), mtimeNs: 1763900000123456789n, size: 3 });
    const linkSnap = db.findFileSnapshotsForFile(db.findFile(dir.id, Buffer.from('ln'))!.id)[0]!;
    expect(linkSnap.linkTarget).toEqual(Buffer.from([0xfe, 0x2f]));

    db.setMeta('metadata_dirty', '0');
    const a = db.findFile(dir.id, Buffer.from('a'))!;
    const results = db.recordBackup([
      version(dir.id, 'a', ID('a'), { fileId: a.id, unchanged: true, vaults: ['local', 'usb'] }), // same version; usb's flush failed
      { kind: 'delete', directoryId: dir.id, name: odd },
      { kind: 'delete', directoryId: dir.id, name: 'never-seen' },
      version(dir.id, 'c', ID('c'), { vaults: ['usb'] }), // usb's flush failed and no record says it holds c
    ], ['local'], run.id, 2000);
    expect(results).toEqual(['unchanged', 'deleted', 'skipped', 'no-vault']);
    expect(db.contentVaults(ID('a'))).toEqual(['local']); // usb is not durable: not recorded
    expect(db.findFileSnapshotsForFile(a.id)).toHaveLength(1);
    expect(db.findFile(dir.id, Buffer.from(odd, 'latin1'))!.deleted).toBe(true);
    expect(db.findFile(dir.id, Buffer.from('c'))).toBeNull();
    expect(db.hasContent(ID('c'))).toBe(false);
    expect(db.getMeta('metadata_dirty')).toBe('1');
    db.close();
  });

  it('writes nothing when a record fails: the whole commit rolls back', () => {
    const db = open();
    const dir = db.createDirectory('/d').directory;
    const run = db.startRun();
    expect(() => db.recordBackup([version(dir.id, 'a', ID('a')), version('no-such-directory', 'b', ID('b'))], ['local'], run.id, 1)).toThrow(/FOREIGN KEY/);
    expect(db.findFile(dir.id, Buffer.from('a'))).toBeNull();
    expect(db.hasContent(ID('a'))).toBe(false);
    db.close();
  });
});

describe('BackupRecorder', () => {
  const saved = process.env.BT_RECORD_WORKER;
  afterEach(() => {
    if (saved === undefined) delete process.env.BT_RECORD_WORKER;
    else process.env.BT_RECORD_WORKER = saved;
  });

  it('records on the calling thread when asked to (a run of one commit)', async () => {
    delete process.env.BT_RECORD_WORKER;
    const db = open();
    const dir = db.createDirectory('/d').directory;
    const rec = new BackupRecorder(db, false);
    expect(await rec.record([version(dir.id, 'a', ID('a'))], ['local'], db.startRun().id, 1)).toEqual(['stored']);
    expect(rec.onWorker).toBe(false);
    await rec.close();
    db.close();
  });

  for (const threaded of [true, false]) {
    it(`records commits ${threaded ? 'on its worker thread' : 'on the calling thread (BT_RECORD_WORKER=0)'}, visible to the caller's connection`, async () => {
      process.env.BT_RECORD_WORKER = threaded ? '1' : '0';
      const db = open();
      const dir = db.createDirectory('/d').directory;
      const run = db.startRun();
      const rec = new BackupRecorder(db);
      const first = rec.record([version(dir.id, 'a', ID('a'))], ['local'], run.id, 1000);
      const second = rec.record([version(dir.id, 'b', ID('b')), { kind: 'delete', directoryId: dir.id, name: 'zz' }], ['local'], run.id, 1001);
      expect(await first).toEqual(['stored']);
      expect(await second).toEqual(['stored', 'skipped']);
      expect(rec.onWorker).toBe(threaded);
      expect(db.findFile(dir.id, Buffer.from('b'))).not.toBeNull();
      expect(db.contentVaults(ID('b'))).toEqual(['local']);
      // A failing commit rejects with the database's error and leaves the earlier ones in place.
      await expect(rec.record([version('no-such-directory', 'c', ID('c'))], ['local'], run.id, 1002)).rejects.toThrow(/FOREIGN KEY/);
      expect(db.hasContent(ID('c'))).toBe(false);
      await rec.close();
      expect(db.findFile(dir.id, Buffer.from('a'))).not.toBeNull();
      expect(db.findFile(dir.id, Buffer.from('c'))).toBeNull();
      db.close();
    });
  }
});
