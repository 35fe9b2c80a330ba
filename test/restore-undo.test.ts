// A restore that fails part way takes back what it created: the files it
// wrote and the directories it made (deepest first, only when empty), and
// never anything that was there before. With --overwrite a replaced file
// cannot be brought back, so it stays restored and the message says so.
// The error stays one line, and says what is left.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, cleanupAll, envWithTree, expectCleanError, ok, pseudoRandom, sha256, writeTree, type BtEnv, type TreeFile } from './helpers.js';

afterAll(cleanupAll);

/** Everything below root, directories included, with each file's content hash or link target; null when root is missing. */
function listing(root: string): string[] | null {
  if (!fs.existsSync(root)) return null;
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(root, rel))) {
      const r = path.join(rel, name);
      const abs = path.join(root, r);
      const st = fs.lstatSync(abs);
      if (st.isDirectory()) {
        out.push(`${r}/`);
        walk(r);
      } else if (st.isSymbolicLink()) out.push(`${r} -> ${fs.readlinkSync(abs)}`);
      else out.push(`${r} ${sha256(fs.readFileSync(abs)).slice(0, 12)}`);
    }
  };
  walk('');
  return out.sort();
}

function corrupt(env: BtEnv, content: string): () => void {
  const id = sha256(content);
  const file = path.join(env.vaultRoot, 'content', id.slice(0, 2), id);
  fs.writeFileSync(file, 'not the bytes of that object');
  return () => fs.writeFileSync(file, content);
}

describe('a directory restore that fails part way (an object in the vault is corrupt)', () => {
  // At most 64 files, so that every file is in flight when the bad one fails: the others are written, and undone.
  const tree: TreeFile[] = [
    { path: 'a.txt', content: 'a' },
    { path: 'b/b1.txt', content: 'b1' },
    { path: 'b/c/c1.txt', content: 'c1' },
    { path: 'b/link', symlink: '../a.txt' },
    { path: 'keep/k.txt', content: 'k' },
    { path: 'bad.txt', content: 'the bad one' },
  ];
  let env: BtEnv;
  let src: string;
  let repair: () => void;

  beforeAll(() => {
    ({ env, src } = envWithTree(tree, { backedUp: true }));
    repair = corrupt(env, 'the bad one');
  });

  it('into a target that exists: removes the files and directories it created, keeps what was there', () => {
    const target = path.join(env.work, 'have');
    writeTree(target, [{ path: 'keep/mine.txt', content: 'mine' }, { path: 'other.txt', content: 'other' }]);
    const before = listing(target);
    const r = env.run(['restore', src, '--target', target]);
    // created: a.txt, b/b1.txt, b/c/c1.txt, b/link, keep/k.txt and the directories b and b/c (keep was there)
    expect(expectCleanError(r, { code: 5, match: /is corrupt .*; nothing is left of the restore: removed the 5 files and 2 directories it had created\n$/ })).toEqual([]);
    expect(listing(target)).toEqual(before);
  });

  it('into a target that does not exist: removes the target and the parents it made too', () => {
    const top = path.join(env.work, 'new');
    const target = path.join(top, 'deeper', 'target');
    const r = env.run(['restore', src, '--target', target]);
    // new, new/deeper, target, target/b, target/b/c, target/keep
    expect(expectCleanError(r, { code: 5, match: /; nothing is left of the restore: removed the 5 files and 6 directories it had created\n$/ })).toEqual([]);
    expect(fs.existsSync(top)).toBe(false);
  });

  it('with --overwrite: the files it replaced keep their restored version, the rest is removed, and the message says which is which', () => {
    const target = path.join(env.work, 'over');
    writeTree(target, [{ path: 'a.txt', content: 'old a' }, { path: 'keep/k.txt', content: 'old k' }, { path: 'keep/mine.txt', content: 'mine' }]);
    const r = env.run(['restore', src, '--target', target, '--overwrite']);
    expect(expectCleanError(r, {
      code: 5,
      match: /is corrupt .*; 2 existing files were replaced by their restored versions and stay so, nothing else was restored; removed the 3 files and 2 directories it had created\n$/,
    })).toEqual([]);
    expect(listing(target)).toEqual([`a.txt ${sha256('a').slice(0, 12)}`, 'keep/', `keep/k.txt ${sha256('k').slice(0, 12)}`, `keep/mine.txt ${sha256('mine').slice(0, 12)}`]);
  });

  it('once the vault is mended, the same restore succeeds where the failed one was undone (no --overwrite needed)', () => {
    repair();
    try {
      const target = path.join(env.work, 'have');
      ok(env.run(['restore', src, '--target', target]));
      expect(fs.readFileSync(path.join(target, 'bad.txt'), 'utf8')).toBe('the bad one');
      expect(fs.readFileSync(path.join(target, 'keep', 'mine.txt'), 'utf8')).toBe('mine');
    } finally {
      repair = corrupt(env, 'the bad one');
    }
  });
});

/** Whether this process can mount a tmpfs (root with CAP_SYS_ADMIN): the only honest way to fill a disk in a test. */
function canMountTmpfs(): boolean {
  if (!IS_ROOT) return false;
  const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'bt-mount-probe-'));
  try {
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status !== 0) return false;
    spawnSync('umount', [dir]);
    return true;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!canMountTmpfs())('a restore onto a full disk (a 1 MiB tmpfs; as root)', () => {
  const BIG = pseudoRandom(3_000_000, 'full-disk');
  let env: BtEnv;
  let src: string;
  let full: string;

  beforeAll(() => {
    ({ env, src } = envWithTree([
      { path: 'big', content: BIG },
      { path: 'small.txt', content: 'small' },
      { path: 'sub/deeper/s.txt', content: 's' },
    ], { backedUp: true }));
    full = path.join(env.work, 'full');
    fs.mkdirSync(full);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', full], { encoding: 'utf8' });
    if (m.status !== 0) throw new Error(`mount failed: ${m.stderr}`);
  });
  afterAll(() => {
    if (full) spawnSync('umount', [full]);
  });

  /** The one line of a failed restore onto the full disk: which file met the full disk, and what the undo did. */
  const NO_SPACE = /^bt: no space left on device while restoring \S+; (nothing was written|nothing is left of the restore: removed the (\d+ files? and )?\d+ director(y|ies) it had created)\n$/;

  it('of a directory into a new target: exit 6, one line, and nothing of it is left (not even the directories)', () => {
    const r = env.run(['restore', src, '--target', path.join(full, 'all')]);
    expect(expectCleanError(r, { code: 6, match: NO_SPACE })).toEqual([]);
    // all, all/sub, all/sub/deeper: every directory is made before any file fails
    expect(r.stderr).toMatch(/(the|and) 3 directories it had created\n$/);
    expect(listing(full)).toEqual([]);
  });

  it('of a directory into a target that holds files: they stay, and only they', () => {
    const target = path.join(full, 'have');
    writeTree(target, [{ path: 'sub/mine.txt', content: 'mine' }]);
    const before = listing(full);
    const r = env.run(['restore', src, '--target', target]);
    expect(expectCleanError(r, { code: 6, match: NO_SPACE })).toEqual([]);
    expect(r.stderr).toMatch(/(the|and) 1 directory it had created\n$/); // sub/deeper
    expect(listing(full)).toEqual(before);
    fs.rmSync(target, { recursive: true });
  });

  it('with --overwrite: a replaced file keeps the restored version only when the message says so', () => {
    const target = path.join(full, 'over');
    writeTree(target, [{ path: 'small.txt', content: 'old' }]);
    const r = env.run(['restore', src, '--target', target, '--overwrite']);
    expect(expectCleanError(r, { code: 6, match: /^bt: no space left on device while restoring \S+; / })).toEqual([]);
    // Whether small.txt was written before the disk filled depends on timing; the message must match what happened.
    const replaced = fs.readFileSync(path.join(target, 'small.txt'), 'utf8') === 'small';
    if (replaced) expect(r.stderr).toContain('; 1 existing file was replaced by its restored version and stays so, nothing else was restored');
    else expect(r.stderr).not.toContain('replaced');
    expect(listing(target)).toEqual([`small.txt ${sha256(replaced ? 'small' : 'old').slice(0, 12)}`]);
    fs.rmSync(target, { recursive: true });
  });

  it('of one file: exit 6, one line, no temp file, and the directories made for it are gone', () => {
    const r = env.run(['restore', path.join(src, 'big'), '--target', path.join(full, 'one', 'two')]);
    expect(expectCleanError(r, {
      code: 6,
      match: `bt: no space left on device while restoring ${path.join(full, 'one', 'two', 'big')}; nothing is left of the restore: removed the 2 directories it had created\n`,
    })).toEqual([]);
    expect(listing(full)).toEqual([]);
    fs.mkdirSync(path.join(full, 'there'));
    const again = env.run(['restore', path.join(src, 'big'), '--target', path.join(full, 'there')]);
    expect(expectCleanError(again, { code: 6, match: /; nothing was written\n$/ })).toEqual([]);
    expect(listing(full)).toEqual(['there/']);
  });
});
