import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../src/util/semaphore.js';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Semaphore', () => {
  it('runs at most `slots` at once, in arrival order, and frees a slot when a call fails', async () => {
    const sem = new Semaphore(2);
    let inFlight = 0;
    let peak = 0;
    const order: number[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        sem.run(async () => {
          order.push(i);
          peak = Math.max(peak, ++inFlight);
          await tick(5);
          inFlight--;
          if (i === 1) throw new Error('call 1 failed');
          return i;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    // Every slot came back: two more calls run together.
    let together = 0;
    await Promise.all([0, 1].map(() => sem.run(async () => {
      together++;
      await tick(5);
      expect(together).toBe(2);
    })));
  });
});
