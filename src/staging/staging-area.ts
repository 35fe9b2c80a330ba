import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { writeFileAtomic } from '../fsmgr/atomic.js';

export type StagedOp = 'upsert' | 'delete';

export interface StagedEntry {
  /** Absolute path of the file, raw bytes. Paths (not directory ids) survive a parent `dir init` absorbing the directory. */
  abs: Buffer;
  op: StagedOp;
  stagedAt: number;
}

export interface StagedSet {
  /** Batch files this set was read from; completing the set removes them. */
  batches: string[];
  /** Latest operation per path, keyed by the path's latin1 form. */
  entries: Map<string, StagedEntry>;
}

/**
 * The file-based staging area. Each `bt add` appends one batch file (written
 * atomically), holding only paths and operations, never file content: the
 * bytes are read at backup time. A backup completes a set by writing what
 * must stay staged as a new batch and then deleting the batches it read, so
 * a run killed anywhere leaves every operation staged at least once.
 */
export class StagingArea {
  constructor(private readonly dir: string) {}

  private batchFiles(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.filter((n) => n.endsWith('.jsonl') && !n.startsWith('.')).sort().map((n) => path.join(this.dir, n));
  }

  stageForBackup(entries: StagedEntry[]): void {
    if (entries.length === 0) return;
    const lines = entries.map((e) => JSON.stringify({ p: e.abs.toString('base64'), op: e.op, t: e.stagedAt })).join('\n') + '\n';
    // Names sort by time so that a later add wins over an earlier one.
    const name = `${Date.now().toString().padStart(15, '0')}-${process.hrtime.bigint().toString().padStart(20, '0')}-${crypto.randomBytes(4).toString('hex')}.jsonl`;
    writeFileAtomic(path.join(this.dir, name), lines);
  }

  load(): StagedSet {
    const batches = this.batchFiles();
    const entries = new Map<string, StagedEntry>();
    for (const b of batches) {
      let text: string;
      try {
        text = fs.readFileSync(b, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      for (const line of text.split('\n')) {
        if (!line) continue;
        let rec: { p: string; op: StagedOp; t: number };
        try {
          rec = JSON.parse(line);
        } catch {
          continue; // a torn last line cannot happen with atomic batches; tolerate it anyway
        }
        const abs = Buffer.from(rec.p, 'base64');
        entries.set(abs.toString('latin1'), { abs, op: rec.op, stagedAt: rec.t });
      }
    }
    return { batches, entries };
  }

  isEmpty(): boolean {
    return this.batchFiles().length === 0;
  }

  /** Replace the batches of `set` with just `remaining`. */
  complete(set: StagedSet, remaining: StagedEntry[]): void {
    this.stageForBackup(remaining);
    for (const b of set.batches) fs.rmSync(b, { force: true });
  }
}
