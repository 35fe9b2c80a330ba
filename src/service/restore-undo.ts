import fs from 'node:fs';
import type { RestorableVersion } from '../db/types.js';
import { displayName } from '../fsmgr/paths.js';
import { count } from '../util/count.js';

/** A file of the restore as the undo reads it again: its file row, where it went, and what was written there. */
export interface UndoRow {
  fileRowid: number;
  dest: Buffer;
  s: RestorableVersion;
}

export interface UndoOutcome {
  removedFiles: number;
  removedDirs: number;
  /** Files or directories this run created that could not be removed, and the first of them when known. */
  left: number;
  firstLeft: Buffer | null;
  /** Existing files this run replaced (--overwrite): their old content is gone, so they keep the restored one. */
  replaced: number;
}

/**
 * What a restore has put in place, so that a failed one can be taken back
 * without touching anything that was there before it.
 *
 * Files are remembered as one bit per file row, not as a list of paths: a
 * directory restore can write hundreds of thousands of files, and their
 * paths would make memory grow with the tree (tens of MB) where the rest of
 * a restore stays flat. A journal file would keep memory flat too, but needs
 * disk space, and a full disk is the commonest reason a restore fails. Every
 * file a restore writes comes from one row of the file table, whose rowid is
 * a small integer that stays put while bt holds its lock, so a bit per rowid
 * (an eighth of a byte per file ever backed up) says "this run created that
 * path", and the undo reads the same rows again to find the paths. The order
 * of that second read does not matter, as the bits are keyed by row.
 *
 * Directories are few next to files and are kept as a list; they are
 * removed only when this run made them, deepest first, and only when empty.
 */
export class RestoreUndo {
  private bits = Buffer.alloc(1024);
  private created = 0;
  private replaced = 0;
  /** Directories this run made, parents before children. */
  readonly dirs: Buffer[] = [];

  /** A file was renamed into place: over an existing file (`replaced`), or where there was none. */
  placed(fileRowid: number, replaced: boolean): void {
    if (replaced) {
      this.replaced++;
      return;
    }
    const byte = Math.floor(fileRowid / 8);
    if (byte >= this.bits.length) {
      const grown = Buffer.alloc(Math.max(this.bits.length * 2, byte + 1));
      this.bits.copy(grown);
      this.bits = grown;
    }
    this.bits[byte]! |= 1 << (fileRowid % 8);
    this.created++;
  }

  private isCreated(fileRowid: number): boolean {
    const byte = Math.floor(fileRowid / 8);
    return byte < this.bits.length && (this.bits[byte]! & (1 << (fileRowid % 8))) !== 0;
  }

  /**
   * Remove the files and then the directories this run created. `rows` are
   * the restore's files read again; a replaced file is never removed, since
   * what it held before cannot be brought back.
   */
  undo(rows: Iterable<UndoRow>): UndoOutcome {
    const o: UndoOutcome = { removedFiles: 0, removedDirs: 0, left: 0, firstLeft: null, replaced: this.replaced };
    const leave = (p: Buffer | null) => {
      o.left++;
      o.firstLeft ??= p;
    };
    let pending = this.created;
    if (pending > 0) {
      for (const r of rows) {
        if (!this.isCreated(r.fileRowid)) continue;
        if (removeOwnFile(r.dest, r.s)) o.removedFiles++;
        else leave(r.dest);
        if (--pending === 0) break;
      }
    }
    // Not found again: not expected, but then not removed either, and the message says so.
    for (; pending > 0; pending--) leave(null);
    // A child's path is longer than its parent's, so this goes deepest first. rmdir takes only an empty
    // directory: whatever someone else put into one meanwhile stays, and so does the directory.
    for (const d of [...this.dirs].sort((a, b) => b.length - a.length)) {
      try {
        fs.rmdirSync(d);
        o.removedDirs++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') leave(d);
      }
    }
    return o;
  }
}

/**
 * Remove `dest` if it is still what the restore put there (its type, and a
 * file's size): a path that someone replaced meanwhile is not ours to remove.
 * True when nothing of ours is left there.
 */
function removeOwnFile(dest: Buffer, s: RestorableVersion): boolean {
  try {
    const st = fs.lstatSync(dest, { throwIfNoEntry: false });
    if (!st) return true;
    const ours = s.fileType === 'symlink' ? st.isSymbolicLink() : st.isFile() && st.size === s.size;
    if (!ours) return false;
    fs.unlinkSync(dest);
    return true;
  } catch {
    return false;
  }
}

/** What a failed restore left, said in one clause that follows its error: what was restored, what was removed, what is left. */
export function describeUndo(o: UndoOutcome): string {
  const made = [o.removedFiles ? count(o.removedFiles, 'file') : '', o.removedDirs ? count(o.removedDirs, 'directory', 'directories') : ''].filter(Boolean).join(' and ');
  const removed = made ? `removed the ${made} it had created` : '';
  const left = o.left ? `could not remove ${count(o.left, 'path')} it had created${o.firstLeft ? ` (the first: ${displayName(o.firstLeft)})` : ''}` : '';
  if (o.replaced) {
    const replaced = o.replaced === 1
      ? '1 existing file was replaced by its restored version and stays so'
      : `${o.replaced} existing files were replaced by their restored versions and stay so`;
    return [o.left ? replaced : `${replaced}, nothing else was restored`, removed, left].filter(Boolean).join('; ');
  }
  if (!made && !o.left) return 'nothing was written';
  if (!o.left) return `nothing is left of the restore: ${removed}`;
  return [removed, left].filter(Boolean).join('; ');
}
