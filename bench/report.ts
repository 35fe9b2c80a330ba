// Targets from the issue, checked against the measurements, and the printed tables.
import type { Measurement } from './measure.js';
import type { Phase, ToolResult } from './tools.js';
import type { Corpus } from './corpus.js';
import { formatBytes, formatSeconds } from './util.js';
import { S3_TARGETS, describeStats, type S3Run } from './s3.js';

export const TARGETS = {
  initialRatio: 1.0, // bt initial backup at most restic's time
  unchangedRatio: 0.3, // bt unchanged re-run at most 0.3 of restic's
  restoreRatio: 1.0, // bt restore at most restic's time
  maxRssBytes: 300e6, // bt peak RSS under 300 MB
  helpSeconds: 0.2, // bt --help under 200 ms
  /** "Flat as files grow": bt's peak RSS on the full corpus at most this multiple of that on a quarter of it (4x the files). */
  growthRatio: 1.25,
};

export interface CorpusRun {
  corpus: Omit<Corpus, 'manifest'>;
  tools: ToolResult[];
}

export interface Check {
  name: string;
  value: string;
  target: string;
  pass: boolean;
}

const RATIO_TARGETS: Partial<Record<Phase, number>> = {
  initial: TARGETS.initialRatio,
  unchanged: TARGETS.unchangedRatio,
  restore: TARGETS.restoreRatio,
};

const PHASE_LABELS: Record<Phase, string> = {
  setup: 'setup (config init / repo init)',
  initial: 'initial backup',
  unchanged: 'unchanged re-run',
  restore: 'restore everything',
  help: '--help (median of 5)',
};
const PHASES: Phase[] = ['setup', 'initial', 'unchanged', 'restore', 'help'];

const ok = (m: Measurement | undefined): m is Measurement => m !== undefined && m.exitCode === 0;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const timeCell = (m: Measurement | undefined) => (!m ? '-' : m.exitCode === 0 ? formatSeconds(m.seconds) : `ERROR exit ${m.exitCode}`);
const rssCell = (m: Measurement | undefined) => (m ? mb(m.maxRssBytes) : '-');

function peakRss(t: ToolResult): number {
  return Math.max(...Object.values(t.phases).map((m) => m?.maxRssBytes ?? 0));
}

/** bt's pass/fail for one phase, against restic where the target is a ratio. */
function phaseCheck(phase: Phase, bt: Measurement | undefined, restic: Measurement | undefined): { ratio: string; target: string; result: string } {
  const ratio = ok(bt) && ok(restic) ? bt.seconds / restic.seconds : NaN;
  const ratioText = Number.isNaN(ratio) ? '-' : ratio.toFixed(2);
  const limit = RATIO_TARGETS[phase];
  if (limit !== undefined) {
    if (!ok(bt)) return { ratio: ratioText, target: `<= ${limit}x restic`, result: 'FAIL' };
    if (Number.isNaN(ratio)) return { ratio: ratioText, target: `<= ${limit}x restic`, result: 'n/a' };
    return { ratio: ratioText, target: `<= ${limit}x restic`, result: ratio <= limit ? 'PASS' : 'FAIL' };
  }
  if (phase === 'help') return { ratio: ratioText, target: `< ${TARGETS.helpSeconds * 1000} ms`, result: ok(bt) && bt.seconds < TARGETS.helpSeconds ? 'PASS' : 'FAIL' };
  return { ratio: ratioText, target: '-', result: ok(bt) ? '-' : 'FAIL' };
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function describeCorpus(c: CorpusRun['corpus']): string {
  return `${c.fileCount.toLocaleString('en-US')} files, ${formatBytes(c.totalBytes)} (${c.params.big} files over 100 MB, ${c.duplicates} duplicates)`;
}

/** The main comparison table for one corpus, plus the checks it decided. */
export function comparisonTable(run: CorpusRun): { text: string; checks: Check[] } {
  const bt = run.tools.find((t) => t.tool === 'bt')!;
  const restic = run.tools.find((t) => t.tool === 'restic');
  const others = run.tools.filter((t) => t.tool !== 'bt' && t.tool !== 'restic');
  const header = ['operation', 'bt', 'restic', 'bt/restic', 'target', 'result', 'bt RSS', 'restic RSS', ...others.flatMap((o) => [o.tool, `${o.tool} RSS`])];
  const rows = [header];
  const checks: Check[] = [];
  for (const phase of PHASES) {
    const b = bt.phases[phase];
    const r = restic?.phases[phase];
    const c = phaseCheck(phase, b, r);
    rows.push([PHASE_LABELS[phase], timeCell(b), timeCell(r), c.ratio, c.target, c.result, rssCell(b), rssCell(r), ...others.flatMap((o) => [timeCell(o.phases[phase]), rssCell(o.phases[phase])])]);
    if (c.result === 'PASS' || c.result === 'FAIL') checks.push({ name: PHASE_LABELS[phase], value: c.ratio !== '-' && phase !== 'help' ? `${c.ratio}x` : timeCell(b), target: c.target, pass: c.result === 'PASS' });
  }
  const btPeak = peakRss(bt);
  const rssPass = btPeak < TARGETS.maxRssBytes;
  rows.push(['peak RSS (any operation)', '', '', '', `bt < ${mb(TARGETS.maxRssBytes)}`, rssPass ? 'PASS' : 'FAIL', mb(btPeak), restic ? mb(peakRss(restic)) : '-', ...others.flatMap((o) => ['', mb(peakRss(o))])]);
  checks.push({ name: 'bt peak RSS', value: mb(btPeak), target: `< ${mb(TARGETS.maxRssBytes)}`, pass: rssPass });
  const verified = (t: ToolResult | undefined) => (!t ? '-' : t.verification?.ok ? 'identical' : 'DIFFERS');
  rows.push(['restore byte-identical', verified(bt), verified(restic), '', 'identical', bt.verification?.ok ? 'PASS' : 'FAIL', '', '', ...others.flatMap((o) => [verified(o), ''])]);
  checks.push({ name: 'bt restore identical', value: verified(bt), target: 'identical', pass: bt.verification?.ok === true });
  rows.push(['repository size', formatBytes(bt.storeBytes), restic ? formatBytes(restic.storeBytes) : '-', '', '', '', '', '', ...others.flatMap((o) => [formatBytes(o.storeBytes), ''])]);
  const versions = run.tools.map((t) => `${t.tool}: ${t.version}`).join('; ');
  return { text: `Corpus: ${describeCorpus(run.corpus)}\n${versions}\n\n${table(rows)}`, checks };
}

/** bt's time and peak RSS on the quarter and the full corpus side by side, so growth with corpus size is visible. */
export function growthTable(small: CorpusRun, full: CorpusRun): { text: string; checks: Check[] } {
  const bs = small.tools.find((t) => t.tool === 'bt')!;
  const bf = full.tools.find((t) => t.tool === 'bt')!;
  const rows = [['bt operation', `time (${small.corpus.fileCount} files)`, `time (${full.corpus.fileCount} files)`, 'RSS quarter', 'RSS full', 'RSS full/quarter']];
  for (const phase of ['initial', 'unchanged', 'restore'] as Phase[]) {
    const s = bs.phases[phase], f = bf.phases[phase];
    rows.push([PHASE_LABELS[phase], timeCell(s), timeCell(f), rssCell(s), rssCell(f), s && f ? (f.maxRssBytes / s.maxRssBytes).toFixed(2) : '-']);
  }
  const growth = peakRss(bf) / peakRss(bs);
  rows.push(['peak', '', '', mb(peakRss(bs)), mb(peakRss(bf)), growth.toFixed(2)]);
  const check = { name: 'bt RSS flat as files grow', value: `${growth.toFixed(2)}x`, target: `<= ${TARGETS.growthRatio}x quarter corpus`, pass: growth <= TARGETS.growthRatio };
  return {
    text: `bt peak RSS as the corpus grows (${describeCorpus(small.corpus)} -> ${describeCorpus(full.corpus)})\n\n${table(rows)}`,
    checks: [check],
  };
}

export function checksTable(checks: Check[]): string {
  return table([['target', 'bt', 'required', 'result'], ...checks.map((c) => [c.name, c.value, c.target, c.pass ? 'PASS' : 'FAIL'])]);
}

/** bt against the bare SDK on s3rver: one row per workload, bt's peak RSS, and the restores' verification. */
export function s3Table(run: S3Run): { text: string; checks: Check[] } {
  const rows = [['workload', 'bt', 'SDK baseline', 'bt/SDK', 'target', 'result', 'bt RSS', 'SDK RSS', 'SDK in-script', 'bt restore', 'restore RSS', 'restored']];
  const checks: Check[] = [];
  for (const w of run.workloads) {
    const ratio = ok(w.bt) && ok(w.sdk) ? w.bt.seconds / w.sdk.seconds : NaN;
    const target = `<= ${w.ratioTarget}x SDK`;
    const pass = ok(w.bt) && !Number.isNaN(ratio) && ratio <= w.ratioTarget;
    const result = !ok(w.bt) ? 'FAIL' : Number.isNaN(ratio) ? 'n/a' : pass ? 'PASS' : 'FAIL';
    const verified = !w.verification ? '-' : w.verification.ok ? 'identical' : 'DIFFERS';
    rows.push([w.label, timeCell(w.bt), timeCell(w.sdk), Number.isNaN(ratio) ? '-' : ratio.toFixed(2), target, result, rssCell(w.bt), rssCell(w.sdk),
      w.sdkInScriptSeconds === null ? '-' : formatSeconds(w.sdkInScriptSeconds), timeCell(w.restore ?? undefined), rssCell(w.restore ?? undefined), verified]);
    if (result !== 'n/a') checks.push({ name: `S3 ${w.label}: bt / SDK`, value: Number.isNaN(ratio) ? timeCell(w.bt) : `${ratio.toFixed(2)}x`, target: `${target} (${w.baselineLabel})`, pass });
    checks.push({ name: `S3 ${w.label}: bt restore identical`, value: verified, target: 'identical', pass: w.verification?.ok === true });
  }
  const all = run.workloads.flatMap((w) => [w.bt, ...(w.restore ? [w.restore] : [])]);
  const peak = Math.max(...all.map((m) => m.maxRssBytes));
  const rssPass = peak < S3_TARGETS.maxRssBytes;
  rows.push(['peak RSS (bt, any S3 step)', '', '', '', `< ${mb(S3_TARGETS.maxRssBytes)}`, rssPass ? 'PASS' : 'FAIL', mb(peak), '', '', '', '', '']);
  checks.push({ name: 'S3 bt peak RSS', value: mb(peak), target: `< ${mb(S3_TARGETS.maxRssBytes)}`, pass: rssPass });

  const notes: string[] = [];
  for (const w of run.workloads) {
    const steps = w.btSteps.map((s) => `${s.command.split(' ').slice(1).join(' ')} ${formatSeconds(s.seconds)}`).join(', ');
    notes.push(`${w.label}: SDK = ${w.baselineLabel}; bt steps: ${steps}`);
    const r = w.rounds[Math.floor(w.rounds.length / 2)] ?? w.rounds[0];
    if (r) notes.push(`  requests in the timed run: bt ${describeStats(r.bt.requests)}; SDK ${describeStats(r.sdk.requests)}`);
    if (w.verification && !w.verification.ok) notes.push(`  restore differs: ${JSON.stringify(w.verification)}`);
    for (const [i, x] of w.rounds.entries()) {
      if (w.rounds.length > 1) notes.push(`  round ${i + 1}: bt ${timeCell(x.bt.backup)}, SDK ${timeCell(x.sdk.process)} (ratio ${ok(x.bt.backup) && ok(x.sdk.process) ? (x.bt.backup.seconds / x.sdk.process.seconds).toFixed(2) : '-'})`);
    }
  }
  const repeat = run.repeat > 1 ? `, median of ${run.repeat} runs (highest RSS)` : '';
  const head = `S3: ${run.server} on 127.0.0.1 in a child process; bt and the bare AWS SDK send the same files to fresh buckets${repeat}.\n` +
    'Both sides are timed as whole processes (bt: dir init + add + backup); "SDK in-script" leaves out node and module start-up.';
  return { text: `${head}\n\n${table(rows)}\n\n${notes.join('\n')}`, checks };
}
