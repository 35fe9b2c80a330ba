// The benchmark corpus: a deterministic plan (tree, names, sizes, duplicates) from a seed, written fast with an
// AES-CTR keystream, and cached in the work dir behind a marker that also holds the SHA-256 of every file.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { discardDir, formatBytes, log, pool, readChunks, walkFiles } from './util.js';

/** Bump when the plan or the content generator changes, so stale cached corpora are not reused. */
const GENERATOR_VERSION = 1;
const CHUNK = 4 << 20;
const READ_WORKERS = 8;
/** Paths per fincore call, well below the argument-list limit. */
const FINCORE_ARGS = 2000;
const runFile = promisify(execFile);
const BIG_MIN = 110 << 20;
const BIG_MAX = 150 << 20;
/** Cap for the ordinary files so the log-normal tail does not produce extra "big" files. */
const MEDIUM_MAX = 64 << 20;
const FILES_PER_DIR = 20;
const MAX_DEPTH = 7;
const EMPTY_SHARE = 0.01;
const DUPLICATE_SHARE = 0.04;
/** Share of files written as hex text: about 2:1 compressible, so compressing tools get some (realistic) benefit. */
const TEXT_SHARE = 0.12;
/** Spread of the log-normal size distribution: many files of a few KB, a tail of MB-sized ones. */
const SIZE_SIGMA = 1.8;

export interface CorpusParams {
  files: number;
  bytes: number;
  big: number; // how many of the files are 110-150 MiB
  seed: number;
}

interface PlannedFile {
  rel: string;
  size: number;
  contentId: number; // duplicates share the contentId (and so the bytes) of an earlier file
  text: boolean;
  mtime: number; // seconds; a fixed past time keeps runs comparable and avoids "just modified" edge cases
}

export interface Corpus {
  dir: string;
  params: CorpusParams;
  fileCount: number;
  totalBytes: number;
  duplicates: number;
  /** rel path -> [size, sha256 hex]; the reference for verifying restores. */
  manifest: Record<string, [number, string]>;
}

interface Marker extends Omit<Corpus, 'dir'> {
  generatorVersion: number;
}

/** sfc32: a tiny seeded PRNG, so the same parameters always give the same corpus layout. */
export function prng(seed: number): () => number {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const WORDS = ['photos', 'docs', 'projects', 'archive', 'music', 'notes', 'src', 'assets', 'reports', 'mail', 'scans',
  'drafts', 'invoices', 'backup', 'old', 'misc', 'travel', 'work', 'family', 'thesis', 'data', 'export', 'build', 'lib'];
const BINARY_EXT = ['jpg', 'png', 'pdf', 'zip', 'bin', 'docx', 'mp3', 'xlsx', 'gz', 'dat'];
const TEXT_EXT = ['txt', 'md', 'csv', 'json', 'log', 'ts', 'html'];

/** A random tree of about files/FILES_PER_DIR directories, each a child of an earlier one, at most MAX_DEPTH deep. */
function planDirectories(count: number, rand: () => number): string[] {
  const dirs = [''];
  const depth = [0];
  while (dirs.length < count) {
    const parent = Math.floor(rand() * dirs.length);
    if (depth[parent] >= MAX_DEPTH) continue;
    const name = `${WORDS[Math.floor(rand() * WORDS.length)]}-${dirs.length}`;
    dirs.push(dirs[parent] ? `${dirs[parent]}/${name}` : name);
    depth.push(depth[parent] + 1);
  }
  return dirs;
}

/** Scale log-normal draws so the capped sizes add up to `target` bytes (bisection on the scale factor). */
function fitSizes(raw: number[], target: number): number[] {
  const total = (s: number) => raw.reduce((sum, r) => sum + Math.min(Math.round(r * s), MEDIUM_MAX), 0);
  let lo = 0, hi = 1;
  while (total(hi) < target && hi < 1e12) hi *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (total(mid) < target) lo = mid; else hi = mid;
  }
  return raw.map((r) => Math.min(Math.round(r * hi), MEDIUM_MAX));
}

function planFiles(p: CorpusParams): PlannedFile[] {
  const rand = prng(p.seed);
  const dirs = planDirectories(Math.max(1, Math.round(p.files / FILES_PER_DIR)), rand);
  // Bias towards early (shallower) directories: real trees have a few crowded folders and many sparse ones.
  const pickDir = () => dirs[Math.floor(dirs.length * rand() ** 1.5)];
  const baseTime = Date.UTC(2024, 0, 1) / 1000;
  const files: PlannedFile[] = [];
  const bigSizes: number[] = [];
  for (let i = 0; i < p.big; i++) bigSizes.push(BIG_MIN + Math.floor(rand() * (BIG_MAX - BIG_MIN)));
  const ordinary = p.files - p.big;
  const remaining = p.bytes - bigSizes.reduce((a, b) => a + b, 0);
  if (ordinary < 0 || remaining < ordinary) throw new Error(`corpus too small for ${p.big} files of 110-150 MiB; raise --bytes or lower --big`);

  const raw: number[] = [];
  for (let i = 0; i < ordinary; i++) {
    const dupOf = i > 0 && rand() < DUPLICATE_SHARE ? Math.floor(rand() * i) : -1;
    const text = dupOf >= 0 ? files[dupOf].text : rand() < TEXT_SHARE;
    raw.push(dupOf >= 0 ? raw[dupOf] : rand() < EMPTY_SHARE ? 0 : Math.exp(SIZE_SIGMA * gaussian(rand)));
    const ext = text ? TEXT_EXT[Math.floor(rand() * TEXT_EXT.length)] : BINARY_EXT[Math.floor(rand() * BINARY_EXT.length)];
    const dir = pickDir();
    const name = `${WORDS[Math.floor(rand() * WORDS.length)]}-${i}.${ext}`;
    files.push({ rel: dir ? `${dir}/${name}` : name, size: 0, contentId: dupOf >= 0 ? files[dupOf].contentId : i, text, mtime: baseTime + Math.floor(rand() * 3e7) });
  }
  // Duplicates copy their source's raw draw, so they get the same size after scaling.
  fitSizes(raw, remaining).forEach((size, i) => { files[i].size = size; });
  bigSizes.forEach((size, i) => {
    const dir = pickDir();
    const name = `video-${i}.mkv`;
    files.push({ rel: dir ? `${dir}/${name}` : name, size, contentId: ordinary + i, text: false, mtime: baseTime + Math.floor(rand() * 3e7) });
  });
  return files;
}

/** Deterministic, incompressible bytes: the AES-128-CTR keystream for a key derived from (seed, contentId). */
export function keystream(seed: number | string, contentId: number): crypto.Cipher {
  const key = crypto.createHash('sha256').update(`bt-bench:${seed}:${contentId}`).digest().subarray(0, 16);
  return crypto.createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
}

const ZEROS = Buffer.alloc(CHUNK);

/** Write one planned file in CHUNK pieces (big files never sit in memory whole) and return its SHA-256. */
async function writeFile(root: string, f: PlannedFile, seed: number): Promise<string> {
  const cipher = keystream(seed, f.contentId);
  const hash = crypto.createHash('sha256');
  const fh = await fsp.open(path.join(root, f.rel), 'w');
  try {
    for (let done = 0; done < f.size;) {
      const n = Math.min(CHUNK, f.size - done);
      // Text files are the hex of the keystream: printable and about half the entropy of binary files.
      const chunk = f.text ? Buffer.from(cipher.update(ZEROS.subarray(0, Math.ceil(n / 2))).toString('hex').slice(0, n), 'latin1')
        : cipher.update(ZEROS.subarray(0, n));
      hash.update(chunk);
      await fh.write(chunk, 0, chunk.length);
      done += n;
    }
    await fh.utimes(f.mtime, f.mtime);
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

async function generate(dir: string, params: CorpusParams): Promise<Marker> {
  const plan = planFiles(params);
  const started = Date.now();
  await discardDir(dir);
  const dirs = new Set(plan.map((f) => path.posix.dirname(f.rel)));
  for (const d of dirs) await fsp.mkdir(path.join(dir, d), { recursive: true });
  const manifest: Record<string, [number, string]> = {};
  // Big files first and in parallel with the small ones, so the CPU-heavy keystream overlaps the many small writes.
  const order = [...plan].sort((a, b) => b.size - a.size);
  await pool(order, 16, async (f) => {
    manifest[f.rel] = [f.size, await writeFile(dir, f, params.seed)];
  });
  const totalBytes = plan.reduce((sum, f) => sum + f.size, 0);
  const duplicates = plan.filter((f, i) => f.contentId !== i).length;
  log(`generated ${plan.length} files, ${formatBytes(totalBytes)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { params, generatorVersion: GENERATOR_VERSION, fileCount: plan.length, totalBytes, duplicates, manifest };
}

function sameParams(a: CorpusParams, b: CorpusParams): boolean {
  return a.files === b.files && a.bytes === b.bytes && a.big === b.big && a.seed === b.seed;
}

/** A cached corpus is reused only if its marker matches the parameters and the tree still has exactly those files and sizes. */
async function loadCached(dir: string, markerPath: string, params: CorpusParams): Promise<Marker | null> {
  let marker: Marker;
  try {
    marker = JSON.parse(await fsp.readFile(markerPath, 'utf8')) as Marker;
  } catch {
    return null;
  }
  if (marker.generatorVersion !== GENERATOR_VERSION || !sameParams(marker.params, params)) return null;
  const { files, others } = await walkFiles(dir).catch(() => ({ files: [], others: ['?'] }));
  if (others.length || files.length !== marker.fileCount) return null;
  return files.every((f) => marker.manifest[f.rel]?.[0] === f.size) ? marker : null;
}

/** Return the corpus for `params` under `workdir`, generating it unless a valid cached copy exists. */
export async function prepareCorpus(workdir: string, params: CorpusParams): Promise<Corpus> {
  const name = `corpus-${params.files}f-${params.bytes}b-${params.big}big-s${params.seed}`;
  const dir = path.join(workdir, name);
  // The marker lives beside the corpus, not in it, so it is never part of what is backed up.
  const markerPath = path.join(workdir, `${name}.json`);
  let marker = await loadCached(dir, markerPath, params);
  if (marker) log(`reusing cached corpus ${dir}`);
  else {
    log(`generating corpus ${dir} (${params.files} files, ${formatBytes(params.bytes)})`);
    await fsp.rm(markerPath, { force: true });
    marker = await generate(dir, params);
    await fsp.writeFile(markerPath, JSON.stringify(marker));
  }
  const { generatorVersion: _v, ...rest } = marker;
  return { dir, ...rest };
}

/** Read every file once so both tools start with the corpus in the page cache (we cannot drop caches instead). */
export async function warmCorpus(corpus: Corpus): Promise<void> {
  const started = Date.now();
  const rels = Object.keys(corpus.manifest);
  const buffers = Array.from({ length: READ_WORKERS }, () => Buffer.allocUnsafe(1 << 20));
  await pool(rels, READ_WORKERS, (rel, w) => readChunks(path.join(corpus.dir, rel), buffers[w], () => {}));
  log(`warm-up read of ${formatBytes(corpus.totalBytes)} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * The share of the corpus's bytes in the page cache, from util-linux's
 * fincore (mincore(2) underneath; it reads nothing), or null without it.
 * This machine runs DAMON reclaim (kdamond with a `pageout` scheme): file
 * pages left untouched for some seconds are written out, so a warm-up read
 * fades within a minute. The log shows the share before and after a tool's
 * initial backup, so that a round slowed by reads from disk can be told.
 */
export async function corpusResidency(corpus: Corpus): Promise<number | null> {
  const rels = Object.keys(corpus.manifest);
  let resident = 0;
  let total = 0;
  for (let i = 0; i < rels.length; i += FINCORE_ARGS) {
    const args = ['--bytes', '--noheadings', '--raw', '--output', 'RES,SIZE', ...rels.slice(i, i + FINCORE_ARGS)];
    let stdout: string;
    try {
      ({ stdout } = await runFile('fincore', args, { cwd: corpus.dir, maxBuffer: 64 << 20 }));
    } catch {
      return null;
    }
    for (const line of stdout.split('\n')) {
      const [res, size] = line.trim().split(/\s+/).map(Number);
      if (Number.isFinite(res) && Number.isFinite(size)) {
        resident += Math.min(res!, size!);
        total += size!;
      }
    }
  }
  return total ? resident / total : 1;
}
