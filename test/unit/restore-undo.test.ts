import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RestorableVersion } from '../../src/db/types.js';
import { RestoreUndo, describeUndo, type UndoRow } from '../../src/service/restore-undo.js';
import { makeDirs } from '../../src/util/make-dirs.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-restore-undo-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const version = (size: number, fileType: 'file' | 'symlink' = 'file'): RestorableVersion =>
  ({ contentId: null, size, mode: 0o644, uid: 0, gid: 0, atimeNs: 0n, mtimeNs: 0n, fileType, linkTarget: null });

/** Write `content` at root/rel as a restore would, making its directories through the undo log. */
function place(undo: RestoreUndo, root: string, rel: string, content: string, fileRowid: number): UndoRow {
  const dest = path.join(root, rel);
  makeDirs(path.dirname(dest), undo.dirs);
  const replaced = fs.existsSync(dest);
  fs.writeFileSync(dest, content);
  undo.placed(fileRowid, replaced);
  return { fileRowid, dest: Buffer.from(dest), s: version(Buffer.byteLength(content)) };
}

describe('RestoreUndo', () => {
  it('removes the files and directories it created, deepest first, and nothing that was there', () => {
    const root = path.join(tmp, 'one');
    fs.mkdirSync(path.join(root, 'was'), { recursive: true });
    fs.writeFileSync(path.join(root, 'was', 'theirs.txt'), 'theirs');
    fs.writeFileSync(path.join(root, 'replaced.txt'), 'old');
    const undo = new RestoreUndo();
    const rows = [
      place(undo, root, 'was/new.txt', 'new', 3),
      place(undo, root, 'a/b/c/deep.txt', 'deep', 70_000), // beyond the first 1,024 bytes of bits
      place(undo, root, 'replaced.txt', 'restored', 5),
      { fileRowid: 9, dest: Buffer.from(path.join(root, 'never-written.txt')), s: version(1) },
    ];
    fs.writeFileSync(path.join(root, 'never-written.txt'), 'x'); // a file of the restore it did not write: not its to remove
    const o = undo.undo(rows.reverse());
    expect(o).toEqual({ removedFiles: 2, removedDirs: 3, left: 0, firstLeft: null, replaced: 1 });
    expect(fs.readdirSync(root).sort()).toEqual(['never-written.txt', 'replaced.txt', 'was']);
    expect(fs.readdirSync(path.join(root, 'was'))).toEqual(['theirs.txt']);
    expect(fs.readFileSync(path.join(root, 'replaced.txt'), 'utf8')).toBe('restored');
  });

  it('leaves a file someone changed since, and a directory someone wrote into, and says so', () => {
    const root = path.join(tmp, 'two');
    fs.mkdirSync(root);
    const undo = new RestoreUndo();
    const row = place(undo, root, 'd/f.txt', 'restored', 1);
    fs.writeFileSync(path.join(root, 'd', 'f.txt'), 'someone else wrote this');
    fs.writeFileSync(path.join(root, 'd', 'extra.txt'), 'and this');
    const o = undo.undo([row]);
    expect(o).toMatchObject({ removedFiles: 0, removedDirs: 0, left: 2, replaced: 0 });
    expect(o.firstLeft?.toString()).toBe(path.join(root, 'd', 'f.txt'));
    expect(fs.readdirSync(path.join(root, 'd')).sort()).toEqual(['extra.txt', 'f.txt']);
  });

  it('does not read the rows when it created no file', () => {
    const undo = new RestoreUndo();
    undo.placed(4, true);
    const rows = (function* (): Generator<UndoRow> {
      throw new Error('read');
    })();
    expect(undo.undo(rows)).toEqual({ removedFiles: 0, removedDirs: 0, left: 0, firstLeft: null, replaced: 1 });
  });
});

describe('describeUndo', () => {
  const o = { removedFiles: 0, removedDirs: 0, left: 0, firstLeft: null, replaced: 0 };
  it.each([
    [o, 'nothing was written'],
    [{ ...o, removedFiles: 1, removedDirs: 1 }, 'nothing is left of the restore: removed the 1 file and 1 directory it had created'],
    [{ ...o, removedDirs: 2 }, 'nothing is left of the restore: removed the 2 directories it had created'],
    [{ ...o, removedFiles: 3, replaced: 1 }, '1 existing file was replaced by its restored version and stays so, nothing else was restored; removed the 3 files it had created'],
    [{ ...o, replaced: 2 }, '2 existing files were replaced by their restored versions and stay so, nothing else was restored'],
    [{ ...o, removedFiles: 2, left: 1, firstLeft: Buffer.from('/t/x') }, 'removed the 2 files it had created; could not remove 1 path it had created (the first: /t/x)'],
  ])('%o', (outcome, text) => {
    expect(describeUndo(outcome)).toBe(text);
  });
});
