/**
 * Reorder a stream of restore jobs so that the files written at one time
 * lie in different directories. Creating and renaming a file both take its
 * directory's lock; writers that queue on one lock spin on the CPU that the
 * others need. Each window of `window` jobs comes out in turns by
 * directory, so memory stays bounded however large the tree.
 */
export function* spreadDirectories<T extends { dest: Buffer }>(jobs: Iterable<T>, window: number): Generator<T> {
  let groups = new Map<string, T[]>();
  let held = 0;
  const drain = function* (): Generator<T> {
    const queues = [...groups.values()].map((q) => q.values());
    groups = new Map();
    held = 0;
    while (queues.length) {
      for (let i = 0; i < queues.length; ) {
        const next = queues[i]!.next();
        if (next.done) queues.splice(i, 1);
        else {
          yield next.value;
          i++;
        }
      }
    }
  };
  for (const job of jobs) {
    const slash = job.dest.lastIndexOf(0x2f);
    // latin1 maps each byte to one char: any directory name, valid UTF-8 or not, is its own key
    const dir = job.dest.subarray(0, Math.max(0, slash)).toString('latin1');
    let q = groups.get(dir);
    if (!q) groups.set(dir, (q = []));
    q.push(job);
    if (++held >= window) yield* drain();
  }
  yield* drain();
}
