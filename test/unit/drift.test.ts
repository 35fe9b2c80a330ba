import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/db/database.js';
import { fingerprint, statPath, type FileMeta } from '../../src/fsmgr/stat.js';
import { prepareWalkThread, startWalk } from '../../src/fsmgr/parallel-walk.js';
import { walkInBatches, type WalkBatch } from '../../src/fsmgr/walk-batches.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-drift-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function metaOf(p: string | Buffer): FileMeta {
  const st = statPath(Buffer.isBuffer(p) ? p : Buffer.from(p));
  if (st.type !== 'entry') throw new Error(`not a file: ${p}`);
  return st.meta;
}

function record(db: Database, dirId: string, name: Buffer, m: FileMeta): void {
  db.transaction(() => db.recordVersion(null, dirId, name, {
    contentId: null, size: m.size, mode: m.mode, uid: m.uid, gid: m.gid, atimeNs: m.atimeNs, mtimeNs: m.mtimeNs, ctimeNs: m.ctimeNs,
    birthtimeNs: m.birthtimeNs, fileType: m.kind, linkTarget: m.linkTarget, deleted: false,
  }, null, Date.now()));
}

/** Every entry of a walk as [name in hex, fingerprint]; a name reported twice fails the test. */
function unpack(batches: WalkBatch[]): Map<string, string> {
  const out = new Map<string, string>();
  let count = 0;
  for (const b of batches) {
    const names = Buffer.from(b.names.buffer, b.names.byteOffset, b.names.length);
    const prints = b.prints.split('\n');
    let from = 0;
    b.ends.forEach((to, i) => {
      out.set(names.toString('hex', from, to), prints[i]!);
      count++;
      from = to;
    });
  }
  expect(count).toBe(out.size);
  return out;
}

describe('drift fingerprints', () => {
  it('the database builds the same fingerprint as a stat of the unchanged file, and a different one after a change', () => {
    const root = path.join(tmp, 'tree');
    fs.mkdirSync(root);
    const names = [Buffer.from('plain.txt'), Buffer.from('with space'), Buffer.concat([Buffer.from('bad-'), Buffer.from([0xff, 0x0a])])];
    for (const n of names) fs.writeFileSync(Buffer.concat([Buffer.from(root + '/'), n]), 'x');
    fs.symlinkSync('target/ü', path.join(root, 'link'));
    fs.writeFileSync(path.join(root, 'gone'), 'y');
    const db = new Database(path.join(tmp, 'db1'));
    const dir = db.createDirectory(root).directory;
    const all = [...names, Buffer.from('link'), Buffer.from('gone')];
    for (const n of all) record(db, dir.id, n, metaOf(Buffer.concat([Buffer.from(root + '/'), n])));
    const index = db.driftIndex(dir.id);
    expect(index.size).toBe(all.length);
    for (const n of all) {
      const st = statPath(Buffer.concat([Buffer.from(root + '/'), n]));
      if (st.type !== 'entry') throw new Error('missing');
      expect(index.get(n.toString('latin1'))).toBe(fingerprint(st.meta));
    }
    expect(index.get('link')).toMatch(/^symlink:.*:[0-9a-f]+$/);
    fs.chmodSync(path.join(root, 'plain.txt'), 0o600);
    expect(fingerprint(metaOf(path.join(root, 'plain.txt')))).not.toBe(index.get('plain.txt'));
    db.close();
  });

  it('marks deleted files and files without a version', () => {
    const db = new Database(path.join(tmp, 'db2'));
    const dir = db.createDirectory('/nowhere').directory;
    db.findOrCreateFile(dir.id, Buffer.from('new'));
    const f = db.findOrCreateFile(dir.id, Buffer.from('old'));
    db.transaction(() => db.insertSnapshot(f, {
      contentId: null, size: 0, mode: 0o644, uid: 0, gid: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, birthtimeNs: null,
      fileType: 'file', linkTarget: null, deleted: true,
    }, null, Date.now()));
    const index = db.driftIndex(dir.id);
    expect(index.get('new')).toBe('');
    expect(index.get('old')).toBe('-');
    expect(db.driftIndex('no-such-directory').size).toBe(0);
    db.close();
  });
});

describe('walks', () => {
  const root = path.join(tmp, 'walk');
  const expected = new Map<string, string>();
  fs.mkdirSync(root);
  for (let a = 0; a < 6; a++) {
    for (let b = 0; b < 5; b++) {
      const d = path.join(root, `a${a}`, `b${b}`, 'c');
      fs.mkdirSync(d, { recursive: true });
      for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(d, `f${i}`), String(i));
      fs.writeFileSync(path.join(root, `a${a}`, `top${b}`), 'x');
    }
  }
  fs.mkdirSync(path.join(root, 'skipme'));
  fs.writeFileSync(path.join(root, 'skipme', 'inside'), 'x');
  fs.writeFileSync(path.join(root, 'rootfile'), 'r');
  const spec = { root, patterns: ['skipme/'], exclude: [] as string[] };
  walkInBatches({ ...spec, starts: [new Uint8Array(0)] }, (b) => unpack([b]).forEach((v, k) => expected.set(k, v)));

  it('a walk on this thread finds every file once, with ignore rules applied', () => {
    expect(expected.size).toBe(6 * 5 * 41 + 1);
    expect([...expected.keys()].some((k) => Buffer.from(k, 'hex').toString().startsWith('skipme'))).toBe(false);
  });

  it.each([0, 1])('a walk on %i worker thread(s) (0: on this thread) yields the same files and fingerprints', async (workers) => {
    const saved = process.env.BT_WALK_WORKERS;
    process.env.BT_WALK_WORKERS = String(workers);
    try {
      const batches: WalkBatch[] = [];
      for await (const b of startWalk({ ...spec, start: Buffer.alloc(0) })) batches.push(b);
      const got = unpack(batches);
      expect(got.size).toBe(expected.size);
      expect(got).toEqual(expected);
    } finally {
      if (saved === undefined) delete process.env.BT_WALK_WORKERS;
      else process.env.BT_WALK_WORKERS = saved;
    }
  });

  it('a worker started ahead of its walk does that walk, and the next walk gets a fresh one', async () => {
    prepareWalkThread();
    for (let round = 0; round < 2; round++) {
      const batches: WalkBatch[] = [];
      for await (const b of startWalk({ ...spec, start: Buffer.alloc(0) })) batches.push(b);
      expect(unpack(batches)).toEqual(expected);
    }
  });

  it('close() ends a walk that will not be read: its worker is gone', async () => {
    const walk = startWalk({ ...spec, start: Buffer.alloc(0) });
    await walk.close();
    await expect((async () => {
      for await (const b of walk) void b;
    })()).rejects.toThrow(/walk worker exited/);
  });

  it('a walk below a start reports only that part', async () => {
    const batches: WalkBatch[] = [];
    for await (const b of startWalk({ ...spec, start: Buffer.from('a2/b3') })) batches.push(b);
    const got = unpack(batches);
    expect(got.size).toBe(40);
    for (const k of got.keys()) expect(Buffer.from(k, 'hex').toString()).toMatch(/^a2\/b3\/c\/f\d+$/);
  });
});
