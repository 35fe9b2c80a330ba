import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/db/uuid7.js';
import { Database } from '../../src/db/database.js';
import { MIGRATIONS } from '../../src/db/migrations.js';

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('is a version 7 UUID whose first 48 bits are the time in ms', () => {
    const at = Date.now() + 3_600_000; // later than any id made so far in this process
    const id = uuidv7(at);
    expect(id).toMatch(UUID7);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('sorts in the order made, within one millisecond and when the clock steps back', () => {
    const now = Date.now() + 7_200_000;
    const ids = [];
    for (let i = 0; i < 10_000; i++) ids.push(uuidv7(now)); // more than the 4,096 a millisecond's counter holds
    ids.push(uuidv7(now - 5_000));
    ids.push(uuidv7());
    for (const id of ids) expect(id).toMatch(UUID7);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('differs in its random bits between calls', () => {
    const tails = new Set(Array.from({ length: 1000 }, () => uuidv7().slice(19)));
    expect(tails.size).toBe(1000);
  });
});

describe('schema migration 2', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-mig-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('drops the index of versions by content from a database made by migration 1, keeping its rows', () => {
    const dir = path.join(tmp, 'v1');
    fs.mkdirSync(dir);
    const raw = new BetterSqlite3(path.join(dir, 'bt.sqlite3'));
    raw.exec(MIGRATIONS[0]!);
    raw.pragma('user_version = 1');
    raw.prepare("INSERT INTO directory(id, path, created_at) VALUES ('d1', '/x', 1)").run();
    raw.close();

    const db = new Database(dir);
    try {
      expect(db.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      const indexes = db.db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'file_snapshot'").pluck().all();
      expect(indexes).not.toContain('file_snapshot_content');
      expect(indexes).toContain('file_snapshot_file');
      expect(db.listDirectories().map((d) => d.path)).toEqual(['/x']);
    } finally {
      db.close();
    }
  });
});
