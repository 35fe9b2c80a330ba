/** Run `fn` over `items` with at most `concurrency` calls in flight; the first thrown error stops new work and is rethrown. */
export async function runPool<T>(items: Iterable<T>, concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]();
  let failed: unknown = null;
  const worker = async () => {
    while (failed === null) {
      try {
        // The source may throw too (a database read): that stops the pool like a failed item,
        // so that every worker has finished before the caller cleans up.
        const next = it.next();
        if (next.done) return;
        await fn(next.value);
      } catch (err) {
        if (failed === null) failed = err;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  } finally {
    it.return?.(); // release what the source holds (a database cursor) when stopping early
  }
  if (failed !== null) throw failed;
}
