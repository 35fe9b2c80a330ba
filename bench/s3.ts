// The S3 part of the benchmark: bt backing up to an S3 vault on s3rver (loopback, in a child process), timed
// against the bare AWS SDK sending the same files to the same server in the same run (see s3-baseline.ts):
// - "files": many small files; baseline = a PutObject loop with the same number of requests in flight as bt;
// - "large": one large file; baseline = one @aws-sdk/lib-storage Upload with bt's part size and parts in flight.
// Every run gets a bucket of its own, so nothing is deduplicated against an earlier run. bt's copy is restored
// from the bucket and checked byte for byte.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { keystream, prng, warmCorpus, type Corpus } from './corpus.js';
import { combine, measure, median, type Measurement } from './measure.js';
import { flushDirtyPages, isolatedEnv } from './tools.js';
import type { BaselineResult } from './s3-baseline.js';
import { verifyRestore, type Verification } from './verify.js';
import { discardDir, formatBytes, formatSeconds, log, pool, walkFiles } from './util.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository root (dist/bench/.. /..), where node_modules holds s3rver. */
const REPO = path.resolve(HERE, '..', '..');
const MiB = 1 << 20;

export const S3_TARGETS = {
  filesRatio: 1.3, // bt at most 1.3 x the PutObject loop on the small files
  largeRatio: 1.2, // bt at most 1.2 x the lib-storage Upload on the large file
  maxRssBytes: 300e6, // bt peak RSS under 300 MB
};

/** What bt does by default (s3 `connections` = 8; multipart: 8 MiB parts, 4 in flight), so the baseline matches. */
const CONCURRENCY = 8;
const PART_SIZE = 8 * MiB;
const QUEUE_SIZE = 4;
const SMALL_MIN = 1024;
const SMALL_MAX = 16 * 1024;
const PREFIX = 'bench/';
const GENERATOR_VERSION = 1;

export interface S3Options {
  workdir: string;
  btBin: string;
  keep: boolean;
  repeat: number;
  /** Number of small files (1-16 KiB each). */
  files: number;
  /** Size of the one large file. */
  largeBytes: number;
  seed: number;
}

export type WorkloadKind = 'files' | 'large';

interface Workload {
  kind: WorkloadKind;
  label: string;
  corpus: Corpus;
  ratioTarget: number;
  baseline: string;
}

// ---- the server -----------------------------------------------------------------------------------------------

/** Requests one bucket received, by kind ("PUT", "PUT part", "GET list"...), and how many carried a SHA-256. */
export interface BucketStats {
  requests: Record<string, number>;
  sha256Headers: number;
}

interface S3rver {
  endpoint: string;
  version: string;
  stats(): Promise<Record<string, BucketStats>>;
  stop(): Promise<void>;
}

// s3rver in a child process (CommonJS, run with -e from the repository root so that require finds it), counting
// the requests each bucket gets. Adapted from test/s3-server.ts, without the fault injection.
const CHILD = String.raw`
const S3rver = require('s3rver');
const opts = JSON.parse(process.env.BT_BENCH_S3RVER);
const stats = {};
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory: opts.directory,
  silent: true,
  configureBuckets: opts.buckets.map((name) => ({ name })),
});
server.middleware.unshift(async (ctx, next) => {
  const segs = ctx.path.slice(1).split('/');
  const bucket = decodeURIComponent(segs[0] || '');
  const hasKey = segs.slice(1).join('/') !== '';
  const q = ctx.query;
  let kind = ctx.method;
  if (!hasKey) kind += 'uploads' in q ? ' list-uploads' : ' list';
  else if ('partNumber' in q) kind += ' part';
  else if ('uploads' in q) kind += ' create-upload';
  else if ('uploadId' in q) kind += ctx.method === 'POST' ? ' complete-upload' : ' upload';
  const s = (stats[bucket] = stats[bucket] || { requests: {}, sha256Headers: 0 });
  s.requests[kind] = (s.requests[kind] || 0) + 1;
  if (ctx.get('x-amz-checksum-sha256')) s.sha256Headers++;
  await next();
});
process.on('message', (m) => process.send({ id: m.id, stats }));
process.on('disconnect', () => process.exit(0));
server.run().then(
  (addr) => process.send({ type: 'ready', port: addr.port }),
  (err) => { console.error(err); process.exit(1); },
);
`;

export function s3rverVersion(): string | null {
  try {
    const require = createRequire(path.join(REPO, 'package.json'));
    return (require('s3rver/package.json') as { version: string }).version;
  } catch {
    return null;
  }
}

async function startS3rver(directory: string, buckets: string[]): Promise<S3rver> {
  const version = s3rverVersion();
  if (!version) throw new Error('s3rver is not installed (it is a devDependency: npm install), or leave S3 out with --no-s3');
  await discardDir(directory);
  await fsp.mkdir(directory, { recursive: true });
  let seq = 0;
  const pending = new Map<number, (stats: Record<string, BucketStats>) => void>();
  const { child, port } = await new Promise<{ child: ChildProcess; port: number }>((resolve, reject) => {
    // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its legacy provider.
    const c = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD], {
      cwd: REPO,
      env: { ...process.env, BT_BENCH_S3RVER: JSON.stringify({ directory, buckets }) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    c.stderr!.on('data', (d) => (stderr += d));
    c.on('message', (m: { type?: string; port?: number; id?: number; stats?: Record<string, BucketStats> }) => {
      if (m.type === 'ready') resolve({ child: c, port: m.port! });
      else if (m.id !== undefined) {
        pending.get(m.id)?.(m.stats ?? {});
        pending.delete(m.id);
      }
    });
    c.on('exit', (code) => reject(new Error(`s3rver exited (${code}) before it was ready: ${stderr}`)));
  });
  const stats = () =>
    new Promise<Record<string, BucketStats>>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error('s3rver is not running'));
      const id = ++seq;
      pending.set(id, resolve);
      child.send({ id });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { endpoint: `http://127.0.0.1:${port}`, version, stats, stop };
}

function diffStats(after: BucketStats | undefined, before: BucketStats | undefined): BucketStats {
  const out: BucketStats = { requests: {}, sha256Headers: (after?.sha256Headers ?? 0) - (before?.sha256Headers ?? 0) };
  for (const [k, n] of Object.entries(after?.requests ?? {})) {
    const d = n - (before?.requests[k] ?? 0);
    if (d > 0) out.requests[k] = d;
  }
  return out;
}

export function describeStats(s: BucketStats | undefined): string {
  if (!s) return '-';
  const parts = Object.entries(s.requests).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
  return `${parts.join(', ') || 'none'} (${s.sha256Headers} with x-amz-checksum-sha256)`;
}

// ---- the data ---------------------------------------------------------------------------------------------------

/** The files bt and the baseline send: generated from the seed and cached under workdir like the main corpus. */
async function prepareData(workdir: string, kind: WorkloadKind, count: number, largeBytes: number, seed: number): Promise<Corpus> {
  const name = kind === 'files' ? `s3-files-${count}f-s${seed}` : `s3-large-${largeBytes}b-s${seed}`;
  const dir = path.join(workdir, name);
  const markerPath = path.join(workdir, `${name}.json`);
  const rand = prng(seed + 0x53);
  const plan = kind === 'files'
    ? Array.from({ length: count }, (_, i) => ({ rel: `f${String(i).padStart(5, '0')}.bin`, size: SMALL_MIN + Math.floor(rand() * (SMALL_MAX - SMALL_MIN + 1)) }))
    : [{ rel: `large-${largeBytes}.bin`, size: largeBytes }];
  const totalBytes = plan.reduce((s, f) => s + f.size, 0);
  const params = { files: plan.length, bytes: totalBytes, big: kind === 'large' ? 1 : 0, seed };
  try {
    const marker = JSON.parse(await fsp.readFile(markerPath, 'utf8')) as Corpus & { generatorVersion: number };
    const { files, others } = await walkFiles(dir);
    if (marker.generatorVersion === GENERATOR_VERSION && !others.length && files.length === plan.length && files.every((f) => marker.manifest[f.rel]?.[0] === f.size)) {
      log(`reusing S3 data ${dir}`);
      return { ...marker, dir };
    }
  } catch {
    // not generated yet, or damaged: generate again
  }
  log(`generating S3 data ${dir} (${plan.length} files, ${formatBytes(totalBytes)})`);
  await fsp.rm(markerPath, { force: true });
  await discardDir(dir);
  await fsp.mkdir(dir, { recursive: true });
  const manifest: Record<string, [number, string]> = {};
  const zeros = Buffer.alloc(4 * MiB);
  await pool(plan.map((f, i) => ({ ...f, i })), 16, async (f) => {
    const cipher = keystream(`s3-${kind}-${seed}`, f.i);
    const hash = crypto.createHash('sha256');
    const fh = await fsp.open(path.join(dir, f.rel), 'w');
    try {
      for (let done = 0; done < f.size;) {
        const chunk = cipher.update(zeros.subarray(0, Math.min(zeros.length, f.size - done)));
        hash.update(chunk);
        await fh.write(chunk, 0, chunk.length);
        done += chunk.length;
      }
    } finally {
      await fh.close();
    }
    manifest[f.rel] = [f.size, hash.digest('hex')];
  });
  const corpus: Corpus = { dir, params, fileCount: plan.length, totalBytes, duplicates: 0, manifest };
  const { dir: _d, ...rest } = corpus;
  await fsp.writeFile(markerPath, JSON.stringify({ ...rest, generatorVersion: GENERATOR_VERSION }));
  return corpus;
}

// ---- one run of each side -----------------------------------------------------------------------------------------

export interface BtS3Run {
  bucket: string;
  /** dir init + add + backup, as one measurement (times add up, RSS is the highest). */
  backup: Measurement;
  steps: Measurement[];
  setupFailed: Measurement | null;
  restore: Measurement | null;
  verification: Verification | null;
  requests: BucketStats;
}

export interface SdkS3Run {
  bucket: string;
  process: Measurement;
  /** The script's own timer: the walk and uploads, or the Upload, without process and module start-up. */
  inScriptSeconds: number | null;
  objects: number | null;
  requests: BucketStats;
}

/** Without AWS_* from the parent (no real credentials or profiles), s3rver's account instead. */
function s3Env(runDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = isolatedEnv(runDir, {});
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  return { ...env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', ...extra };
}

async function runBt(w: Workload, server: S3rver, bucket: string, runDir: string, logDir: string, btBin: string): Promise<BtS3Run> {
  await discardDir(runDir);
  await fsp.mkdir(path.join(runDir, 'home'), { recursive: true });
  const env = s3Env(runDir, { BT_CONFIG: path.join(runDir, 'home', '.config', 'bt.toml'), BT_BASE_DIR: path.join(runDir, 'base') });
  const bt = (label: string, args: string[], cwd: string) => measure({ label: `bt-${label}`, cmd: btBin, args, cwd, env, logDir });
  const result: BtS3Run = { bucket, backup: null as unknown as Measurement, steps: [], setupFailed: null, restore: null, verification: null, requests: { requests: {}, sha256Headers: 0 } };

  // Set-up, untimed: a config with the S3 vault as the only vault.
  const setup: [string, string[]][] = [
    ['config-init', ['config', 'init']],
    ['vault-remove-local', ['config', 'vault', 'remove', 'local']],
    ['vault-add-s3', ['config', 'vault', 'add', 's3', 's3', '--bucket', bucket, '--prefix', PREFIX, '--endpoint', server.endpoint, '--path-style', '--region', 'us-east-1']],
    ['vault-init', ['config', 'vault', 'init', 's3']],
  ];
  for (const [label, args] of setup) {
    const m = await bt(label, args, runDir);
    if (m.exitCode !== 0) {
      log(`bt S3 set-up (${args.join(' ')}) FAILED (exit ${m.exitCode}): ${m.outputTail}`);
      result.setupFailed = m;
      result.backup = m;
      return result;
    }
  }

  await warmCorpus(w.corpus);
  await flushDirtyPages();
  const before = (await server.stats())[bucket];
  for (const [label, args] of [['dir-init', ['dir', 'init']], ['add', ['add', '.']], ['backup', ['backup']]] as [string, string[]][]) {
    const m = await bt(label, args, w.corpus.dir);
    result.steps.push(m);
    if (m.exitCode !== 0) break;
  }
  result.backup = combine(result.steps);
  result.requests = diffStats((await server.stats())[bucket], before);
  const status = result.backup.exitCode === 0 ? 'ok' : `FAILED (exit ${result.backup.exitCode}): ${result.backup.outputTail}`;
  log(`bt S3 ${w.kind}: ${formatSeconds(result.backup.seconds)} (${result.steps.map((s) => formatSeconds(s.seconds)).join(' + ')}), peak RSS ${(result.backup.maxRssBytes / 1e6).toFixed(0)} MB, ${status}`);
  if (result.backup.exitCode !== 0) return result;

  // Restore from the bucket (the only vault) and compare with the data; timed and reported, not targeted.
  const target = path.join(runDir, 'restore');
  await fsp.mkdir(target, { recursive: true });
  await flushDirtyPages();
  const what = w.kind === 'large' ? path.join(w.corpus.dir, Object.keys(w.corpus.manifest)[0]) : w.corpus.dir;
  result.restore = await bt('restore', ['restore', what, '--target', target], w.corpus.dir);
  result.verification = result.restore.exitCode !== 0
    ? { ok: false, files: 0, missing: w.corpus.fileCount, extra: 0, mismatched: 0, examples: [`bt restore failed: ${result.restore.outputTail}`] }
    : await verifyRestore(target, w.corpus).catch((err: Error) => ({ ok: false, files: 0, missing: w.corpus.fileCount, extra: 0, mismatched: 0, examples: [err.message] }));
  log(`bt S3 ${w.kind} restore: ${formatSeconds(result.restore.seconds)}, peak RSS ${(result.restore.maxRssBytes / 1e6).toFixed(0)} MB, ${result.verification.ok ? 'identical' : `DIFFERS ${JSON.stringify(result.verification)}`}`);
  return result;
}

async function runSdk(w: Workload, server: S3rver, bucket: string, runDir: string, logDir: string): Promise<SdkS3Run> {
  await discardDir(runDir);
  await fsp.mkdir(path.join(runDir, 'home'), { recursive: true });
  const resultFile = path.join(runDir, 'result.json');
  const source = w.kind === 'large' ? path.join(w.corpus.dir, Object.keys(w.corpus.manifest)[0]) : w.corpus.dir;
  const args = [path.join(HERE, 's3-baseline.js'), w.kind, source, '--endpoint', server.endpoint, '--bucket', bucket, '--prefix', PREFIX,
    '--concurrency', String(CONCURRENCY), '--part-size', String(PART_SIZE), '--queue-size', String(QUEUE_SIZE), '--result', resultFile];
  await warmCorpus(w.corpus);
  await flushDirtyPages();
  const before = (await server.stats())[bucket];
  const m = await measure({ label: 'sdk', cmd: process.execPath, args, cwd: runDir, env: s3Env(runDir), logDir });
  const requests = diffStats((await server.stats())[bucket], before);
  const r = m.exitCode === 0 ? (JSON.parse(await fsp.readFile(resultFile, 'utf8')) as BaselineResult) : null;
  const status = m.exitCode === 0 ? `ok, ${r!.objects} objects` : `FAILED (exit ${m.exitCode}): ${m.outputTail}`;
  log(`SDK baseline S3 ${w.kind}: ${formatSeconds(m.seconds)} (in-script ${r ? formatSeconds(r.seconds) : '-'}), peak RSS ${(m.maxRssBytes / 1e6).toFixed(0)} MB, ${status}`);
  return { bucket, process: m, inScriptSeconds: r?.seconds ?? null, objects: r?.objects ?? null, requests };
}

// ---- all runs -------------------------------------------------------------------------------------------------------

export interface S3WorkloadResult {
  kind: WorkloadKind;
  label: string;
  baselineLabel: string;
  data: { dir: string; fileCount: number; totalBytes: number };
  ratioTarget: number;
  /** Medians over the rounds (by wall time), with the highest RSS of any round. */
  bt: Measurement;
  btSteps: Measurement[];
  sdk: Measurement;
  sdkInScriptSeconds: number | null;
  restore: Measurement | null;
  /** The first failed verification, or the first round's. */
  verification: Verification | null;
  rounds: { bt: BtS3Run; sdk: SdkS3Run }[];
}

export interface S3Run {
  server: string;
  concurrency: number;
  partSize: number;
  queueSize: number;
  repeat: number;
  workloads: S3WorkloadResult[];
}

function mergeMeasurements(all: Measurement[]): Measurement {
  const failed = all.find((m) => m.exitCode !== 0);
  return { ...(failed ?? median(all)), maxRssBytes: Math.max(...all.map((m) => m.maxRssBytes)) };
}

function medianOf(values: number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function benchS3(opts: S3Options): Promise<S3Run> {
  const workloads: Workload[] = [
    {
      kind: 'files',
      label: '',
      corpus: await prepareData(opts.workdir, 'files', opts.files, opts.largeBytes, opts.seed),
      ratioTarget: S3_TARGETS.filesRatio,
      baseline: `PutObject loop, ${CONCURRENCY} in flight`,
    },
    {
      kind: 'large',
      label: '',
      corpus: await prepareData(opts.workdir, 'large', opts.files, opts.largeBytes, opts.seed),
      ratioTarget: S3_TARGETS.largeRatio,
      baseline: `lib-storage Upload, ${PART_SIZE / MiB} MiB parts, ${QUEUE_SIZE} in flight`,
    },
  ];
  for (const w of workloads) {
    const size = w.kind === 'large' && w.corpus.totalBytes % MiB === 0 ? `${w.corpus.totalBytes / MiB} MiB` : formatBytes(w.corpus.totalBytes);
    w.label = w.kind === 'files' ? `${w.corpus.fileCount.toLocaleString('en-US')} files, ${size}` : `1 file, ${size}`;
  }
  const bucketOf = (side: 'bt' | 'sdk', w: Workload, round: number) => `bench-${side}-${w.kind}-${round + 1}`;
  const buckets = workloads.flatMap((w) => Array.from({ length: opts.repeat }, (_, r) => [bucketOf('bt', w, r), bucketOf('sdk', w, r)]).flat());
  const serverDir = path.join(opts.workdir, 'run', 's3', 'server');
  const logRoot = path.join(opts.workdir, 'logs', 's3');
  await discardDir(logRoot);
  const server = await startS3rver(serverDir, buckets);
  log(`s3rver ${server.version} at ${server.endpoint} (data in ${serverDir})`);
  const rounds = new Map<WorkloadKind, { bt: BtS3Run; sdk: SdkS3Run }[]>(workloads.map((w) => [w.kind, []]));
  try {
    for (let round = 0; round < opts.repeat; round++) {
      if (opts.repeat > 1) log(`S3 round ${round + 1} of ${opts.repeat}`);
      for (const w of workloads) {
        const runDir = (side: string) => path.join(opts.workdir, 'run', 's3', `${w.kind}-${round + 1}`, side);
        const logDir = path.join(logRoot, `${w.kind}-${round + 1}`);
        // Alternate which side goes first, so a drift in machine load does not always favour the same one.
        let bt: BtS3Run | null = null;
        let sdk: SdkS3Run | null = null;
        for (const side of round % 2 === 0 ? ['sdk', 'bt'] : ['bt', 'sdk']) {
          if (side === 'bt') bt = await runBt(w, server, bucketOf('bt', w, round), runDir('bt'), logDir, opts.btBin);
          else sdk = await runSdk(w, server, bucketOf('sdk', w, round), runDir('sdk'), logDir);
        }
        rounds.get(w.kind)!.push({ bt: bt!, sdk: sdk! });
        if (!opts.keep) {
          await discardDir(path.join(opts.workdir, 'run', 's3', `${w.kind}-${round + 1}`));
          // These buckets are not used again: drop their objects (256 MiB a run) from s3rver's directory.
          for (const side of ['bt', 'sdk'] as const) await discardDir(path.join(serverDir, bucketOf(side, w, round)));
        }
      }
    }
  } finally {
    await server.stop();
    if (!opts.keep) await discardDir(path.join(opts.workdir, 'run', 's3'));
  }

  return {
    server: `s3rver ${server.version}`,
    concurrency: CONCURRENCY,
    partSize: PART_SIZE,
    queueSize: QUEUE_SIZE,
    repeat: opts.repeat,
    workloads: workloads.map((w) => {
      const rs = rounds.get(w.kind)!;
      const bt = mergeMeasurements(rs.map((r) => r.bt.backup));
      // The steps of the round whose total was the median, so they add up to the time shown.
      const btRound = rs.find((r) => r.bt.backup === median(rs.map((x) => x.bt.backup))) ?? rs[0];
      const restores = rs.map((r) => r.bt.restore).filter((m): m is Measurement => m !== null);
      const verifications = rs.map((r) => r.bt.verification);
      return {
        kind: w.kind,
        label: w.label,
        baselineLabel: w.baseline,
        data: { dir: w.corpus.dir, fileCount: w.corpus.fileCount, totalBytes: w.corpus.totalBytes },
        ratioTarget: w.ratioTarget,
        bt,
        btSteps: btRound.bt.steps,
        sdk: mergeMeasurements(rs.map((r) => r.sdk.process)),
        sdkInScriptSeconds: medianOf(rs.map((r) => r.sdk.inScriptSeconds).filter((s): s is number => s !== null)),
        restore: restores.length ? mergeMeasurements(restores) : null,
        verification: verifications.find((v) => !v?.ok) ?? verifications[0] ?? null,
        rounds: rs,
      };
    }),
  };
}
