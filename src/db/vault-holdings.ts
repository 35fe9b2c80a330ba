import type { Database } from './database.js';

// The records of which vault holds which content (content_vault), rewritten
// from what the vaults themselves list. A database recovered on another
// machine names the old host's vaults: a vault of the same name here may be
// another, empty one, and one named otherwise here holds objects the records
// give to a name it does not have.

/**
 * A rewrite of one vault's records from a listing of the vault, fed a batch
 * at a time while the listing streams in. What is listed goes into a TEMP
 * table (spilled to a temp file past the page cache, so memory stays flat
 * for any vault size); `commit` then replaces the vault's records with it in
 * one transaction, so a listing that fails part way changes no record.
 *
 * Only content of this database is recorded: a listed object without a
 * `content` row (another host's, in a shared vault, or one stored after the
 * recovered version) is left out, and so is one whose size is not the size
 * recorded for its id. No content row is ever made here: a content row is
 * made only by a backup, once a vault holds the bytes.
 */
export class VaultHoldingsRewrite {
  private readonly add1;
  private open = true;

  constructor(private readonly store: Database, readonly vault: string) {
    const db = store.db;
    db.exec('DROP TABLE IF EXISTS temp.listed; CREATE TEMP TABLE listed (content_id TEXT PRIMARY KEY) WITHOUT ROWID');
    this.add1 = db.prepare('INSERT OR IGNORE INTO temp.listed SELECT id FROM content WHERE id = ? AND size = ?');
  }

  /** Add a batch of listed objects (one transaction). */
  add(batch: ReadonlyArray<{ id: string; size: number }>): void {
    this.store.transaction(() => {
      for (const o of batch) this.add1.run(o.id, o.size);
    });
  }

  /** Replace the vault's records with what was listed; returns how many objects of this database it holds. */
  commit(now: number): number {
    const db = this.store.db;
    const held = this.store.transaction(() => {
      db.prepare('DELETE FROM content_vault WHERE vault = ? AND content_id NOT IN (SELECT content_id FROM temp.listed)').run(this.vault);
      db.prepare('INSERT OR IGNORE INTO content_vault(content_id, vault, stored_at) SELECT content_id, ?, ? FROM temp.listed').run(this.vault, now);
      return db.prepare('SELECT count(*) FROM temp.listed').pluck().get() as number;
    });
    this.close();
    return held;
  }

  /** Forget what was listed, changing no record. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.store.db.exec('DROP TABLE IF EXISTS temp.listed');
  }
}

/** Drop every record of `vault`: nothing is known of what it holds. */
export function dropVaultHoldings(store: Database, vault: string): void {
  store.db.prepare('DELETE FROM content_vault WHERE vault = ?').run(vault);
}

/** Drop the records of every vault not named in `vaults` (vaults of another machine's config); returns their names. */
export function dropOtherVaults(store: Database, vaults: string[]): string[] {
  const db = store.db;
  return store.transaction(() => {
    const names = (db.prepare('SELECT DISTINCT vault FROM content_vault ORDER BY vault').pluck().all() as string[]).filter((n) => !vaults.includes(n));
    const drop = db.prepare('DELETE FROM content_vault WHERE vault = ?');
    for (const n of names) drop.run(n);
    return names;
  });
}

/** How many content rows there are, and how many of them no vault is recorded to hold. */
export function contentHeldCounts(store: Database): { objects: number; unheld: number } {
  const db = store.db;
  const objects = db.prepare('SELECT count(*) FROM content').pluck().get() as number;
  const unheld = db.prepare('SELECT count(*) FROM content c WHERE NOT EXISTS (SELECT 1 FROM content_vault v WHERE v.content_id = c.id)').pluck().get() as number;
  return { objects, unheld };
}
