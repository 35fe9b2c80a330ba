import { describe, expect, it } from 'vitest';
import { runPool } from '../../src/service/pool.js';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('runPool', () => {
  it('keeps at most `concurrency` calls in flight and runs every item', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await runPool([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      peak = Math.max(peak, ++inFlight);
      await tick(5);
      seen.push(n);
      inFlight--;
    });
    expect(peak).toBe(3);
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('a failed item stops new work, lets running ones finish, and is rethrown', async () => {
    const started: number[] = [];
    let finished = 0;
    const run = runPool([1, 2, 3, 4, 5, 6, 7, 8], 2, async (n) => {
      started.push(n);
      if (n === 2) throw new Error('item 2 failed');
      await tick(20);
      finished++;
    });
    await expect(run).rejects.toThrow('item 2 failed');
    expect(finished).toBe(started.length - 1);
    expect(started.length).toBeLessThan(8);
  });

  it('a source that throws stops the pool only after every running call has finished', async () => {
    let calls = 0;
    const source: Iterable<number> = {
      [Symbol.iterator]: () => ({
        next: () => {
          if (++calls > 4) throw new Error('cursor failed');
          return { done: false, value: calls };
        },
      }),
    };
    let running = 0;
    const run = runPool(source, 3, async () => {
      running++;
      await tick(30);
      running--;
    });
    await expect(run).rejects.toThrow('cursor failed');
    // When the caller sees the failure, no call may still be using what it is about to clean up.
    expect(running).toBe(0);
  });

  it('releases the source when stopping early', async () => {
    let released = false;
    function* items() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        released = true;
      }
    }
    await expect(runPool(items(), 2, async (n) => {
      if (n === 3) throw new Error('stop');
    })).rejects.toThrow('stop');
    expect(released).toBe(true);
  });
});
