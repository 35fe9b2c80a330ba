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
});
