import fs from 'node:fs';
import path from 'node:path';
import { configPath, defaultConfig, readConfig, vaultLocation, writeConfig, type Config } from '../config/config.js';
import { Database } from '../db/database.js';
import { StagingArea } from '../staging/staging-area.js';
import { isNegation, readBtignore } from '../fsmgr/ignore.js';
import { resolveBytes } from '../fsmgr/paths.js';
import { acquireLock, type HostLock } from '../fsmgr/lock.js';
import type { VaultSpec } from '../vault/factory.js';
import { VaultError } from '../errors.js';
import type { Reporter } from './reporter.js';

export interface ContextOptions {
  env: NodeJS.ProcessEnv;
  /** The working directory; by default the process's, read as bytes when first needed. */
  cwd?: string | Buffer;
  reporter: Reporter;
}

/** The working directory's bytes: process.cwd() decodes them as UTF-8, turning bytes that are not into U+FFFD. */
function workingDirectory(): Buffer {
  return fs.realpathSync.native('.', { encoding: 'buffer' });
}

/**
 * What one command run needs: the config (created with defaults on a first
 * run), and the database, staging area and vaults, each opened on first use.
 */
export class Context {
  readonly configFile: string;
  config: Config;
  readonly env: NodeJS.ProcessEnv;
  private cwdBytes: Buffer | null;
  readonly reporter: Reporter;
  private database: Database | null = null;
  private lock: HostLock | null = null;

  private constructor(configFile: string, config: Config, opts: ContextOptions) {
    this.configFile = configFile;
    this.config = config;
    this.env = opts.env;
    this.cwdBytes = opts.cwd === undefined ? null : Buffer.from(opts.cwd);
    this.reporter = opts.reporter;
  }

  static load(opts: ContextOptions): Context {
    const file = configPath(opts.env);
    if (!fs.existsSync(file)) {
      const config = defaultConfig(opts.env);
      writeConfig(file, config);
      opts.reporter.info(`bt: created default config ${file} (vault 'local' at ${vaultLocation(config.vaults[0]!)})`);
      const ctx = new Context(file, config, opts);
      ctx.createdConfig = true;
      return ctx;
    }
    return new Context(file, readConfig(file), opts);
  }

  /** What the running command did, for its line in the run log. */
  runDetails: Record<string, unknown> = {};

  /** True when this run wrote the default config; the default vault is then initialised by the caller. */
  createdConfig = false;

  saveConfig(config: Config): void {
    writeConfig(this.configFile, config);
    this.config = config;
  }

  get db(): Database {
    if (!this.database) this.database = new Database(this.config.data_dir);
    return this.database;
  }

  get staging(): StagingArea {
    return new StagingArea(this.config.staging_dir);
  }

  private readonly patternsByRoot = new Map<string, string[]>();
  private ignoreListChecked = false;

  /**
   * Ignore patterns of one tracked directory: the config's list plus its
   * .btignore (compiled by whoever walks). Read once per command, so that
   * `bt add a b` warns of a skipped pattern once, not once per path walked.
   */
  ignorePatterns(root: string): string[] {
    const known = this.patternsByRoot.get(root);
    if (known) return known;
    if (!this.ignoreListChecked) {
      this.warnNegations('ignore_list', this.config.ignore_list);
      this.ignoreListChecked = true;
    }
    const fromFile = readBtignore(root);
    this.warnNegations(path.join(root, '.btignore'), fromFile);
    const patterns = [...this.config.ignore_list, ...fromFile];
    this.patternsByRoot.set(root, patterns);
    return patterns;
  }

  private warnNegations(source: string, patterns: string[]): void {
    for (const p of patterns.filter(isNegation)) this.reporter.warn(`ignore pattern '${p}' in ${source} skipped: negation ('!') is not supported`);
  }

  /**
   * Absolute paths a walk never enters: bt's base directory as configured
   * and as it really is, since tracked directories are kept by their real
   * path and a base_dir reached through a symlink would otherwise be walked
   * (and the vault would back itself up).
   */
  get excludedPaths(): string[] {
    return [...new Set([this.config.base_dir, realPathOf(this.config.base_dir)])];
  }

  /** The configured vault of this name, or an error naming the configured ones. */
  vaultSpec(name: string): VaultSpec {
    const spec = this.config.vaults.find((v) => v.name === name);
    if (!spec) throw new VaultError(`unknown vault '${name}' (configured: ${this.config.vaults.map((v) => v.name).join(', ') || 'none'})`);
    return spec;
  }

  closeDatabase(): void {
    this.database?.close();
    this.database = null;
  }

  takeLock(command: string): void {
    if (this.lock) return;
    this.lock = acquireLock(this.config.base_dir, command, (msg) => this.reporter.warn(msg));
  }

  get cwd(): Buffer {
    this.cwdBytes ??= workingDirectory();
    return this.cwdBytes;
  }

  /** A user-given path made absolute, as bytes (it may name a file whose name is not UTF-8). */
  resolve(p: string | Buffer): Buffer {
    return resolveBytes(this.cwd, p);
  }

  async close(): Promise<void> {
    try {
      this.database?.close();
      this.database = null;
    } finally {
      this.lock?.release();
      this.lock = null;
    }
  }
}

/** The path with its symlinks resolved, as far as it exists (a base_dir not made yet keeps its missing tail). */
export function realPathOf(p: string): string {
  const rest: string[] = [];
  for (let at = path.resolve(p); ; at = path.dirname(at)) {
    try {
      return path.join(fs.realpathSync(at), ...rest);
    } catch {
      if (at === path.dirname(at)) return p;
      rest.unshift(path.basename(at));
    }
  }
}
