import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StagingArea, type StagedEntry } from '../../src/staging/staging-area.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-staging-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => path.join(tmp, `s${n++}`);
const e = (p: string | Buffer, op: 'upsert' | 'delete' = 'upsert', t = 1): StagedEntry => ({ abs: Buffer.isBuffer(p) ? p : Buffer.from(p), op, stagedAt: t });

describe('StagingArea', () => {
  it('is empty without a directory, and loads nothing', () => {
    const s = new StagingArea(fresh());
    expect(s.isEmpty()).toBe(true);
    expect(s.load().entries.size).toBe(0);
  });

  it('stages a batch as one .jsonl file holding paths and operations, never content', () => {
    const dir = fresh();
    const s = new StagingArea(dir);
    s.stageForBackup([e('/a/one'), e('/a/two', 'delete')]);
    const files = fs.readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/\.jsonl$/);
    expect(s.isEmpty()).toBe(false);
    const set = s.load();
    expect(set.batches).toHaveLength(1);
    expect([...set.entries.values()].map((x) => [x.abs.toString(), x.op])).toEqual([['/a/one', 'upsert'], ['/a/two', 'delete']]);
    // Each line is JSON: the path in base64, the operation, the time staged.
    const lines = fs.readFileSync(path.join(dir, files[0]!), 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { p: Buffer.from('/a/one').toString('base64'), op: 'upsert', t: set.entries.get('/a/one')!.stagedAt },
      { p: Buffer.from('/a/two').toString('base64'), op: 'delete', t: set.entries.get('/a/two')!.stagedAt },
    ]);
  });

  it('an empty batch writes nothing', () => {
    const dir = fresh();
    const s = new StagingArea(dir);
    s.stageForBackup([]);
    expect(s.isEmpty()).toBe(true);
  });

  it('round-trips byte paths that are not UTF-8 or hold newlines', () => {
    const s = new StagingArea(fresh());
    const weird = Buffer.concat([Buffer.from('/d/x\ny'), Buffer.from([0xff, 0x00 + 0x41])]);
    s.stageForBackup([e(weird)]);
    const got = [...s.load().entries.values()];
    expect(got).toHaveLength(1);
    expect(got[0]!.abs.equals(weird)).toBe(true);
  });

  it('stagedPaths() names every staged path once, across batches and operations, byte for byte', () => {
    const s = new StagingArea(fresh());
    expect(s.stagedPaths().size).toBe(0);
    const weird = Buffer.from([0x2f, 0xff, 0x0a, 0x41]);
    s.stageForBackup([e('/a'), e(weird, 'delete')]);
    s.stageForBackup([e('/a', 'delete'), e('/b')]);
    const paths = s.stagedPaths();
    expect([...paths].sort()).toEqual(['/a', '/b', weird.toString('latin1')].sort());
    expect(paths.has(Buffer.from('/c').toString('latin1'))).toBe(false);
  });

  it('stagedPaths(below) keeps only that directory\'s paths, not a sibling sharing its prefix', () => {
    const s = new StagingArea(fresh());
    s.stageForBackup([e('/d/x'), e('/d/sub/y'), e('/d2/z'), e('/d'), e('/e')]);
    expect([...s.stagedPaths(Buffer.from('/d'))].sort()).toEqual(['/d', '/d/sub/y', '/d/x']);
    expect([...s.stagedPaths(Buffer.from('/d/sub'))]).toEqual(['/d/sub/y']);
    expect([...s.stagedPaths(Buffer.from('/'))].sort()).toEqual(['/d', '/d/sub/y', '/d/x', '/d2/z', '/e']);
  });

  it('a later batch wins for the same path', async () => {
    const s = new StagingArea(fresh());
    s.stageForBackup([e('/p', 'upsert', 1)]);
    await new Promise((r) => setTimeout(r, 5));
    s.stageForBackup([e('/p', 'delete', 2)]);
    const set = s.load();
    expect(set.batches).toHaveLength(2);
    expect(set.entries.size).toBe(1);
    expect(set.entries.get(Buffer.from('/p').toString('latin1'))!.op).toBe('delete');
  });

  it('complete() keeps only what remains, and removes the batches it read', () => {
    const dir = fresh();
    const s = new StagingArea(dir);
    s.stageForBackup([e('/1'), e('/2')]);
    s.stageForBackup([e('/3')]);
    const set = s.load();
    s.complete(set, [set.entries.get('/2')!]);
    const after = s.load();
    expect([...after.entries.keys()]).toEqual(['/2']);
    expect(after.batches).toHaveLength(1);
    expect(after.batches[0]).not.toBe(set.batches[0]);
    s.complete(after, []);
    expect(s.isEmpty()).toBe(true);
  });

  it('a batch added after load() survives complete() of the loaded set', () => {
    const s = new StagingArea(fresh());
    s.stageForBackup([e('/old')]);
    const set = s.load();
    s.stageForBackup([e('/new')]);
    s.complete(set, []);
    expect([...s.load().entries.keys()]).toEqual(['/new']);
  });

  it('ignores temp files and tolerates a torn line', () => {
    const dir = fresh();
    const s = new StagingArea(dir);
    s.stageForBackup([e('/ok')]);
    fs.writeFileSync(path.join(dir, '.bt-tmp-1-x.jsonl'), '{"p":"L25v","op":"upsert","t":1}\n');
    fs.appendFileSync(path.join(dir, fs.readdirSync(dir).find((f) => !f.startsWith('.'))!), '{"p":"L3Rv');
    expect([...s.load().entries.keys()]).toEqual(['/ok']);
  });

  describe('streaming batches (what a backup reads)', () => {
    it('a BatchWriter shows nothing until commit, then one batch that streams back in order across read chunks', () => {
      const dir = fresh();
      const s = new StagingArea(dir);
      const w = s.newBatch();
      // Long names make the batch span several 1 MiB read chunks, so lines cross chunk boundaries.
      const names = Array.from({ length: 6000 }, (_, i) => Buffer.concat([Buffer.from(`/t/${i}-`), Buffer.alloc(300, 0x61), Buffer.from([0xff, 0x0a, 0x20])]));
      for (const abs of names) w.add(e(abs));
      expect(s.isEmpty()).toBe(true);
      expect(s.openBatches().count).toBe(0);
      w.commit();
      const set = s.openBatches();
      expect(set.batches).toHaveLength(1);
      expect(fs.statSync(set.batches[0]!).size).toBeGreaterThan(2 << 20);
      expect(set.count).toBe(names.length);
      const got = [...s.entries(set)].map((x) => x.abs);
      expect(got.length).toBe(names.length);
      expect(got.every((b, i) => b.equals(names[i]!))).toBe(true);
    });

    it('an empty or aborted BatchWriter leaves no file behind', () => {
      const dir = fresh();
      const s = new StagingArea(dir);
      s.newBatch().commit();
      const w = s.newBatch();
      for (let i = 0; i < 3000; i++) w.add(e(`/x/${'y'.repeat(100)}/${i}`)); // enough to reach the disk before abort
      w.abort();
      expect(fs.existsSync(dir) ? fs.readdirSync(dir) : []).toEqual([]);
    });

    it('a path staged by two batches is read once; complete() removes the batches and a killed writer\'s temp file', () => {
      const dir = fresh();
      const s = new StagingArea(dir);
      s.stageForBackup([e('/p', 'upsert', 1), e('/q')]);
      s.stageForBackup([e('/p', 'delete', 2), e('/r')]);
      fs.writeFileSync(path.join(dir, '.bt-tmp-99999-dead-x.jsonl'), '{"p":"L25v","op":"upsert","t":1}\n');
      const set = s.openBatches();
      expect(set.count).toBe(4);
      expect([...s.entries(set)].map((x) => x.abs.toString()).sort()).toEqual(['/p', '/q', '/r']);
      s.complete(set, [e('/q')]);
      expect(fs.readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
      expect([...s.entries(s.openBatches())].map((x) => x.abs.toString())).toEqual(['/q']);
    });
  });
});
