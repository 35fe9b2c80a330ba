import { Context, type ContextOptions } from './context.js';
import { ensureDefaultVault, addFsVault, addS3Vault, removeVault, initVaults, type S3VaultOptions } from './config-admin.js';
import { addDirectory, removeDirectory, listDirectories } from './directories.js';
import { stagePaths } from './stage.js';
import { runBackup } from './backup.js';
import { getStatus, type StatusSink } from './status.js';
import { getFileHistory } from './history.js';
import { restore, type RestoreOptions } from './restore.js';
import { listHosts, recoverHost } from './recover.js';
import { appendRunLog } from './runlog.js';
import { syncVaults } from './sync.js';
import type { PathArg } from './locate.js';

/** The orchestration layer the CLI talks to: one instance per command run. */
export class BtService {
  private constructor(readonly ctx: Context) {}

  static async open(opts: ContextOptions): Promise<BtService> {
    const ctx = Context.load(opts);
    await ensureDefaultVault(ctx);
    return new BtService(ctx);
  }

  get config() {
    return this.ctx.config;
  }
  get configFile() {
    return this.ctx.configFile;
  }

  /** The working directory, as bytes. */
  get cwd(): Buffer {
    return this.ctx.cwd;
  }

  addDirectory(p: PathArg) {
    this.ctx.takeLock('dir init');
    return addDirectory(this.ctx, p);
  }
  removeDirectory(p: PathArg) {
    this.ctx.takeLock('dir remove');
    return removeDirectory(this.ctx, p);
  }
  listDirectories() {
    return listDirectories(this.ctx);
  }
  async stage(paths: PathArg[]) {
    this.ctx.takeLock('add');
    const counts = await stagePaths(this.ctx, paths);
    this.ctx.runDetails = { ...counts };
    return counts;
  }
  backup(opts: { all: boolean }) {
    return runBackup(this.ctx, opts);
  }
  status(p: PathArg | undefined, sink: StatusSink) {
    return getStatus(this.ctx, p, sink);
  }
  history(p: PathArg) {
    return getFileHistory(this.ctx, p);
  }
  async restore(p: PathArg, opts: RestoreOptions) {
    const r = await restore(this.ctx, p, opts);
    this.ctx.runDetails = { kind: r.kind, files: r.files, bytes: r.bytes };
    return r;
  }
  listHosts(vault?: string) {
    return listHosts(this.ctx, vault);
  }
  recover(opts: { hostId: string; vault?: string; at?: string; force: boolean }) {
    return recoverHost(this.ctx, opts);
  }
  addFsVault(name: string, dir: PathArg) {
    addFsVault(this.ctx, name, dir);
  }
  addS3Vault(name: string, o: S3VaultOptions) {
    addS3Vault(this.ctx, name, o);
  }
  removeVault(name: string) {
    removeVault(this.ctx, name);
  }
  syncVaults(name?: string) {
    return syncVaults(this.ctx, name);
  }
  initVaults(name?: string, opts: { createBucket?: boolean } = {}) {
    return initVaults(this.ctx, name, opts);
  }

  /** Append this run's one line to the run log: the command, how it ended, and what it did. */
  logRun(command: string, exitCode: number, startedAt: number, error?: string): void {
    appendRunLog(this.ctx, {
      command, status: error ? 'failed' : exitCode === 0 ? 'ok' : 'partial', exit_code: exitCode, duration_ms: Date.now() - startedAt,
      ...(error ? { error } : {}), ...this.ctx.runDetails,
    });
  }

  close(): Promise<void> {
    return this.ctx.close();
  }
}
