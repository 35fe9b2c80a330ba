import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listObjects, objectExists, objectPath, renameObjects } from '../../src/vault/object-files.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-obj-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('renameObjects', () => {
  it('renames temp files to their object paths, making shard directories as needed', () => {
    const content = path.join(tmp, 'a', 'content');
    fs.mkdirSync(content, { recursive: true });
    fs.mkdirSync(path.join(content, 'bb')); // one shard exists already
    const ids = ['aa' + '1'.repeat(62), 'aa' + '2'.repeat(62), 'bb' + '3'.repeat(62)];
    const moves: string[] = [];
    ids.forEach((id, i) => {
      const t = path.join(tmp, 'a', `t${i}`);
      fs.writeFileSync(t, `body ${i}`);
      moves.push(t, objectPath(content, id));
    });
    renameObjects(moves);
    ids.forEach((id, i) => expect(fs.readFileSync(path.join(content, id.slice(0, 2), id), 'utf8')).toBe(`body ${i}`));
    expect(fs.readdirSync(path.join(tmp, 'a')).sort()).toEqual(['content']);
    expect(objectExists(content, ids[0]!, 'body 0'.length)).toBe(true);
    expect(objectExists(content, ids[0]!, 99)).toBe(false);
    expect(objectExists(content, 'cc' + '4'.repeat(62), 6)).toBe(false);
  });

  it('stops at a temp file that is gone, with the renames before it done', () => {
    const content = path.join(tmp, 'b', 'content');
    fs.mkdirSync(content, { recursive: true });
    const t0 = path.join(tmp, 'b', 't0');
    fs.writeFileSync(t0, 'x');
    const first = 'dd' + '5'.repeat(62);
    const second = 'ee' + '6'.repeat(62);
    expect(() => renameObjects([t0, objectPath(content, first), path.join(tmp, 'b', 'gone'), objectPath(content, second)])).toThrow(/ENOENT/);
    expect(fs.existsSync(objectPath(content, first))).toBe(true);
    expect(fs.existsSync(objectPath(content, second))).toBe(false);
  });
});

describe('listObjects', () => {
  it('lists the objects of every shard with their sizes, and nothing that is no object', () => {
    const content = path.join(tmp, 'listed', 'content');
    const ids = ['aa' + '1'.repeat(62), 'aa' + '2'.repeat(62), 'bb' + '3'.repeat(62)];
    ids.forEach((id, i) => {
      fs.mkdirSync(path.dirname(objectPath(content, id)), { recursive: true });
      fs.writeFileSync(objectPath(content, id), 'x'.repeat(i));
    });
    fs.writeFileSync(path.join(content, 'aa', 'aa-stray.tmp'), 'not an object');
    fs.writeFileSync(path.join(content, 'aa', 'cc' + '4'.repeat(62)), 'in the wrong shard: getContent never finds it');
    fs.mkdirSync(path.join(content, 'bb', 'bb' + '5'.repeat(62))); // a directory named like an object
    fs.symlinkSync(objectPath(content, ids[0]!), path.join(content, 'bb', 'bb' + '6'.repeat(62)));
    fs.writeFileSync(path.join(content, 'README'), 'not a shard');
    fs.mkdirSync(path.join(content, 'zz'));
    const listed = [...listObjects(content)].sort((a, b) => a.id.localeCompare(b.id));
    expect(listed).toEqual(ids.map((id, i) => ({ id, size: i })));
  });

  it('a vault without a content directory holds nothing', () => {
    expect([...listObjects(path.join(tmp, 'no-such', 'content'))]).toEqual([]);
  });
});
