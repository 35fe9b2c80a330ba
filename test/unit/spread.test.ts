import { describe, expect, it } from 'vitest';
import { spreadDirectories } from '../../src/service/spread.js';

const job = (p: string | Buffer) => ({ dest: typeof p === 'string' ? Buffer.from(p) : p });
const names = (it: Iterable<{ dest: Buffer }>) => [...it].map((j) => j.dest.toString('latin1'));

describe('spreadDirectories', () => {
  it('takes directories in turns within a window', () => {
    const input = ['/t/a/1', '/t/a/2', '/t/a/3', '/t/b/1', '/t/b/2', '/t/c/1'].map(job);
    expect(names(spreadDirectories(input, 100))).toEqual(['/t/a/1', '/t/b/1', '/t/c/1', '/t/a/2', '/t/b/2', '/t/a/3']);
  });

  it('keeps every job exactly once and does not reorder across windows', () => {
    const input = Array.from({ length: 1000 }, (_, i) => job(`/t/d${Math.floor(i / 7)}/f${i}`));
    const out = names(spreadDirectories(input, 64));
    expect([...out].sort()).toEqual(names(input).sort());
    // window k's jobs all come out before window k+1's
    const windowOf = (n: string) => Math.floor(Number(n.slice(n.lastIndexOf('f') + 1)) / 64);
    const windows = out.map(windowOf);
    expect(windows).toEqual([...windows].sort((a, b) => a - b));
    // within a window, neighbours are in different directories wherever two or more directories remain
    expect(out.slice(0, 8).map((n) => n.split('/')[2])).toEqual(['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7']);
  });

  it('treats directory names as bytes, invalid UTF-8 included', () => {
    const bad1 = Buffer.concat([Buffer.from('/t/'), Buffer.from([0xff]), Buffer.from('/x')]);
    const bad2 = Buffer.concat([Buffer.from('/t/'), Buffer.from([0xfe]), Buffer.from('/y')]);
    const bad3 = Buffer.concat([Buffer.from('/t/'), Buffer.from([0xff]), Buffer.from('/z')]);
    const out = [...spreadDirectories([bad1, bad3, bad2].map(job), 10)].map((j) => j.dest);
    expect(out).toEqual([bad1, bad2, bad3]);
  });

  it('closes the source when the consumer stops early', () => {
    let closed = false;
    const source = (function* () {
      try {
        for (let i = 0; ; i++) yield job(`/t/d${i % 3}/f${i}`);
      } finally {
        closed = true;
      }
    })();
    const it = spreadDirectories(source, 4)[Symbol.iterator]();
    expect(it.next().done).toBe(false);
    it.return?.(undefined);
    expect(closed).toBe(true);
  });
});
