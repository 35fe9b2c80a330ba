// One behavioural suite every Vault implementation must pass, run against
// the filesystem vault (a temp dir) and the S3 vault (s3rver on loopback).

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Client, ListMultipartUploadsCommand, PutObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { FileSystemVault } from '../src/vault/fs-vault.js';
import { S3Vault } from '../src/vault/s3-vault.js';
import { ContentChangedError, type Vault } from '../src/vault/vault.js';
import { NotFoundError, VaultError } from '../src/errors.js';
import { startS3Server, S3RVER_CREDENTIALS, type S3Server } from './s3-server.js';

// The raw client of the checks below need not warn about the Node version.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const MiB = 1 << 20;

interface Harness {
  kind: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A vault in a fresh, empty, uninitialised place. */
  make(): Vault;
  /** Whether an object is under the content key, asked of the storage itself. */
  rawHas(v: Vault, id: string): Promise<boolean>;
  /** Replace the stored bytes of an object behind the vault's back. */
  corrupt(v: Vault, id: string, bytes: Buffer): Promise<void>;
  /** What an interrupted put could leave behind: temp files, multipart uploads in progress. */
  leftovers(v: Vault): Promise<string[]>;
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-conf-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
let seq = 0;
const tmpPath = (label: string) => path.join(scratch, `${label}-${++seq}`);

function sha(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

async function fileSha(p: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const c of fs.createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
}

/** A file of `size` pseudo-random bytes, written in 1 MiB chunks; returns its path and hash. */
function bigFile(size: number, seed: string): { file: string; id: string } {
  const file = tmpPath(`big-${seed}`);
  const fd = fs.openSync(file, 'w');
  const h = crypto.createHash('sha256');
  let block = crypto.createHash('sha512').update(seed).digest();
  try {
    for (let off = 0; off < size; off += MiB) {
      const n = Math.min(MiB, size - off);
      const chunk = Buffer.alloc(n);
      for (let i = 0; i < n; i += 64) {
        block = crypto.createHash('sha512').update(block).digest();
        block.copy(chunk, i, 0, Math.min(64, n - i));
      }
      fs.writeSync(fd, chunk);
      h.update(chunk);
    }
  } finally {
    fs.closeSync(fd);
  }
  return { file, id: h.digest('hex') };
}

function writeTemp(data: Buffer): string {
  const p = tmpPath('src');
  fs.writeFileSync(p, data);
  return p;
}

/** Peak growth of heap + external (ArrayBuffers) memory while fn runs. */
async function peakGrowth(fn: () => Promise<void>): Promise<number> {
  gc();
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const base = used();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, used());
  }, 5);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, used());
  return peak - base;
}

export function vaultConformance(h: Harness): void {
  describe(`vault conformance: ${h.kind}`, () => {
    beforeAll(() => h.setup());
    afterAll(() => h.teardown());

    async function ready(): Promise<Vault> {
      const v = h.make();
      await v.init();
      return v;
    }

    it('init creates a vault that passes validateSetup and opens; init again is safe', async () => {
      const v = h.make();
      await v.init();
      await v.validateSetup();
      await v.open();
      await v.init();
      await v.open();
      await v.close();
    });

    it('open() of an uninitialised vault fails with a VaultError telling to run init', async () => {
      const v = h.make();
      const err = await v.open().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(VaultError);
      expect((err as Error).message).toMatch(/is not initialised: run 'bt config vault init /);
      expect((err as Error).message).not.toContain('\n');
      await v.close();
    });

    it('stores from {data} and from {path,size}; puts are idempotent', async () => {
      const v = await ready();
      const a = crypto.randomBytes(1000);
      const ida = sha(a);
      expect(await v.putContent(ida, { data: a })).toBe('stored');
      await v.flush();
      expect(await v.hasContent(ida)).toBe(true);
      expect(await v.hasContent(ida, a.length)).toBe(true);
      expect(await v.hasContent(ida, a.length + 1)).toBe(false);
      expect(await v.putContent(ida, { data: a })).toBe('exists');
      expect(await v.putContent(ida, { path: writeTemp(a), size: a.length })).toBe('exists');
      await v.flush();

      const b = crypto.randomBytes(300_000);
      const idb = sha(b);
      expect(await v.hasContent(idb)).toBe(false);
      expect(await v.putContent(idb, { path: writeTemp(b), size: b.length })).toBe('stored');
      await v.flush();
      expect(await v.putContent(idb, { data: b })).toBe('exists');
      await v.flush();

      for (const [id, bytes] of [[ida, a], [idb, b]] as const) {
        const out = tmpPath('out');
        await v.getContent(id, out);
        expect(fs.readFileSync(out).equals(bytes)).toBe(true);
      }
      const empty = Buffer.alloc(0);
      expect(await v.putContent(sha(empty), { path: writeTemp(empty), size: 0 })).toBe('stored');
      await v.flush();
      const out = tmpPath('out');
      await v.getContent(sha(empty), out);
      expect(fs.statSync(out).size).toBe(0);
      await v.close();
    });

    it('a multi-part sized object from a path round-trips byte for byte', async () => {
      const v = await ready();
      const { file, id } = bigFile(20 * MiB + 12345, 'medium');
      expect(await v.putContent(id, { path: file, size: fs.statSync(file).size })).toBe('stored');
      await v.flush();
      expect(await v.hasContent(id, 20 * MiB + 12345)).toBe(true);
      const out = tmpPath('out');
      await v.getContent(id, out);
      expect(await fileSha(out)).toBe(id);
      await v.close();
    });

    for (const size of [5000, 12 * MiB]) {
      it(`a path source whose bytes do not match the id (${size} bytes) throws ContentChangedError and stores nothing`, async () => {
        const v = await ready();
        const good = size > MiB ? bigFile(size, `mismatch-${size}`) : { file: writeTemp(crypto.randomBytes(size)), id: '' };
        if (!good.id) good.id = sha(fs.readFileSync(good.file));
        // Same size, one byte changed near the end: the change shows only after everything was read.
        const fd = fs.openSync(good.file, 'r+');
        fs.writeSync(fd, Buffer.from([0x5a ^ fs.readFileSync(good.file).at(-10)!]), 0, 1, size - 10);
        fs.closeSync(fd);
        const err = await v.putContent(good.id, { path: good.file, size }).then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(ContentChangedError);
        expect((err as ContentChangedError).actual).toBe(await fileSha(good.file));
        await v.flush();
        expect(await h.rawHas(v, good.id)).toBe(false);
        expect(await v.hasContent(good.id)).toBe(false);
        expect(await h.leftovers(v)).toEqual([]);
        await v.close();
      });
    }

    it('get of a missing object throws NotFoundError and creates no file', async () => {
      const v = await ready();
      const out = tmpPath('out');
      const err = await v.getContent(sha(Buffer.from('never stored')), out).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect(fs.existsSync(out)).toBe(false);
      await v.close();
    });

    it('a corrupted object is detected on get', async () => {
      const v = await ready();
      const data = crypto.randomBytes(4096);
      const id = sha(data);
      await v.putContent(id, { data });
      await v.flush();
      const bad = Buffer.from(data);
      bad[100] ^= 0xff;
      await h.corrupt(v, id, bad);
      const err = await v.getContent(id, tmpPath('out')).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(VaultError);
      expect(err).not.toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toMatch(new RegExp(`object ${id}.* is corrupt`));
      expect((err as Error).message).not.toContain('\n');
      await v.close();
    });

    it('concurrent puts of the same object all succeed and leave one correct object', async () => {
      const v = await ready();
      const small = crypto.randomBytes(70_000);
      const big = bigFile(10 * MiB, 'concurrent');
      for (const [id, source] of [
        [sha(small), (i: number) => (i % 2 ? { data: small } : { path: writeTemp(small), size: small.length })],
        [big.id, () => ({ path: big.file, size: 10 * MiB })],
      ] as const) {
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => v.putContent(id, source(i))));
        expect(results.filter((r) => r === 'stored').length).toBeGreaterThanOrEqual(1);
        for (const r of results) expect(['stored', 'exists']).toContain(r);
        await v.flush();
        const out = tmpPath('out');
        await v.getContent(id, out);
        expect(await fileSha(out)).toBe(id);
      }
      expect(await h.leftovers(v)).toEqual([]);
      await v.close();
    });

    it('metadata: put, list (sorted), get, delete; hosts', async () => {
      const v = await ready();
      expect(await v.listHosts()).toEqual([]);
      expect(await v.listMetadata('host-a')).toEqual([]);
      const files: Record<string, Buffer> = {};
      for (const name of ['snap-0003.gz', 'snap-0001.gz', 'host.json', 'snap-0002.gz']) {
        files[name] = crypto.randomBytes(500 + name.length);
        await v.putMetadata('host-a', name, writeTemp(files[name]!));
      }
      await v.putMetadata('host-b', 'host.json', writeTemp(Buffer.from('{"b":1}')));
      expect(await v.listMetadata('host-a')).toEqual(['host.json', 'snap-0001.gz', 'snap-0002.gz', 'snap-0003.gz']);
      expect(await v.listMetadata('host-b')).toEqual(['host.json']);
      expect(await v.listHosts()).toEqual(['host-a', 'host-b']);

      const out = tmpPath('meta');
      await v.getMetadata('host-a', 'snap-0002.gz', out);
      expect(fs.readFileSync(out).equals(files['snap-0002.gz']!)).toBe(true);
      // Replacing a metadata file and fetching over an existing file.
      const newer = crypto.randomBytes(800);
      await v.putMetadata('host-a', 'snap-0002.gz', writeTemp(newer));
      await v.getMetadata('host-a', 'snap-0002.gz', out);
      expect(fs.readFileSync(out).equals(newer)).toBe(true);

      const missing = await v.getMetadata('host-a', 'nope.gz', tmpPath('meta')).then(() => null, (e: unknown) => e);
      expect(missing).toBeInstanceOf(NotFoundError);

      await v.deleteMetadata('host-a', 'snap-0001.gz');
      await v.deleteMetadata('host-a', 'never-existed');
      expect(await v.listMetadata('host-a')).toEqual(['host.json', 'snap-0002.gz', 'snap-0003.gz']);
      await v.deleteMetadata('host-b', 'host.json');
      expect(await v.listMetadata('host-b')).toEqual([]);
      // (Whether a host whose metadata is all deleted is still listed differs: fs keeps its directory.)
      expect(await v.listHosts()).toContain('host-a');
      await v.close();
    });

    it('listContent lists every object held after a flush with its size, across pages, and nothing else', async () => {
      const v = await ready();
      const listed = async () => {
        const out: Array<{ id: string; size: number }> = [];
        for await (const o of v.listContent()) out.push(o);
        return out.sort((a, b) => a.id.localeCompare(b.id));
      };
      expect(await listed()).toEqual([]);
      const expected = new Map<string, number>();
      const small = [Buffer.alloc(0), crypto.randomBytes(10), crypto.randomBytes(300_000)];
      for (const [i, data] of small.entries()) {
        await v.putContent(sha(data), i % 2 ? { path: writeTemp(data), size: data.length } : { data });
        expected.set(sha(data), data.length);
      }
      await v.putMetadata('host-a', 'host.json', writeTemp(Buffer.from('{}')));
      await v.flush();
      const want = () => [...expected].map(([id, size]) => ({ id, size })).sort((a, b) => a.id.localeCompare(b.id));
      expect(await listed()).toEqual(want());

      // More objects than an S3 listing returns in one page (1,000 keys).
      for (let i = 0; i < 1005; i += 67) {
        await Promise.all(Array.from({ length: Math.min(67, 1005 - i) }, async (_, j) => {
          const data = Buffer.from(`object ${i + j}`);
          expected.set(sha(data), data.length);
          await v.putContent(sha(data), { data });
        }));
      }
      await v.flush();
      expect(await listed()).toEqual(want());
      await v.close();
    });

    it('a 64 MiB object is put and got with flat memory', async () => {
      const v = await ready();
      const size = 64 * MiB + 777;
      const { file, id } = bigFile(size, 'large');
      let result = '';
      const putGrowth = await peakGrowth(async () => {
        result = await v.putContent(id, { path: file, size });
        await v.flush();
      });
      expect(result).toBe('stored');
      const out = tmpPath('out');
      const getGrowth = await peakGrowth(() => v.getContent(id, out));
      expect(await fileSha(out)).toBe(id);
      console.log(`${h.kind}: memory growth put ${(putGrowth / MiB).toFixed(1)} MiB, get ${(getGrowth / MiB).toFixed(1)} MiB`);
      // The object never sits in memory: growth stays well below its size.
      expect(putGrowth).toBeLessThan(48 * MiB);
      expect(getGrowth).toBeLessThan(48 * MiB);
      await v.close();
    });

    it('an upload whose source ends early (interrupted read) leaves nothing under the key', async () => {
      const v = await ready();
      const full = bigFile(40 * MiB, 'interrupted');
      // A FIFO that delivers the first 20 MiB of the file and then ends, as a
      // read cut off mid-upload would.
      const fifo = tmpPath('fifo');
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      const writer = (async () => {
        const fh = await fsp.open(fifo, 'w');
        try {
          const src = await fsp.open(full.file, 'r');
          const buf = Buffer.alloc(MiB);
          for (let i = 0; i < 20; i++) {
            await src.read(buf, 0, MiB, i * MiB);
            await fh.write(buf);
          }
          await src.close();
        } finally {
          await fh.close();
        }
      })();
      const err = await v.putContent(full.id, { path: fifo, size: 40 * MiB }).then(() => null, (e: unknown) => e);
      await writer;
      expect(err).toBeInstanceOf(ContentChangedError);
      await v.flush();
      expect(await h.rawHas(v, full.id)).toBe(false);
      expect(await v.hasContent(full.id)).toBe(false);
      expect(await h.leftovers(v)).toEqual([]);
      // The real file is then stored fine.
      expect(await v.putContent(full.id, { path: full.file, size: 40 * MiB })).toBe('stored');
      await v.flush();
      expect(await h.rawHas(v, full.id)).toBe(true);
      await v.close();
    });
  });
}

// ---- the filesystem vault -------------------------------------------------

const fsRoots = new Map<Vault, string>();
vaultConformance({
  kind: 'fs',
  async setup() {},
  async teardown() {},
  make() {
    const root = tmpPath('fsvault');
    fs.mkdirSync(root); // an empty place, as an S3 bucket is
    const v = new FileSystemVault({ name: 'conf-fs', vault_root: root });
    fsRoots.set(v, root);
    return v;
  },
  async rawHas(v, id) {
    return fs.existsSync(path.join(fsRoots.get(v)!, 'content', id.slice(0, 2), id));
  },
  async corrupt(v, id, bytes) {
    fs.writeFileSync(path.join(fsRoots.get(v)!, 'content', id.slice(0, 2), id), bytes);
  },
  async leftovers(v) {
    return fs.readdirSync(path.join(fsRoots.get(v)!, 'tmp'));
  },
});

// ---- the S3 vault on s3rver ---------------------------------------------------

const BUCKET = 'bt-conformance';
let server: S3Server;
let raw: S3Client;
const s3Prefixes = new Map<Vault, string>();
vaultConformance({
  kind: 's3',
  async setup() {
    server = await startS3Server({ buckets: [BUCKET] });
    raw = new S3Client({ region: 'us-east-1', endpoint: server.endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  },
  async teardown() {
    raw?.destroy();
    await server?.stop();
  },
  make() {
    const prefix = `vault-${++seq}/`;
    const v = new S3Vault(
      { type: 's3', name: 'conf-s3', content_bucket: BUCKET, content_bucket_prefix: prefix, endpoint: server.endpoint, path_style: true, region: 'us-east-1' },
      { credentials: S3RVER_CREDENTIALS },
    );
    s3Prefixes.set(v, prefix);
    return v;
  },
  async rawHas(v, id) {
    try {
      await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${s3Prefixes.get(v)}content/${id}` }));
      return true;
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  },
  async corrupt(v, id, bytes) {
    await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${s3Prefixes.get(v)}content/${id}`, Body: bytes }));
  },
  async leftovers(v) {
    const res = await raw.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: s3Prefixes.get(v) }));
    return (res.Uploads ?? []).map((u) => `${u.Key} (${u.UploadId})`);
  },
});
