import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { gzipFile } from '../../src/util/gzip-file.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-gzip-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

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

  it('compresses an empty file', async () => {
    const src = path.join(tmp, 'empty');
    fs.writeFileSync(src, '');
    await gzipFile(src, path.join(tmp, 'empty.gz'));
    expect(zlib.gunzipSync(fs.readFileSync(path.join(tmp, 'empty.gz'))).length).toBe(0);
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
