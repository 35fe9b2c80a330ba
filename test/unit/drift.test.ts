import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/db/database.js';
import { fingerprint, statPath, type FileMeta } from '../../src/fsmgr/stat.js';
import { prepareWalkThread, startWalk } from '../../src/fsmgr/parallel-walk.js';
import { WALK_AHEAD, walkInBatches, type WalkBatch } from '../../src/fsmgr/walk-batches.js';

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

/** Every recorded file of a directory, read page by page, as name (latin1) → value; pages must come in name order. */
function driftIndex(db: Database, dirId: string, pageSize = 3): Map<string, string> {
  const out = new Map<string, string>();
  let after: Buffer | null = null;
  for (;;) {
    const page = db.driftPage(dirId, after, null, pageSize);
    for (const [name, value] of page) {
      if (after) expect(Buffer.compare(after, name)).toBe(-1);
      out.set(name.toString('latin1'), value);
      after = name;
    }
    if (page.length < pageSize) return out;
  }
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
    const index = driftIndex(db, dir.id);
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
    const index = driftIndex(db, dir.id);
    expect(index.get('new')).toBe('');
    expect(index.get('old')).toBe('-');
    expect(driftIndex(db, 'no-such-directory').size).toBe(0);
    expect(db.driftPrint(dir.id, Buffer.from('old'))).toBe('-');
    expect(db.driftPrint(dir.id, Buffer.from('never'))).toBeUndefined();
    db.close();
  });
});

describe('name order', () => {
  // Names where a directory's slash sorts against its siblings: '-' and '.' come before '/', '0' after it.
  const names = ['b-1', 'b.txt', 'b/x', 'b/y/z', 'b0', 'c/\u00fc', 'c/z', 'a b', Buffer.from([0x64, 0xff]).toString('latin1')];
  const bytes = (n: string) => (/[\u0080-\u00ff]/.test(n) && !n.includes('\u00fc') ? Buffer.from(n, 'latin1') : Buffer.from(n));
  const sorted = names.map(bytes).sort(Buffer.compare);

  it('a walk yields names in byte order, as the database orders them', () => {
    const root = path.join(tmp, 'order');
    for (const n of sorted) {
      const abs = Buffer.concat([Buffer.from(root + '/'), n]);
      fs.mkdirSync(abs.subarray(0, abs.lastIndexOf(0x2f)), { recursive: true });
      fs.writeFileSync(abs, 'x');
    }
    const walked: Buffer[] = [];
    walkInBatches({ root, starts: [new Uint8Array(0)], patterns: [], exclude: [] }, (b) => {
      const packed = Buffer.from(b.names.buffer, b.names.byteOffset, b.names.length);
      let from = 0;
      for (const to of b.ends) {
        walked.push(Buffer.from(packed.subarray(from, to)));
        from = to;
      }
    });
    expect(walked.map((b) => b.toString('hex'))).toEqual(sorted.map((b) => b.toString('hex')));

    const db = new Database(path.join(tmp, 'db-order'));
    const dir = db.createDirectory(root).directory;
    for (const n of [...sorted].reverse()) db.findOrCreateFile(dir.id, n);
    expect([...driftIndex(db, dir.id, 2).keys()].map((k) => Buffer.from(k, 'latin1').toString('hex'))).toEqual(sorted.map((b) => b.toString('hex')));
    // Below a directory: only its files, not a sibling that shares the prefix.
    const below = db.driftPage(dir.id, null, Buffer.from('b'), 100).map(([n]) => n.toString());
    expect(below).toEqual(['b/x', 'b/y/z']);
    expect(db.driftPage(dir.id, Buffer.from('b/x'), Buffer.from('b'), 100).map(([n]) => n.toString())).toEqual(['b/y/z']);
    expect(db.driftPage(dir.id, Buffer.from('a'), Buffer.from('b'), 1).map(([n]) => n.toString())).toEqual(['b/x']);
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

  it('a walker thread keeps only a few batches ahead of its reader', async () => {
    const big = path.join(tmp, 'many');
    fs.mkdirSync(big);
    // 10 batches' worth of files, in 50 directories.
    for (let d = 0; d < 50; d++) {
      fs.mkdirSync(path.join(big, `d${d}`));
      for (let i = 0; i < 410; i++) fs.writeFileSync(path.join(big, `d${d}`, `f${i}`), '');
    }
    const walk = startWalk({ root: big, start: Buffer.alloc(0), patterns: [], exclude: [] });
    let files = 0;
    let peak = 0;
    for await (const b of walk) {
      files += b.ends.length;
      // A slow reader: the walk would finish meanwhile, were it not held back.
      await new Promise((r) => setTimeout(r, files === b.ends.length ? 500 : 10));
      peak = Math.max(peak, walk.buffered());
    }
    expect(files).toBe(50 * 410);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(WALK_AHEAD);
  });

  it('a walk below a start reports only that part', async () => {
    const batches: WalkBatch[] = [];
    for await (const b of startWalk({ ...spec, start: Buffer.from('a2/b3') })) batches.push(b);
    const got = unpack(batches);
    expect(got.size).toBe(40);
    for (const k of got.keys()) expect(Buffer.from(k, 'hex').toString()).toMatch(/^a2\/b3\/c\/f\d+$/);
  });
});
