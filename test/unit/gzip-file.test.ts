import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { gzipFile } from '../../src/util/gzip-file.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-gzip-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Run `body`, then wait `settleMs` for stragglers; the unhandled rejections seen meanwhile. */
async function unhandledDuring(body: () => Promise<void>, settleMs: number): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown) => unhandled.push(r);
  process.on('unhandledRejection', onUnhandled);
  try {
    await body();
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return unhandled;
}

describe('gzipFile', () => {
  it('compresses a file of several read buffers into a gzip that decompresses to the same bytes', async () => {
    const src = path.join(tmp, 'in');
    // Random and repetitive parts, 3.5 MiB: more than three 1 MiB reads, the last one partial.
    const data = Buffer.concat([crypto.randomBytes(1536 * 1024), Buffer.alloc(2 * 1024 * 1024, 'bt ')]);
    fs.writeFileSync(src, data);
    const dst = path.join(tmp, 'out.gz');
    await gzipFile(src, dst);
    const gz = fs.readFileSync(dst);
    expect(gz.length).toBeLessThan(data.length);
    expect(zlib.gunzipSync(gz).equals(data)).toBe(true);
  });

  it('writes the blocks of a large file in order, readable by a streaming gunzip and by gzip(1)', async () => {
    const src = path.join(tmp, 'many');
    // 9.5 MiB, each 1 MiB block different from the others: blocks written out of order would not round-trip.
    const blocks = Array.from({ length: 10 }, (_, i) => (i % 2 ? crypto.randomBytes(1024 * 1024) : Buffer.alloc(1024 * 1024, `block ${i} `)));
    const data = Buffer.concat(blocks).subarray(0, 9 * 1024 * 1024 + 512 * 1024);
    fs.writeFileSync(src, data);
    const dst = path.join(tmp, 'many.gz');
    await gzipFile(src, dst);
    const restored = path.join(tmp, 'many.out');
    await pipeline(fs.createReadStream(dst), zlib.createGunzip(), fs.createWriteStream(restored));
    expect(fs.readFileSync(restored).equals(data)).toBe(true);
    expect(execFileSync('gzip', ['-dc', dst], { maxBuffer: 64 * 1024 * 1024 }).equals(data)).toBe(true);
  });

  it('compresses an empty file', async () => {
    const src = path.join(tmp, 'empty');
    fs.writeFileSync(src, '');
    await gzipFile(src, path.join(tmp, 'empty.gz'));
    expect(zlib.gunzipSync(fs.readFileSync(path.join(tmp, 'empty.gz'))).length).toBe(0);
  });

  // A full disk cannot be made on demand in a test, so these two inject what the kernel does then into fs.writeSync.
  it('completes a file written in short writes, as a filling disk returns them', async () => {
    const src = path.join(tmp, 'short-in');
    const data = crypto.randomBytes(3 * 1024 * 1024);
    fs.writeFileSync(src, data);
    const real = fs.writeSync.bind(fs) as (fd: number, b: Buffer, off: number, len: number) => number;
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, b: Buffer, off: number = 0, len: number = b.length - off) => real(fd, b, off, Math.min(len, 1000))) as unknown as typeof fs.writeSync);
    const dst = path.join(tmp, 'short.gz');
    await gzipFile(src, dst);
    vi.restoreAllMocks();
    expect(zlib.gunzipSync(fs.readFileSync(dst)).equals(data)).toBe(true);
  });

  it('rejects with the write error when the disk fills, leaving no unhandled rejection behind', async () => {
    const src = path.join(tmp, 'full-in');
    fs.writeFileSync(src, crypto.randomBytes(4 * 1024 * 1024));
    const real = fs.writeSync.bind(fs) as (fd: number, b: Buffer, off: number, len: number) => number;
    let calls = 0;
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, b: Buffer, off: number = 0, len: number = b.length - off) => {
      if (++calls > 3) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return real(fd, b, off, len);
    }) as unknown as typeof fs.writeSync);
    const unhandled = await unhandledDuring(async () => {
      await expect(gzipFile(src, path.join(tmp, 'full.gz'))).rejects.toMatchObject({ code: 'ENOSPC' });
    }, 50);
    expect(unhandled).toEqual([]);
  });

  it('a read error mid-file rejects with it; nothing is written afterwards and no rejection is left unhandled', async () => {
    const src = path.join(tmp, 'unreadable-in');
    fs.writeFileSync(src, crypto.randomBytes(6 * 1024 * 1024));
    const realRead = fs.readSync.bind(fs) as (...a: unknown[]) => number;
    let reads = 0;
    vi.spyOn(fs, 'readSync').mockImplementation(((...a: unknown[]) => {
      if (++reads === 3) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      return realRead(...a);
    }) as typeof fs.readSync);
    const writeSpy = vi.spyOn(fs, 'writeSync');
    let writesAtFailure = -1;
    const unhandled = await unhandledDuring(async () => {
      await expect(gzipFile(src, path.join(tmp, 'unreadable.gz'))).rejects.toMatchObject({ code: 'EIO' });
      writesAtFailure = writeSpy.mock.calls.length;
    }, 200);
    // The two blocks read before the failure were still compressing: they must not have written since.
    expect(writeSpy.mock.calls.length).toBe(writesAtFailure);
    expect(unhandled).toEqual([]);
  });

  it('a compression error rejects with it and leaves no rejection unhandled', async () => {
    const src = path.join(tmp, 'zlib-fail-in');
    fs.writeFileSync(src, crypto.randomBytes(4 * 1024 * 1024));
    const realCreate = zlib.createGzip.bind(zlib);
    let made = 0;
    vi.spyOn(zlib, 'createGzip').mockImplementation((opts?: zlib.ZlibOptions) => {
      const gz = realCreate(opts);
      // The second member fails, while others are in flight before and after it.
      if (++made === 2) setImmediate(() => gz.destroy(Object.assign(new Error('zlib: out of memory'), { code: 'Z_MEM_ERROR' })));
      return gz;
    });
    const unhandled = await unhandledDuring(async () => {
      await expect(gzipFile(src, path.join(tmp, 'zlib-fail.gz'))).rejects.toMatchObject({ code: 'Z_MEM_ERROR' });
    }, 100);
    expect(unhandled).toEqual([]);
  });

  it('refuses to overwrite an existing file', async () => {
    const src = path.join(tmp, 'x');
    fs.writeFileSync(src, 'x');
    const dst = path.join(tmp, 'taken.gz');
    fs.writeFileSync(dst, 'keep');
    await expect(gzipFile(src, dst)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(dst, 'utf8')).toBe('keep');
  });
});
