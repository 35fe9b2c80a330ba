// What each tool runs for each benchmark phase, and the runner that executes the phases in an isolated environment.
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { combine, measure, median, type Measurement } from './measure.js';
import { verifyRestore, type Verification } from './verify.js';
import { corpusResidency, warmCorpus, type Corpus } from './corpus.js';
import { log, discardDir, walkFiles, formatSeconds, waitForQuietFilesystem } from './util.js';

const run = promisify(execFile);
const HELP_RUNS = 5;
/** Placeholder in argument lists for the restore target, which is only created when the restore phase starts. */
const TARGET = '{target}';

export type Phase = 'setup' | 'initial' | 'unchanged' | 'restore' | 'help';

/** How one tool does each phase: every phase is a list of commands (argument lists) timed together. */
interface ToolPlan {
  name: string;
  bin: string;
  env: NodeJS.ProcessEnv;
  phases: Record<Exclude<Phase, 'help'>, string[][]>;
  /** Where the restored copy of the corpus ends up below the target (restic and borg keep the absolute path). */
  restoredRoot: (target: string) => string;
  restoreCwd: (target: string) => string;
  /** The repository or vault, measured for its size on disk. */
  storeDir: string;
}

export interface ToolResult {
  tool: string;
  version: string;
  phases: Partial<Record<Phase, Measurement>>;
  verification: Verification | null;
  storeBytes: number;
}

export interface ToolContext {
  corpus: Corpus;
  /** The benchmark's --workdir (probes and trash). */
  workdir: string;
  runDir: string; // scratch space for this tool's home, repository and restore
  logDir: string;
  keep: boolean;
}

/** A fresh HOME and config/cache locations inside runDir, and no inherited BT_/RESTIC_/BORG_ settings. */
export function isolatedEnv(runDir: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(BT_|RESTIC_|BORG_|XDG_)/.test(k)) env[k] = v;
  const home = path.join(runDir, 'home');
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    ...extra,
  };
}

export function btPlan(btBin: string, ctx: ToolContext): ToolPlan {
  const env = isolatedEnv(ctx.runDir, {
    BT_CONFIG: path.join(ctx.runDir, 'home', '.config', 'bt.toml'),
    BT_BASE_DIR: path.join(ctx.runDir, 'base'),
  });
  return {
    name: 'bt',
    bin: btBin,
    env,
    phases: {
      // Writing the config (and the default vault's location) mirrors `restic init`; both are reported, not targeted.
      setup: [['config', 'init']],
      initial: [['dir', 'init'], ['add', '.'], ['backup']],
      unchanged: [['backup', '-a']],
      restore: [['restore', ctx.corpus.dir, '--target', TARGET]],
    },
    restoredRoot: (target) => target,
    restoreCwd: () => ctx.corpus.dir,
    storeDir: path.join(ctx.runDir, 'base', 'vault'),
  };
}

export function resticPlan(ctx: ToolContext): ToolPlan {
  const repo = path.join(ctx.runDir, 'repo');
  return {
    name: 'restic',
    bin: 'restic',
    env: isolatedEnv(ctx.runDir, { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: 'bench-password' }),
    phases: {
      setup: [['init']],
      initial: [['backup', ctx.corpus.dir]],
      unchanged: [['backup', ctx.corpus.dir]],
      restore: [['restore', 'latest', '--target', TARGET]],
    },
    restoredRoot: (target) => path.join(target, ctx.corpus.dir),
    restoreCwd: () => ctx.corpus.dir,
    storeDir: repo,
  };
}

export function borgPlan(ctx: ToolContext): ToolPlan {
  const repo = path.join(ctx.runDir, 'repo');
  return {
    name: 'borg',
    bin: 'borg',
    // BORG_BASE_DIR keeps borg's keys, cache and security dirs in the scratch space.
    env: isolatedEnv(ctx.runDir, { BORG_REPO: repo, BORG_PASSPHRASE: 'bench-password', BORG_BASE_DIR: path.join(ctx.runDir, 'home') }),
    phases: {
      setup: [['init', '--encryption=repokey-blake2']],
      initial: [['create', '::first', ctx.corpus.dir]],
      unchanged: [['create', '::second', ctx.corpus.dir]],
      // borg extracts into the current directory, without the leading slash.
      restore: [['extract', '::second']],
    },
    restoredRoot: (target) => path.join(target, ctx.corpus.dir),
    restoreCwd: (target) => target,
    storeDir: repo,
  };
}

export async function onPath(bin: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${bin}`]);
    return true;
  } catch {
    return false;
  }
}

async function versionOf(plan: ToolPlan): Promise<string> {
  try {
    const { stdout } = await run(plan.bin, ['--version'], { env: plan.env });
    return stdout.trim().split('\n')[0];
  } catch {
    // restic has `restic version` rather than --version.
    const { stdout } = await run(plan.bin, ['version'], { env: plan.env }).catch(() => ({ stdout: 'unknown' }));
    return stdout.trim().split('\n')[0];
  }
}

async function dirBytes(dir: string): Promise<number> {
  const { files } = await walkFiles(dir).catch(() => ({ files: [] }));
  return files.reduce((sum, f) => sum + f.size, 0);
}

/**
 * Write back dirty pages left by corpus generation or the previous tool, untimed: bt syncs its filesystem after
 * writing, and without this it would also pay for other processes' writes.
 */
export async function flushDirtyPages(): Promise<void> {
  await run('sync');
}

/** Run one phase's commands in order, stopping at the first failure, and combine them into one measurement. */
async function runPhase(plan: ToolPlan, ctx: ToolContext, phase: Exclude<Phase, 'help'>, cwd: string, target: string): Promise<Measurement> {
  await flushDirtyPages();
  const parts: Measurement[] = [];
  for (const [i, args] of plan.phases[phase].entries()) {
    const m = await measure({
      label: `${plan.name}-${phase}-${i}`,
      cmd: plan.bin,
      args: args.map((a) => (a === TARGET ? target : a)),
      cwd,
      env: plan.env,
      logDir: ctx.logDir,
    });
    parts.push(m);
    if (m.exitCode !== 0) break;
  }
  const m = combine(parts);
  const status = m.exitCode === 0 ? 'ok' : `FAILED (exit ${m.exitCode}): ${m.outputTail}`;
  log(`${plan.name} ${phase}: ${formatSeconds(m.seconds)}, peak RSS ${(m.maxRssBytes / 1e6).toFixed(0)} MB, ${status}`);
  return m;
}

async function measureHelp(plan: ToolPlan, ctx: ToolContext): Promise<Measurement> {
  const runs: Measurement[] = [];
  for (let i = 0; i < HELP_RUNS; i++) {
    runs.push(await measure({ label: `${plan.name}-help-${i}`, cmd: plan.bin, args: ['--help'], cwd: ctx.runDir, env: plan.env, logDir: ctx.logDir }));
  }
  return median(runs);
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** All phases for one tool: set-up, initial backup, unchanged re-run, full restore (verified), --help. */
export async function runTool(plan: ToolPlan, ctx: ToolContext): Promise<ToolResult> {
  await discardDir(ctx.runDir);
  await fsp.mkdir(path.join(ctx.runDir, 'home'), { recursive: true });
  const result: ToolResult = { tool: plan.name, version: await versionOf(plan), phases: {}, verification: null, storeBytes: 0 };
  const target = path.join(ctx.runDir, 'restore');
  result.phases.setup = await runPhase(plan, ctx, 'setup', ctx.corpus.dir, target);
  // The probe may wait minutes, and a warm-up read fades within one here (see corpusResidency): probe, then warm.
  const probe = await waitForQuietFilesystem(ctx.workdir);
  log(`file creation before ${plan.name}: ${probe.toFixed(0)} us per empty file`);
  await warmCorpus(ctx.corpus);
  const before = await corpusResidency(ctx.corpus);
  result.phases.initial = await runPhase(plan, ctx, 'initial', ctx.corpus.dir, target);
  const after = await corpusResidency(ctx.corpus);
  if (before !== null && after !== null) log(`corpus in the page cache: ${percent(before)} before ${plan.name}'s initial backup, ${percent(after)} after`);
  result.phases.unchanged = await runPhase(plan, ctx, 'unchanged', ctx.corpus.dir, target);
  result.storeBytes = await dirBytes(plan.storeDir);
  await fsp.mkdir(target, { recursive: true });
  result.phases.restore = await runPhase(plan, ctx, 'restore', plan.restoreCwd(target), target);
  result.verification = await verifyRestore(plan.restoredRoot(target), ctx.corpus).catch((err: Error) => ({
    ok: false, files: 0, missing: ctx.corpus.fileCount, extra: 0, mismatched: 0, examples: [err.message],
  }));
  log(`${plan.name} restore verification: ${result.verification.ok ? 'identical' : `DIFFERS ${JSON.stringify(result.verification)}`}`);
  result.phases.help = await measureHelp(plan, ctx);
  // Repositories and restores are as big as the corpus; drop them before the next tool runs.
  if (!ctx.keep) await discardDir(ctx.runDir);
  return result;
}

/** Repeated runs of one tool: the median time of each phase, the highest peak RSS, and any failed verification. */
export function mergeRepeats(runs: ToolResult[]): ToolResult {
  const phases: Partial<Record<Phase, Measurement>> = {};
  for (const phase of Object.keys(runs[0].phases) as Phase[]) {
    const all = runs.map((r) => r.phases[phase]).filter((m): m is Measurement => m !== undefined);
    const failed = all.find((m) => m.exitCode !== 0);
    phases[phase] = { ...(failed ?? median(all)), maxRssBytes: Math.max(...all.map((m) => m.maxRssBytes)) };
  }
  const verification = runs.map((r) => r.verification).find((v) => !v?.ok) ?? runs[0].verification;
  return { ...runs[0], phases, verification };
}
