import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Context } from '../../src/service/context.js';
import { silentReporter } from '../../src/service/reporter.js';
import { scanDirectory, type ScanItem } from '../../src/service/scan.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-scan-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('scanDirectory', () => {
  it('merges the walk with the recorded files, handing a large deleted subtree over in pieces', async () => {
    const env = { HOME: tmp, XDG_CONFIG_HOME: path.join(tmp, '.config'), BT_BASE_DIR: path.join(tmp, 'bt') };
    const ctx = Context.load({ env, cwd: tmp, reporter: silentReporter });
    const root = path.join(tmp, 'tree');
    fs.mkdirSync(path.join(root, 'kept'), { recursive: true });
    for (const n of ['a', 'kept/same', 'z']) fs.writeFileSync(path.join(root, n), n);
    const dir = ctx.db.createDirectory(root).directory;
    const snap = (size: number) => ({
      contentId: null, size, mode: 0o644, uid: 0, gid: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, birthtimeNs: null,
      fileType: 'file' as const, linkTarget: null, deleted: false,
    });
    // 5,000 files recorded under gone/, which is not on disk: all between the walked names 'a' and 'kept/same'.
    ctx.db.transaction(() => {
      for (let i = 0; i < 5000; i++) ctx.db.recordVersion(null, dir.id, Buffer.from(`gone/f${String(i).padStart(4, '0')}`), snap(1), null, Date.now());
      ctx.db.recordVersion(null, dir.id, Buffer.from('kept/same'), snap(99), null, Date.now());
    });
    const chunks: ScanItem[][] = [];
    for await (const items of scanDirectory(ctx, dir, Buffer.alloc(0), () => {})) chunks.push(items);
    const all = chunks.flat();
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(2048);
    expect(all.map((i) => i.rel.toString()).slice(0, 2)).toEqual(['a', 'gone/f0000']);
    expect(all.filter((i) => i.state === 'deleted' && i.pending)).toHaveLength(5000);
    const byName = new Map(all.map((i) => [i.rel.toString(), i.state]));
    expect(byName.get('a')).toBe('untracked');
    expect(byName.get('kept/same')).toBe('modified'); // recorded with another size
    expect(byName.get('z')).toBe('untracked');
    expect(all).toHaveLength(5003);
    // The order is the names' byte order throughout.
    const names = all.map((i) => i.rel);
    expect(names.every((n, k) => k === 0 || Buffer.compare(names[k - 1]!, n) < 0)).toBe(true);
    await ctx.close();
  });
});
