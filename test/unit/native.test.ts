import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { listDir, nsText, type DirListing, type Found } from '../../src/fsmgr/list-dir.js';
import { fingerprint, statPath } from '../../src/fsmgr/stat.js';
import { nativeModule, errnoCode } from '../../src/util/native.js';
import { syncFilesystem } from '../../src/util/sync-fs.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-native-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const native = nativeModule();

/** Every entry of a listing by name (latin1), with what it is. */
function describeListing(l: DirListing, dir: Buffer): Map<string, { isDir: boolean; found: Found }> {
  const out = new Map<string, { isDir: boolean; found: Found }>();
  for (let i = 0; i < l.count; i++) {
    const name = l.name(i);
    const abs = Buffer.concat([dir, Buffer.from('/'), name]);
    out.set(name.toString('latin1'), { isDir: l.isDir(i), found: l.isDir(i) ? { type: 'dir' } : l.find(i, abs) });
  }
  return out;
}

/** The native and the JavaScript listing of `abs`, each described. */
function bothListings(abs: Buffer): [ReturnType<typeof describeListing>, ReturnType<typeof describeListing>] {
  const viaNative = listDir(abs, native);
  const viaJs = listDir(abs, null);
  if (typeof viaNative === 'string' || typeof viaJs === 'string') throw new Error(`cannot list ${abs.toString()}: ${String(viaNative)}, ${String(viaJs)}`);
  return [describeListing(viaNative, abs), describeListing(viaJs, abs)];
}

describe('the native addon', () => {
  it('is built by npm ci here (the rest of this file compares it with the JavaScript fallback)', () => {
    expect(native, 'native/build/Release/bt_native.node: run npm ci (or npm run install)').not.toBeNull();
    expect(native!.layout).toBe(1);
  });

  it('lists and stats a directory exactly as readdir and lstat do', () => {
    const dir = path.join(tmp, 'awkward');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'plain.txt'), 'hello');
    fs.writeFileSync(path.join(dir, 'empty'), '');
    fs.writeFileSync(path.join(dir, 'exec.sh'), '#!/bin/sh\n', { mode: 0o751 });
    fs.writeFileSync(path.join(dir, 'new\nline'), 'n');
    fs.writeFileSync(Buffer.from(`${dir}/bad\xff\xfename`, 'latin1'), 'b');
    fs.symlinkSync('plain.txt', path.join(dir, 'link'));
    fs.symlinkSync(Buffer.from('/no/such/\xff\x01target', 'latin1'), path.join(dir, 'dangling'));
    fs.writeFileSync(path.join(dir, 'old'), 'o');
    // Before 1970: negative seconds and positive nanoseconds (Node's utimes takes a negative time for "now").
    execFileSync('touch', ['-h', '-d', '1969-12-31 23:59:58.75 UTC', path.join(dir, 'old')]);
    fs.writeFileSync(path.join(dir, 'epoch'), 'e');
    fs.utimesSync(path.join(dir, 'epoch'), 0.5, 0.5);
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    const [a, b] = bothListings(Buffer.from(dir));
    expect([...a.keys()].sort()).toEqual(['bad\xff\xfename', 'dangling', 'empty', 'epoch', 'exec.sh', 'fifo', 'link', 'new\nline', 'old', 'plain.txt', 'sub']);
    expect(a).toEqual(b);
    expect(a.get('sub')).toEqual({ isDir: true, found: { type: 'dir' } });
    expect(a.get('fifo')!.found).toEqual({ type: 'special', what: 'fifo' });
    const print = (n: string) => (a.get(n)!.found as { print: string }).print;
    expect(print('old')).toContain(':-1250000000:');
    expect(print('epoch')).toContain(':500000000:');
    expect(print('dangling').endsWith(`:${Buffer.from('/no/such/\xff\x01target', 'latin1').toString('hex')}`)).toBe(true);
    const st = statPath(Buffer.from(path.join(dir, 'exec.sh')));
    if (st.type !== 'entry') throw new Error('exec.sh');
    expect(print('exec.sh')).toBe(fingerprint(st.meta));
  });

  it.runIf(fs.existsSync('/dev/shm'))('gives the same fingerprint for a time past 2^53 seconds (tmpfs keeps one; ext4 stops at 2446)', () => {
    const dir = fs.mkdtempSync('/dev/shm/bt-unit-native-');
    try {
      fs.writeFileSync(path.join(dir, 'far'), 'f');
      execFileSync('touch', ['-d', '@1152921504606846977', path.join(dir, 'far')]);
      const [a, b] = bothListings(Buffer.from(dir));
      expect(a).toEqual(b);
      expect((a.get('far')!.found as { print: string }).print).toContain(':1152921504606846976000000000:');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers the errno of a directory it cannot list, as the fallback answers its code', () => {
    const missing = Buffer.from(path.join(tmp, 'no-such-dir'));
    expect(listDir(missing, native)).toBe('ENOENT');
    expect(listDir(missing, null)).toBe('ENOENT');
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    expect(listDir(Buffer.from(file), native)).toBe('ENOTDIR');
    expect(listDir(Buffer.from(file), null)).toBe('ENOTDIR');
  });

  it('syncs a filesystem, and reports the errno of a path it cannot open', async () => {
    expect(await native!.syncFs(tmp)).toBe(0);
    expect(errnoCode(await native!.syncFs(path.join(tmp, 'no-such-dir')))).toBe('ENOENT');
    expect(await syncFilesystem(tmp)).toBeNull();
    expect(await syncFilesystem(path.join(tmp, 'no-such-dir'))).toBe('no such file or directory');
  });

  it('gives nanoseconds as lstat\'s BigInt does, on both sides of 1970', () => {
    // 2^60 + 1 seconds is no double: the nearest one, 2^60, is what both sides print in full.
    for (const [sec, nsec] of [[1_700_000_000, 5], [1_700_000_000, 999_999_999], [0, 0], [0, 7], [-1, 999_999_999], [-2, 750_000_000], [2 ** 60, 3], [-(2 ** 60), 3]] as const) {
      expect(nsText(sec, nsec)).toBe(String(BigInt(sec) * 1_000_000_000n + BigInt(nsec)));
    }
  });
});
