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

/** The design's S3VaultConfig: the *_key fields are optional SSE-KMS key ids. Credentials never live here. */
export interface S3VaultConfig {
  type: 's3';
  name: string;
  content_bucket: string;
  content_bucket_prefix: string;
  content_bucket_key?: string;
  metadata_bucket: string;
  metadata_bucket_prefix: string;
  metadata_bucket_key?: string;
  region?: string;
  endpoint?: string;
  path_style?: boolean;
  storage_class?: string;
  profile?: string;
  connections?: number;
}

export type VaultConfig = FsVaultConfig | S3VaultConfig;

export const STORAGE_CLASSES = ['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'EXPRESS_ONEZONE'];

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

/**
 * " line N" for where `key` is set (as `key =`, `"key" =` or a `[key]`
 * table), within the `vault`-th [[vaults]] table when given; "" when not found.
 */
function lineOf(text: string, key: string, vault?: number): string {
  const lines = text.split('\n');
  const k = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const sets = new RegExp(`^\\s*(?:${k}|"${k}"|'${k}')\\s*=|^\\s*\\[\\[?\\s*(?:${k}|"${k}"|'${k}')\\s*[\\].]`);
  let from = 0;
  let to = lines.length;
  if (vault !== undefined) {
    const starts = lines.flatMap((l, i) => (/^\s*\[\[\s*vaults\s*\]\]/.test(l) ? [i] : []));
    if (starts[vault] === undefined) return '';
    from = starts[vault]! + 1;
    const next = lines.findIndex((l, i) => i >= from && /^\s*\[/.test(l));
    if (next >= 0) to = next;
  }
  for (let i = from; i < to; i++) if (sets.test(lines[i]!)) return ` line ${i + 1}`;
  return '';
}

const TOP_KEYS = ['host_id', 'base_dir', 'log_dir', 'data_dir', 'staging_dir', 'ignore_list', 'metadata_keep', 'vaults'] as const;
const FS_VAULT_KEYS = ['type', 'name', 'vault_root'] as const;
const S3_VAULT_KEYS = [
  'type', 'name', 'content_bucket', 'content_bucket_prefix', 'content_bucket_key', 'metadata_bucket', 'metadata_bucket_prefix', 'metadata_bucket_key',
  'region', 'endpoint', 'storage_class', 'profile', 'path_style', 'connections',
] as const;

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
  // A misspelt key would otherwise be a setting silently not applied.
  const unknown = (keys: string[], known: readonly string[], where: string, complain = bad) => {
    const k = keys.find((x) => !known.includes(x));
    if (k !== undefined) complain(k, `is not a setting bt knows${where} (known: ${known.join(', ')})`);
  };
  unknown(Object.keys(doc), TOP_KEYS, '');
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
  for (const [at, v] of (rawVaults as Record<string, unknown>[]).entries()) {
    // A vault's keys are looked for in its own [[vaults]] table, not in the first table that sets the same key.
    const bad = (key: string, why: string): never => {
      throw new ConfigError(`invalid config ${file}${lineOf(text, key, at)}: ${key} ${why}`);
    };
    const name = v?.name;
    if (typeof name !== 'string' || !isVaultName(name)) bad('name', `of a vault must be letters, digits, '-' or '_': ${String(name)}`);
    if (names.has(name as string)) bad('name', `'${name}' is used by two vaults`);
    names.add(name as string);
    if (v.type === 'fs' || v.type === 's3') unknown(Object.keys(v), v.type === 'fs' ? FS_VAULT_KEYS : S3_VAULT_KEYS, ` in vault '${name}'`, bad);
    if (v.type === 'fs') {
      if (typeof v.vault_root !== 'string' || !path.isAbsolute(v.vault_root)) bad('vault_root', `of vault '${name}' must be an absolute path`);
      vaults.push({ type: 'fs', name: name as string, vault_root: path.resolve(v.vault_root as string) });
    } else if (v.type === 's3') {
      vaults.push(validateS3(v, name as string, bad));
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

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function isBucketName(b: string): boolean {
  return BUCKET_RE.test(b);
}

/** A prefix is used as given, with a trailing slash added so that keys never run into the prefix's last word. */
export function normalisePrefix(p: string | undefined): string {
  if (!p) return '';
  const trimmed = p.replace(/^\/+/, '');
  return trimmed === '' || trimmed.endsWith('/') ? trimmed : trimmed + '/';
}

function validateS3(v: Record<string, unknown>, name: string, bad: (key: string, why: string) => never): S3VaultConfig {
  const optStr = (key: string): string | undefined => {
    const x = v[key];
    if (x === undefined) return undefined;
    if (typeof x !== 'string') bad(key, `of vault '${name}' must be a string`);
    return x as string;
  };
  const bucket = optStr('content_bucket');
  if (!bucket || !isBucketName(bucket)) bad('content_bucket', `of vault '${name}' must be a bucket name (3 to 63 of a-z, 0-9, '.', '-')`);
  const metaBucket = optStr('metadata_bucket') ?? bucket!;
  if (!isBucketName(metaBucket)) bad('metadata_bucket', `of vault '${name}' must be a bucket name`);
  const endpoint = optStr('endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) bad('endpoint', `of vault '${name}' must be an http(s) URL`);
  const storage = optStr('storage_class');
  if (storage !== undefined && !STORAGE_CLASSES.includes(storage)) bad('storage_class', `of vault '${name}' must be one of ${STORAGE_CLASSES.join(', ')}`);
  const conns = v.connections;
  if (conns !== undefined && (typeof conns !== 'number' || !Number.isInteger(conns) || conns < 1 || conns > 256)) bad('connections', `of vault '${name}' must be a whole number from 1 to 256`);
  if (v.path_style !== undefined && typeof v.path_style !== 'boolean') bad('path_style', `of vault '${name}' must be true or false`);
  const out: S3VaultConfig = {
    type: 's3',
    name,
    content_bucket: bucket!,
    content_bucket_prefix: normalisePrefix(optStr('content_bucket_prefix')),
    metadata_bucket: metaBucket,
    metadata_bucket_prefix: normalisePrefix(optStr('metadata_bucket_prefix') ?? optStr('content_bucket_prefix')),
  };
  const copy = { content_bucket_key: optStr('content_bucket_key'), metadata_bucket_key: optStr('metadata_bucket_key'), region: optStr('region'), endpoint, storage_class: storage, profile: optStr('profile') };
  for (const [k, x] of Object.entries(copy)) if (x !== undefined) (out as unknown as Record<string, unknown>)[k] = x;
  if (v.path_style !== undefined) out.path_style = v.path_style as boolean;
  if (conns !== undefined) out.connections = conns as number;
  return out;
}

/** Where a configured vault is, for messages and listings. */
export function vaultLocation(v: VaultConfig): string {
  if (v.type === 'fs') return v.vault_root;
  const where = `s3://${v.content_bucket}/${v.content_bucket_prefix}`;
  return v.endpoint ? `${where} at ${v.endpoint}` : where;
}
