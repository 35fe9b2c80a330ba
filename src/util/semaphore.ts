/** At most `slots` calls of `run` in progress at once; the rest wait in arrival order. */
export class Semaphore {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(slots: number) {
    this.free = Math.max(1, Math.floor(slots));
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter, so that a newcomer cannot take it first.
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
