import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { parse, stringify, TomlError } from 'smol-toml';
import { ConfigError, describeSystemError } from '../errors.js';
import { writeFileAtomic } from '../fsmgr/atomic.js';

export interface FsVaultConfig {
  type: 'fs';
  name: string;
  vault_root: string;
}

export type VaultConfig = FsVaultConfig;

export interface Config {
  host_id: string;
  base_dir: string;
  log_dir: string;
  data_dir: string;
  staging_dir: string;
  ignore_list: string[];
  /** How many metadata versions each vault keeps per host. */
  metadata_keep: number;
  vaults: VaultConfig[];
}

export const DEFAULT_IGNORE = ['.DS_Store', 'Thumbs.db', '*.swp', '*~', '.bt-tmp-*'];
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BT_CONFIG) return path.resolve(env.BT_CONFIG);
  const xdg = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(homeDir(env), '.config');
  return path.join(xdg, 'bt.toml');
}

function homeDir(env: NodeJS.ProcessEnv): string {
  return env.HOME || os.homedir();
}

export function defaultConfig(env: NodeJS.ProcessEnv = process.env, hostId?: string): Config {
  const base = env.BT_BASE_DIR ? path.resolve(env.BT_BASE_DIR) : path.join(homeDir(env), 'data', 'bt');
  return {
    host_id: hostId ?? crypto.randomUUID(),
    base_dir: base,
    log_dir: path.join(base, 'log'),
    data_dir: path.join(base, 'data'),
    staging_dir: path.join(base, 'staging'),
    ignore_list: [...DEFAULT_IGNORE],
    metadata_keep: 30,
    vaults: [{ type: 'fs', name: 'local', vault_root: path.join(base, 'vault') }],
  };
}

export function writeConfig(file: string, config: Config): void {
  const doc: Record<string, unknown> = {
    host_id: config.host_id,
    base_dir: config.base_dir,
    log_dir: config.log_dir,
    data_dir: config.data_dir,
    staging_dir: config.staging_dir,
    ignore_list: config.ignore_list,
    metadata_keep: config.metadata_keep,
    vaults: config.vaults,
  };
  const text = '# bt configuration; see `bt config list`.\n' + stringify(doc) + '\n';
  try {
    writeFileAtomic(file, text, 0o600);
  } catch (err) {
    throw new ConfigError(`cannot write config ${file}: ${describeSystemError(err)}`);
  }
}

export function readConfig(file: string): Config {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config ${file}: ${describeSystemError(err)}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/, '');
      throw new ConfigError(`malformed config ${file} line ${err.line}: ${first}`);
    }
    throw new ConfigError(`malformed config ${file}: ${(err as Error).message}`);
  }
  return validateConfig(file, text, doc);
}

function lineOf(text: string, key: string): string {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => new RegExp(`^\\s*${key}\\s*=`).test(l));
  return i >= 0 ? ` line ${i + 1}` : '';
}

function validateConfig(file: string, text: string, doc: Record<string, unknown>): Config {
  const bad = (key: string, why: string): never => {
    throw new ConfigError(`invalid config ${file}${lineOf(text, key)}: ${key} ${why}`);
  };
  const str = (key: string): string => {
    const v = doc[key];
    if (typeof v !== 'string' || v === '') bad(key, 'must be a non-empty string');
    return v as string;
  };
  const absPath = (key: string): string => {
    const v = str(key);
    if (!path.isAbsolute(v)) bad(key, 'must be an absolute path');
    return path.resolve(v);
  };
  const hostId = str('host_id');
  if (!isUuid(hostId)) bad('host_id', `is not a UUID: ${hostId}`);
  const ignore = doc.ignore_list ?? [];
  if (!Array.isArray(ignore) || ignore.some((p) => typeof p !== 'string')) bad('ignore_list', 'must be a list of strings');
  const keep = doc.metadata_keep ?? 30;
  if (typeof keep !== 'number' || !Number.isInteger(keep) || keep < 1) bad('metadata_keep', 'must be a whole number of 1 or more');
  const rawVaults = doc.vaults ?? [];
  if (!Array.isArray(rawVaults)) bad('vaults', 'must be an array of tables ([[vaults]])');
  const vaults: VaultConfig[] = [];
  const names = new Set<string>();
  for (const v of rawVaults as Record<string, unknown>[]) {
    const name = v?.name;
    if (typeof name !== 'string' || !isVaultName(name)) bad('name', `of a vault must be letters, digits, '-' or '_': ${String(name)}`);
    if (names.has(name as string)) bad('name', `'${name}' is used by two vaults`);
    names.add(name as string);
    if (v.type === 'fs') {
      if (typeof v.vault_root !== 'string' || !path.isAbsolute(v.vault_root)) bad('vault_root', `of vault '${name}' must be an absolute path`);
      vaults.push({ type: 'fs', name: name as string, vault_root: path.resolve(v.vault_root as string) });
    } else {
      bad('type', `of vault '${name}' is unknown: ${String(v.type)}`);
    }
  }
  return {
    host_id: hostId.toLowerCase(),
    base_dir: absPath('base_dir'),
    log_dir: absPath('log_dir'),
    data_dir: absPath('data_dir'),
    staging_dir: absPath('staging_dir'),
    ignore_list: ignore as string[],
    metadata_keep: keep as number,
    vaults,
  };
}

export function isVaultName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(name);
}
