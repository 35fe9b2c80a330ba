// `npm run bench`: bt against restic (and borg when installed) on a generated corpus. See usage() for the options.
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareCorpus, type CorpusParams } from './corpus.js';
import { GNU_TIME } from './measure.js';
import { checksTable, comparisonTable, growthTable, s3Table, type Check, type CorpusRun } from './report.js';
import { benchS3, s3rverVersion, type S3Run } from './s3.js';
import { borgPlan, btPlan, mergeRepeats, onPath, resticPlan, runTool, type ToolContext, type ToolResult } from './tools.js';
import { discardDir, emptyTrash, log, openTrash, parseSize } from './util.js';

const FULL = { files: 50_000, bytes: 1.5e9 };
const SMALL = { files: 2_000, bytes: 50e6 };
/** The S3 runs: small files (1-16 KiB each) and one large file; --small scales them down. */
const S3_FULL = { files: 5_000, largeBytes: 256 * 1024 * 1024 };
const S3_SMALL = { files: 1_000, largeBytes: 64 * 1024 * 1024 };
/** Files of 110-150 MiB only fit a corpus of a GB or more; smaller corpora get none unless --big says so. */
const defaultBig = (bytes: number) => (bytes >= 1e9 ? 3 : 0);

interface Options {
  main: CorpusParams;
  /** The corpus of a quarter of the main one's files and bytes, to show how memory grows with size; null when the main corpus is small. */
  growth: CorpusParams | null;
  workdir: string;
  keep: boolean;
  borg: boolean;
  repeat: number;
  btBin: string;
  /** Run bt, restic and borg on the corpus (all but --s3-only). */
  corpus: boolean;
  /** The S3 runs, or null with --no-s3. */
  s3: { files: number; largeBytes: number } | null;
}

function usage(): string {
  return `usage: npm run bench -- [options]   (or: node dist/bench/main.js [options])

  --small            quick corpus: ${SMALL.files} files, ${SMALL.bytes / 1e6} MB
  --files N          number of files (default ${FULL.files})
  --bytes SIZE       total size, e.g. 1.5GB, 200MB (default ${FULL.bytes / 1e9} GB)
  --big N            how many files of 110-150 MiB (default 3 when the corpus is 1 GB or more, else 0)
  --seed N           corpus seed (default 1)
  --workdir DIR      cached corpora, logs and results.json (default /tmp/bt-bench)
  --no-growth        skip the run on a quarter of the corpus that shows memory growth
  --no-borg          leave borg out even when it is on PATH
  --bt PATH          the bt executable (default: this repository's bin/bt)
  --repeat N         run every tool N times (interleaved) and report median times, highest RSS (default 1)
  --keep             keep repositories, vaults and restores after the run

  S3 (bt against the bare AWS SDK on s3rver, loopback; on by default):
  --s3-only          only the S3 runs (no restic/borg corpus runs)
  --no-s3            leave the S3 runs out
  --s3-files N       small files (1-16 KiB each) for the S3 run (default ${S3_FULL.files}, ${S3_SMALL.files} with --small)
  --s3-large SIZE    size of the one large file, e.g. 256MiB (default ${S3_FULL.largeBytes / 2 ** 20} MiB, ${S3_SMALL.largeBytes / 2 ** 20} MiB with --small)

Exit status: 0 when every bt target passes, 1 when one fails, 2 on a usage or set-up error.`;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      small: { type: 'boolean', default: false },
      files: { type: 'string' },
      bytes: { type: 'string' },
      big: { type: 'string' },
      seed: { type: 'string', default: '1' },
      workdir: { type: 'string', default: '/tmp/bt-bench' },
      'no-growth': { type: 'boolean', default: false },
      'no-borg': { type: 'boolean', default: false },
      bt: { type: 'string' },
      keep: { type: 'boolean', default: false },
      repeat: { type: 'string', default: '1' },
      's3-only': { type: 'boolean', default: false },
      'no-s3': { type: 'boolean', default: false },
      's3-files': { type: 'string' },
      's3-large': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage());
    process.exit(0);
  }
  const base = values.small ? SMALL : FULL;
  const files = values.files ? Number(values.files) : base.files;
  const bytes = values.bytes ? parseSize(values.bytes) : base.bytes;
  if (!Number.isInteger(files) || files < 1) throw new Error(`bad --files: ${values.files}`);
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`bad --repeat: ${values.repeat}`);
  const main: CorpusParams = { files, bytes, big: values.big ? Number(values.big) : defaultBig(bytes), seed: Number(values.seed) };
  // A quarter of the main corpus, and not a tiny one: a run of one commit (2,000 files or fewer) does without the
  // record worker, and a short run leaves V8's young generation small, so a tiny corpus measures those fixed
  // costs against the large one rather than growth with the number of files.
  const quarter = { files: Math.round(main.files / 4), bytes: Math.round(main.bytes / 4) };
  const growthParams: CorpusParams = { ...quarter, big: defaultBig(quarter.bytes), seed: main.seed };
  const growth = values['no-growth'] || quarter.files < 4 * SMALL.files ? null : growthParams;
  if (values['s3-only'] && values['no-s3']) throw new Error('--s3-only and --no-s3 exclude each other');
  const s3Base = values.small ? S3_SMALL : S3_FULL;
  const s3Files = values['s3-files'] ? Number(values['s3-files']) : s3Base.files;
  const s3Large = values['s3-large'] ? parseSize(values['s3-large']) : s3Base.largeBytes;
  if (!Number.isInteger(s3Files) || s3Files < 1) throw new Error(`bad --s3-files: ${values['s3-files']}`);
  if (s3Large < 8 * 1024 * 1024 + 1) throw new Error(`bad --s3-large: ${values['s3-large']} (more than 8 MiB, so that both sides upload it in parts)`);
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  return {
    main,
    growth,
    workdir: path.resolve(values.workdir!),
    keep: values.keep!,
    borg: !values['no-borg'],
    repeat,
    btBin: path.resolve(values.bt ?? path.join(repoRoot, 'bin', 'bt')),
    corpus: !values['s3-only'],
    s3: values['no-s3'] ? null : { files: s3Files, largeBytes: s3Large },
  };
}

async function checkPrerequisites(opts: Options): Promise<void> {
  await fsp.access(GNU_TIME).catch(() => { throw new Error(`${GNU_TIME} (GNU time) is needed for peak RSS: apt-get install time`); });
  await fsp.access(opts.btBin).catch(() => { throw new Error(`bt not found at ${opts.btBin}: run npm run build`); });
  if (opts.s3 && !s3rverVersion()) throw new Error('s3rver is not installed (a devDependency: npm install); or leave the S3 runs out with --no-s3');
  if (opts.corpus && !(await onPath('restic'))) log('restic is not on PATH (apt-get install restic): bt runs alone and ratio targets are n/a');
}

/** bt, restic and borg (when present) on one corpus, one after the other, each in its own scratch directory. */
async function benchCorpus(params: CorpusParams, opts: Options): Promise<CorpusRun> {
  const corpus = await prepareCorpus(opts.workdir, params);
  const name = path.basename(corpus.dir);
  const context = (tool: string): ToolContext => ({
    corpus,
    workdir: opts.workdir,
    runDir: path.join(opts.workdir, 'run', name, tool),
    logDir: path.join(opts.workdir, 'logs', name),
    keep: opts.keep,
  });
  await discardDir(path.join(opts.workdir, 'logs', name));
  const plans = [btPlan(opts.btBin, context('bt'))];
  if (await onPath('restic')) plans.push(resticPlan(context('restic')));
  if (opts.borg && (await onPath('borg'))) plans.push(borgPlan(context('borg')));
  // Tools take turns within each round, so a burst of load from elsewhere on the machine does not hit one tool only.
  const runs: ToolResult[][] = plans.map(() => []);
  for (let round = 0; round < opts.repeat; round++) {
    if (opts.repeat > 1) log(`round ${round + 1} of ${opts.repeat}`);
    for (const [i, plan] of plans.entries()) runs[i].push(await runTool(plan, context(plan.name)));
  }
  const tools = runs.map(mergeRepeats);
  if (!opts.keep) await discardDir(path.join(opts.workdir, 'run', name));
  const { manifest: _m, ...summary } = corpus;
  return { corpus: summary, tools };
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
    await fsp.mkdir(opts.workdir, { recursive: true });
    await checkPrerequisites(opts);
    await openTrash(opts.workdir);
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n\n${usage()}`);
    return 2;
  }
  const startedAt = new Date();
  // Other work on the machine skews timings; the load averages let a reader judge how quiet the run was.
  const loadBefore = os.loadavg()[0];
  // The quarter corpus goes first: it is quicker and shows a broken bt before the long run.
  const quarter = opts.corpus && opts.growth ? await benchCorpus(opts.growth, opts) : null;
  const full = opts.corpus ? await benchCorpus(opts.main, opts) : null;
  let s3: S3Run | null = null;
  // A set-up error of the S3 runs (the server does not start...) still lets the corpus results be reported.
  let s3Error: string | null = null;
  if (opts.s3) {
    try {
      s3 = await benchS3({ workdir: opts.workdir, btBin: opts.btBin, keep: opts.keep, repeat: opts.repeat, seed: opts.main.seed, ...opts.s3 });
    } catch (err) {
      s3Error = (err as Error).stack ?? (err as Error).message;
      console.error(`bench: S3 runs: ${s3Error}`);
    }
  }

  const sections: string[] = [];
  const checks: Check[] = [];
  if (quarter) sections.push(comparisonTable(quarter).text);
  if (full) {
    const fullTable = comparisonTable(full);
    sections.push(fullTable.text);
    checks.push(...fullTable.checks);
  }
  if (quarter && full) {
    const growth = growthTable(quarter, full);
    sections.push(growth.text);
    checks.push(...growth.checks);
  }
  if (s3Error) sections.push(`S3: not run, set-up error: ${s3Error.split('\n')[0]}`);
  if (s3) {
    const s3Section = s3Table(s3);
    sections.push(s3Section.text);
    checks.push(...s3Section.checks);
  }
  sections.push(`Targets${full ? ` (corpus targets on the ${full.corpus.fileCount}-file corpus)` : ''}\n\n${checksTable(checks)}`);
  const load = `load average ${loadBefore.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end`;
  const machine = `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 1e9).toFixed(1)} GB RAM, node ${process.version}, ${load}`;
  console.log(`\nbt benchmark, ${startedAt.toISOString()}, ${machine}\n\n${sections.join('\n\n')}\n`);

  const resultsPath = path.join(opts.workdir, 'results.json');
  await fsp.writeFile(resultsPath, JSON.stringify({ startedAt, machine, options: opts, runs: [quarter, full].filter(Boolean), s3, s3Error, checks }, null, 2));
  console.log(`results: ${resultsPath}; command output: ${path.join(opts.workdir, 'logs')}`);
  await emptyTrash(opts.workdir);
  if (s3Error) return 2;
  return checks.every((c) => c.pass) ? 0 : 1;
}

process.exitCode = await main();
