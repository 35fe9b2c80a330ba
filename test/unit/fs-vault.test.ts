import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { FileSystemVault } from '../../src/vault/fs-vault.js';
import { ContentChangedError } from '../../src/vault/vault.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-vault-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const sha = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

async function freshVault(): Promise<{ v: FileSystemVault; root: string }> {
  const root = path.join(tmp, `v${n++}`);
  const v = new FileSystemVault({ name: 'test', vault_root: root });
  await v.init();
  return { v, root };
}

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('FileSystemVault layout', () => {
  it('init creates content/, metadata/ and the bt-vault.json marker; it is safe to repeat', async () => {
    const { v, root } = await freshVault();
    for (const d of ['content', 'metadata']) expect(fs.statSync(path.join(root, d)).isDirectory()).toBe(true);
    const marker = JSON.parse(fs.readFileSync(path.join(root, 'bt-vault.json'), 'utf8'));
    expect(marker.format).toBe('bt-vault');
    expect(marker.version).toBe(1);
    const before = fs.readFileSync(path.join(root, 'bt-vault.json'));
    await v.init();
    expect(fs.readFileSync(path.join(root, 'bt-vault.json')).equals(before)).toBe(true);
    await v.open();
    await v.validateSetup();
  });

  it('open fails with a vault error when the path is missing, uninitialised, or the marker is foreign/newer', async () => {
    const missing = new FileSystemVault({ name: 'm', vault_root: path.join(tmp, 'no-such') });
    const e1 = await rejects(missing.open());
    expect(e1.message).toContain('does not exist');
    expect((e1 as { exitCode?: number }).exitCode).toBe(5);

    const bare = path.join(tmp, `bare${n++}`);
    fs.mkdirSync(bare);
    expect((await rejects(new FileSystemVault({ name: 'b', vault_root: bare }).open())).message).toContain('not initialised');

    fs.writeFileSync(path.join(bare, 'bt-vault.json'), '{"format":"something-else","version":1}');
    expect((await rejects(new FileSystemVault({ name: 'b', vault_root: bare }).open())).message).toMatch(/marker/);
    fs.writeFileSync(path.join(bare, 'bt-vault.json'), '{"format":"bt-vault","version":99}');
    expect((await rejects(new FileSystemVault({ name: 'b', vault_root: bare }).open())).message).toMatch(/newer/);
    fs.writeFileSync(path.join(bare, 'bt-vault.json'), 'not json');
    expect((await rejects(new FileSystemVault({ name: 'b', vault_root: bare }).open())).message).toMatch(/JSON/);
  });
});

describe('FileSystemVault content', () => {
  it('put from a buffer, flush, then the raw bytes sit at content/<2 hex>/<sha256>', async () => {
    const { v, root } = await freshVault();
    const data = Buffer.from('hello vault');
    const id = sha(data);
    expect(await v.putContent(id, { data })).toBe('stored');
    expect(await v.hasContent(id)).toBe(true); // pending counts as held within the run
    await v.flush();
    const file = path.join(root, 'content', id.slice(0, 2), id);
    expect(fs.readFileSync(file).equals(data)).toBe(true);
    expect(await v.hasContent(id, data.length)).toBe(true);
    expect(await v.hasContent(id, data.length + 1)).toBe(false);
    const out = path.join(tmp, `out${n++}`);
    await v.getContent(id, out);
    expect(fs.readFileSync(out).equals(data)).toBe(true);
  });

  it('put is idempotent: the same object twice (before and after flush) is written once', async () => {
    const { v, root } = await freshVault();
    const data = crypto.randomBytes(5000);
    const id = sha(data);
    expect(await v.putContent(id, { data })).toBe('stored');
    expect(await v.putContent(id, { data })).toBe('exists');
    await v.flush();
    const file = path.join(root, 'content', id.slice(0, 2), id);
    const st = fs.statSync(file, { bigint: true });
    expect(await v.putContent(id, { data })).toBe('exists');
    await v.flush();
    const st2 = fs.statSync(file, { bigint: true });
    expect(st2.ino).toBe(st.ino);
    expect(st2.mtimeNs).toBe(st.mtimeNs);
    expect(fs.readdirSync(path.join(root, 'content', id.slice(0, 2)))).toEqual([id]);
  });

  it('put from a path hashes while copying; a mismatch is refused and leaves nothing behind', async () => {
    const { v, root } = await freshVault();
    const src = path.join(tmp, `src${n++}`);
    const data = crypto.randomBytes(3 << 20);
    fs.writeFileSync(src, data);
    const id = sha(data);
    expect(await v.putContent(id, { path: src, size: data.length })).toBe('stored');
    await v.flush();
    expect(fs.statSync(path.join(root, 'content', id.slice(0, 2), id)).size).toBe(data.length);

    const wrong = sha('something else');
    const err = await rejects(v.putContent(wrong, { path: src, size: data.length }));
    expect(err).toBeInstanceOf(ContentChangedError);
    await v.flush();
    expect(await v.hasContent(wrong)).toBe(false);
    expect(fs.existsSync(path.join(root, 'content', wrong.slice(0, 2), wrong))).toBe(false);
    const leftovers = fs.readdirSync(path.join(root, 'tmp'));
    expect(leftovers).toEqual([]);
  });

  it('nothing is visible under content/ before flush', async () => {
    const { v, root } = await freshVault();
    const data = Buffer.from('not yet');
    const id = sha(data);
    await v.putContent(id, { data });
    expect(fs.existsSync(path.join(root, 'content', id.slice(0, 2), id))).toBe(false);
    await v.flush();
    expect(fs.existsSync(path.join(root, 'content', id.slice(0, 2), id))).toBe(true);
  });

  it('refuses an id that is not a SHA-256', async () => {
    const { v } = await freshVault();
    await rejects(v.putContent('../../etc/passwd', { data: Buffer.from('x') }));
    await rejects(v.putContent('ABC', { data: Buffer.from('x') }));
  });

  it('get detects a corrupt object', async () => {
    const { v, root } = await freshVault();
    const data = Buffer.from('original');
    const id = sha(data);
    await v.putContent(id, { data });
    await v.flush();
    fs.writeFileSync(path.join(root, 'content', id.slice(0, 2), id), 'tampered');
    const err = await rejects(v.getContent(id, path.join(tmp, `corrupt${n++}`)));
    expect(err.message).toMatch(/corrupt/);
  });

  it('get of a missing object is a not-found error', async () => {
    const { v } = await freshVault();
    const err = await rejects(v.getContent(sha('never stored'), path.join(tmp, `missing${n++}`)));
    expect((err as { exitCode?: number }).exitCode).toBe(3);
  });
});

describe('FileSystemVault metadata', () => {
  it('put/list/get/delete per host, and listHosts', async () => {
    const { v, root } = await freshVault();
    const host = '11111111-2222-4333-8444-555555555555';
    const src = path.join(tmp, `meta${n++}`);
    fs.writeFileSync(src, 'db bytes');
    await v.putMetadata(host, 'db-20260101T000000000Z.sqlite3.gz', src);
    await v.putMetadata(host, 'db-20250101T000000000Z.sqlite3.gz', src);
    await v.putMetadata(host, 'host.json', src);
    expect(await v.listHosts()).toEqual([host]);
    expect(await v.listMetadata(host)).toEqual(['db-20250101T000000000Z.sqlite3.gz', 'db-20260101T000000000Z.sqlite3.gz', 'host.json']);
    expect(fs.existsSync(path.join(root, 'metadata', host, 'host.json'))).toBe(true);
    const out = path.join(tmp, `metaout${n++}`);
    await v.getMetadata(host, 'host.json', out);
    expect(fs.readFileSync(out, 'utf8')).toBe('db bytes');
    await v.deleteMetadata(host, 'db-20250101T000000000Z.sqlite3.gz');
    expect(await v.listMetadata(host)).toEqual(['db-20260101T000000000Z.sqlite3.gz', 'host.json']);
    expect(await v.listMetadata('22222222-2222-4333-8444-555555555555')).toEqual([]);
    expect((await rejects(v.getMetadata(host, 'nope', out + 'x')) as { exitCode?: number }).exitCode).toBe(3);
  });

  it('refuses a host id that could escape the metadata directory', async () => {
    const { v } = await freshVault();
    const src = path.join(tmp, `meta${n++}`);
    fs.writeFileSync(src, 'x');
    await rejects(v.putMetadata('../evil', 'x', src));
  });
});

describe('FileSystemVault flushes that overlap', () => {
  it('a second flush started while the first is syncing neither repeats its renames nor loses puts', async () => {
    const { v, root } = await freshVault();
    const first = Array.from({ length: 50 }, (_, i) => Buffer.from(`first ${i}`));
    const second = Array.from({ length: 50 }, (_, i) => Buffer.from(`second ${i}`));
    for (const d of first) await v.putContent(sha(d), { data: d });
    const f1 = v.flush(); // not awaited: the backup commits again while this one waits on syncfs
    for (const d of second) await v.putContent(sha(d), { data: d });
    // A put of content the first flush holds is answered from its batch, not written again.
    expect(await v.putContent(sha(first[0]!), { data: first[0]! })).toBe('exists');
    const f2 = v.flush();
    await Promise.all([f1, f2]);
    for (const d of [...first, ...second]) {
      const id = sha(d);
      expect(fs.readFileSync(path.join(root, 'content', id.slice(0, 2), id)).equals(d)).toBe(true);
    }
    expect(fs.readdirSync(path.join(root, 'tmp'))).toEqual([]);
  });

  it('with BT_COPY_WORKERS=0, many reads at once copy a few large objects at a time (one buffer each)', async () => {
    const saved = process.env.BT_COPY_WORKERS;
    process.env.BT_COPY_WORKERS = '0';
    let open = 0;
    let peak = 0;
    const realOpen = fsp.open.bind(fsp);
    const spy = vi.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      const fh = await realOpen(...args);
      if (args[1] !== 'wx') return fh;
      peak = Math.max(peak, ++open);
      const close = fh.close.bind(fh);
      fh.close = async () => {
        open--;
        return close();
      };
      return fh;
    });
    try {
      const { v, root } = await freshVault();
      const objects = Array.from({ length: 24 }, () => crypto.randomBytes(1536 * 1024));
      for (const data of objects) await v.putContent(sha(data), { data });
      await v.flush();
      const outs = objects.map(() => path.join(root, '..', `out-${n++}`));
      await Promise.all(objects.map((data, i) => v.getContent(sha(data), outs[i]!)));
      for (const [i, data] of objects.entries()) expect(fs.readFileSync(outs[i]!).equals(data)).toBe(true);
      expect(peak).toBeGreaterThan(1);
      expect(peak).toBeLessThanOrEqual(8);
      await v.close();
    } finally {
      spy.mockRestore();
      if (saved === undefined) delete process.env.BT_COPY_WORKERS;
      else process.env.BT_COPY_WORKERS = saved;
    }
  });

  for (const workers of [true, false]) {
    it(`putFile ${workers ? 'on the copy workers' : 'with BT_COPY_WORKERS=0'}: stores new content once, knows what the vault holds, replaces an object of the wrong size`, async () => {
      const saved = process.env.BT_COPY_WORKERS;
      process.env.BT_COPY_WORKERS = workers ? '1' : '0';
      try {
        const { v, root } = await freshVault();
        const src = path.join(root, '..', `src-${n++}`);
        fs.writeFileSync(src, 'some file body');
        const id = sha('some file body');
        expect(await v.putFile(src)).toEqual({ id, size: 14, result: 'stored' });
        expect((await v.putFile(src)).result).toBe('exists'); // pending in this vault
        await v.close();

        // A fresh instance has no pending puts: only the object on disk can answer.
        const again = new FileSystemVault({ name: 'test', vault_root: root });
        await again.open();
        expect(await again.putFile(src)).toEqual({ id, size: 14, result: 'exists' });
        const obj = path.join(root, 'content', id.slice(0, 2), id);
        fs.writeFileSync(obj, 'some'); // truncated: not held
        expect((await again.putFile(src)).result).toBe('stored');
        await again.close();
        expect(fs.readFileSync(obj, 'utf8')).toBe('some file body');
        expect(fs.readdirSync(path.join(root, 'tmp'))).toEqual([]);
      } finally {
        if (saved === undefined) delete process.env.BT_COPY_WORKERS;
        else process.env.BT_COPY_WORKERS = saved;
      }
    });
  }

  it('putFile on the copy workers: files around the 1 MiB buffer are stored whole; content the vault holds makes no temp file when it fits the buffer', async () => {
    const saved = process.env.BT_COPY_WORKERS;
    process.env.BT_COPY_WORKERS = '1';
    try {
      const { v, root } = await freshVault();
      const tmpDir = path.join(root, 'tmp');
      const bodies = [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 5].map((size) => crypto.randomBytes(size));
      const srcs = bodies.map((b) => {
        const src = path.join(root, '..', `src-${n++}`);
        fs.writeFileSync(src, b);
        return src;
      });
      for (let i = 0; i < bodies.length; i++) expect(await v.putFile(srcs[i]!)).toEqual({ id: sha(bodies[i]!), size: bodies[i]!.length, result: 'stored' });
      await v.close();
      for (const b of bodies) expect(fs.readFileSync(path.join(root, 'content', sha(b).slice(0, 2), sha(b))).equals(b)).toBe(true);

      const again = new FileSystemVault({ name: 'test', vault_root: root });
      await again.open();
      for (let i = 0; i < bodies.length; i++) {
        // A directory's mtime moves when an entry is made or removed in it: it stays put while nothing is written.
        const before = fs.statSync(tmpDir, { bigint: true }).mtimeNs;
        expect((await again.putFile(srcs[i]!)).result).toBe('exists');
        const made = fs.statSync(tmpDir, { bigint: true }).mtimeNs !== before;
        expect(made, `size ${bodies[i]!.length}`).toBe(bodies[i]!.length >= 1 << 20);
        await new Promise((r) => setTimeout(r, 25)); // timestamps move by clock ticks (up to 10 ms): let one pass between checks
      }
      await again.close();
      expect(fs.readdirSync(tmpDir)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.BT_COPY_WORKERS;
      else process.env.BT_COPY_WORKERS = saved;
    }
  });
});
