// Small helpers shared by the benchmark modules: sizes, formatting, a bounded worker pool and a directory walk.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
};

/** Parse "50MB", "1.5GB", "200MiB" or a plain byte count. Decimal units, as the issue states sizes that way. */
export function parseSize(text: string): number {
  const m = /^\s*([\d.]+)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined || !Number.isFinite(Number(m[1]))) throw new Error(`bad size: ${text}`);
  return Math.round(Number(m[1]) * unit);
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} KB`;
  return `${n} B`;
}

export function formatSeconds(s: number): string {
  return s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`;
}

/**
 * Run `fn` over `items` with at most `concurrency` in flight; the first error is rethrown once all workers stop.
 * `fn` gets its worker's number, so a worker can reuse its own buffer.
 */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, worker: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async (w: number) => {
    while (failure === null && next < items.length) {
      const i = next++;
      try {
        await fn(items[i], w);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, (_, w) => worker(w)));
  if (failure !== null) throw failure;
}

export interface WalkedFile {
  rel: string; // POSIX path relative to the walked root
  abs: string;
  size: number;
}

/** Every regular file below `root` (symlinks and other types are reported separately so verification sees them). */
export async function walkFiles(root: string): Promise<{ files: WalkedFile[]; others: string[] }> {
  const files: WalkedFile[] = [];
  const others: string[] = [];
  const visit = async (dir: string, relDir: string): Promise<void> => {
    const entries = await fsp.readdir(dir, { withFileTypes: true });
    const subdirs: Promise<void>[] = [];
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      const rel = relDir ? `${relDir}/${e.name}` : e.name;
      if (e.isDirectory()) subdirs.push(visit(abs, rel));
      else if (e.isFile()) files.push({ rel, abs, size: 0 });
      else others.push(rel);
    }
    await Promise.all(subdirs);
  };
  await visit(root, '');
  await pool(files, 64, async (f) => {
    f.size = (await fsp.stat(f.abs)).size;
  });
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files, others };
}

/** Read a file through a caller-owned buffer: a fresh 1 MiB buffer per file (as streams do) is slow over 50,000 files. */
export async function readChunks(file: string, buf: Buffer, onChunk: (chunk: Buffer) => void): Promise<void> {
  const fh = await fsp.open(file, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return;
      onChunk(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
}

export async function removeDir(dir: string): Promise<void> {
  await fsp.rm(dir, { recursive: true, force: true });
}

/**
 * Deleting a large tree right before a timed phase would skew it: on ext4
 * without a journal (as here), new inodes are allocated slowly for minutes
 * after many were freed, because the allocator skips recently deleted ones.
 * That hits whichever tool creates many files next (bt's one object per
 * file, any restore) and not the others. So during a run, scratch trees are
 * only moved aside (a rename frees nothing) and deleted after the last timed
 * phase; a run that starts soon after such a deletion waits for it to settle.
 */
// ext4 skips a free inode while its deletion time is within 60 s, or 360 s while
// its inode table block is still dirty (RECENTCY_MIN and RECENTCY_DIRTY in
// fs/ext4/ialloc.c): after a mass deletion, creation is slow for up to 6 minutes.
const SETTLE_MS = 400_000;
let trashDir: string | null = null;
let trashCount = 0;

function stampFile(workdir: string): string {
  return path.join(workdir, '.last-mass-delete');
}

/** Use `<workdir>/trash` for discardDir; wait if an earlier run deleted its scratch trees a short while ago. */
export async function openTrash(workdir: string): Promise<void> {
  trashDir = path.join(workdir, 'trash');
  if (await exists(trashDir)) await emptyTrash(workdir); // left by a run that was stopped
  const last = Number(await fsp.readFile(stampFile(workdir), 'utf8').catch(() => '0'));
  const wait = last + SETTLE_MS - Date.now();
  if (wait > 0) {
    log(`waiting ${Math.ceil(wait / 1000)} s for the filesystem to settle after the last run's deletions (see bench/README.md)`);
    await sleep(wait);
  }
}

const PROBE_FILES = 2000;
/**
 * Creating an empty file (openSync + closeSync) takes 20-30 us here on a
 * settled filesystem and 65-135 us after mass deletions. (The probe once used
 * fs.promises, whose two thread-pool round trips per file added about 50 us
 * and hid the difference.)
 */
const SETTLED_US = 50;
const PROBE_EVERY_MS = 15_000;
const PROBE_GIVE_UP_MS = 420_000; // past the kernel's 360 s

/**
 * Before a tool's timed phases: create empty files until creating them is
 * fast, since deletions made by anything else on the machine shortly before
 * (a test run, say) slow down whichever tool runs next. The probe files go to
 * the trash. Returns the last probe's microseconds per file, for the log.
 */
export async function waitForQuietFilesystem(workdir: string): Promise<number> {
  const started = Date.now();
  for (let i = 0; ; i++) {
    const dir = path.join(workdir, `probe-${process.pid}-${i}`);
    await fsp.mkdir(dir, { recursive: true });
    const t0 = process.hrtime.bigint();
    for (let f = 0; f < PROBE_FILES; f++) fs.closeSync(fs.openSync(path.join(dir, String(f)), 'w'));
    const us = Number(process.hrtime.bigint() - t0) / 1000 / PROBE_FILES;
    await discardDir(dir);
    if (us <= SETTLED_US) return us;
    if (Date.now() - started > PROBE_GIVE_UP_MS) {
      log(`file creation still slow (${us.toFixed(0)} us per file) after ${PROBE_GIVE_UP_MS / 1000} s: going on; timings that create many files are skewed`);
      return us;
    }
    log(`file creation is slow (${us.toFixed(0)} us per file, settled is <= ${SETTLED_US}): recent deletions; waiting ${PROBE_EVERY_MS / 1000} s`);
    await sleep(PROBE_EVERY_MS);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Move a scratch tree out of the way now; it is deleted by emptyTrash after the timed phases. */
export async function discardDir(dir: string): Promise<void> {
  if (!trashDir) return removeDir(dir);
  await fsp.mkdir(trashDir, { recursive: true });
  try {
    await fsp.rename(dir, path.join(trashDir, `${trashCount++}-${path.basename(dir)}`));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'EXDEV') return removeDir(dir);
    throw err;
  }
}

/** Delete what discardDir moved aside, and note when, so that the next run can wait for the filesystem to settle. */
export async function emptyTrash(workdir: string): Promise<void> {
  const dir = path.join(workdir, 'trash');
  if (!(await exists(dir))) return;
  await removeDir(dir);
  await fsp.writeFile(stampFile(workdir), String(Date.now()));
}

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(() => true, () => false);
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
