import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDirs } from '../../src/util/make-dirs.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-make-dirs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('makeDirs', () => {
  it('creates missing parents, and does nothing for an existing directory', () => {
    const deep = path.join(tmp, 'a', 'b', 'c');
    makeDirs(deep);
    expect(fs.statSync(deep).isDirectory()).toBe(true);
    makeDirs(deep);
    makeDirs(path.join(tmp, 'a') + '/');
    expect(fs.readdirSync(path.join(tmp, 'a'))).toEqual(['b']);
  });

  it('reports the directories it created, parents first, and none that were there', () => {
    fs.mkdirSync(path.join(tmp, 'have'));
    const made: Buffer[] = [];
    makeDirs(path.join(tmp, 'have', 'x', 'y'), made);
    expect(made.map(String)).toEqual([path.join(tmp, 'have', 'x'), path.join(tmp, 'have', 'x', 'y')]);
    const again: Buffer[] = [];
    makeDirs(path.join(tmp, 'have', 'x', 'y'), again);
    expect(again).toEqual([]);
  });

  it('takes byte paths that are not UTF-8', () => {
    const name = Buffer.concat([Buffer.from(path.join(tmp, 'bytes') + '/'), Buffer.from([0xff, 0xfe]), Buffer.from('/x')]);
    makeDirs(name);
    expect(fs.statSync(name).isDirectory()).toBe(true);
  });

  it('fails on a file in the way, with its code', () => {
    const file = path.join(tmp, 'file');
    fs.writeFileSync(file, 'x');
    expect(() => makeDirs(file)).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(() => makeDirs(path.join(file, 'sub'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });

  it.runIf(fs.existsSync('/proc/self'))('fails at once where mkdir keeps answering ENOENT (under /proc), instead of looping', () => {
    expect(() => makeDirs('/proc/bt-no-such-dir/x')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
