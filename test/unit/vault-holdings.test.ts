import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/db/database.js';
import { VaultHoldingsRewrite, contentHeldCounts, dropOtherVaults, dropVaultHoldings } from '../../src/db/vault-holdings.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-holdings-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const ID = (c: string) => c.repeat(64);

/** Content a (1 byte), b (2), c (3); 'local' holds a and b, 'usb' c, 'gone' a. */
function recovered(): Database {
  const db = new Database(path.join(tmp, `db${n++}`));
  db.recordContent(ID('a'), 1, 'local', 100);
  db.recordContent(ID('b'), 2, 'local', 100);
  db.recordContent(ID('c'), 3, 'usb', 100);
  db.recordContent(ID('a'), 1, 'gone', 100);
  return db;
}

function rows(db: Database): string[] {
  return (db.db.prepare('SELECT vault, content_id, stored_at FROM content_vault ORDER BY vault, content_id').all() as Array<{ vault: string; content_id: string; stored_at: number }>)
    .map((r) => `${r.vault} ${r.content_id[0]} ${r.stored_at}`);
}

describe('rewriting which content a vault holds from a listing of it', () => {
  it('records exactly the listed objects of this database at their recorded size, and nothing else', () => {
    const db = recovered();
    const rewrite = new VaultHoldingsRewrite(db, 'local');
    // a as recorded; b with another size (not the object recorded); c listed (held now); x and y of another host.
    rewrite.add([{ id: ID('a'), size: 1 }, { id: ID('b'), size: 5 }]);
    rewrite.add([{ id: ID('c'), size: 3 }, { id: ID('e'), size: 1 }, { id: ID('f'), size: 9 }]);
    rewrite.add([]);
    expect(rewrite.commit(200)).toBe(2);
    // a keeps when it was stored; b is no longer held; c is held since now; usb and gone are untouched.
    expect(rows(db)).toEqual(['gone a 100', 'local a 100', 'local c 200', 'usb c 100']);
    // No content row for the other host's objects.
    expect(db.hasContent(ID('e'))).toBe(false);
    expect(contentHeldCounts(db)).toEqual({ objects: 3, unheld: 1 });
    db.close();
  });

  it('a rewrite closed without commit (a listing that failed) changes nothing; an empty listing holds nothing', () => {
    const db = recovered();
    const before = rows(db);
    const failed = new VaultHoldingsRewrite(db, 'local');
    failed.add([{ id: ID('c'), size: 3 }]);
    failed.close();
    expect(rows(db)).toEqual(before);
    expect(new VaultHoldingsRewrite(db, 'usb').commit(300)).toBe(0);
    expect(rows(db)).toEqual(['gone a 100', 'local a 100', 'local b 100']);
    db.close();
  });

  it('drops the records of vaults not configured, and of one vault', () => {
    const db = recovered();
    expect(dropOtherVaults(db, ['local', 'usb', 'new'])).toEqual(['gone']);
    expect(rows(db)).toEqual(['local a 100', 'local b 100', 'usb c 100']);
    dropVaultHoldings(db, 'local');
    expect(rows(db)).toEqual(['usb c 100']);
    expect(contentHeldCounts(db)).toEqual({ objects: 3, unheld: 2 });
    db.close();
  });
});
