import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, NotFoundError, UsageError, VaultError } from '../errors.js';
import { dropVaultHoldings } from '../db/vault-holdings.js';
import { STORAGE_CLASSES, configPath, defaultConfig, isBucketName, isUuid, isVaultName, normalisePrefix, writeConfig, type Config, type S3VaultConfig } from '../config/config.js';
import { createVault } from '../vault/factory.js';
import { displayName, isValidUtf8 } from '../fsmgr/paths.js';
import type { Context } from './context.js';
import type { PathArg } from './locate.js';

/** `bt config init`: write a fresh config and initialise its local vault. */
export async function initConfig(env: NodeJS.ProcessEnv, opts: { hostId?: string; force: boolean }): Promise<{ file: string; config: Config }> {
  const file = configPath(env);
  if (opts.hostId !== undefined && !isUuid(opts.hostId)) throw new UsageError(`invalid --host-id '${opts.hostId}': expected a UUID`);
  if (fs.existsSync(file) && !opts.force) throw new ConfigError(`config ${file} exists: use --force to overwrite it`);
  const config = defaultConfig(env, opts.hostId?.toLowerCase());
  await (await createVault(config.vaults[0]!)).init();
  writeConfig(file, config);
  return { file, config };
}

/** A first run wrote the default config: make its local vault ready too. */
export async function ensureDefaultVault(ctx: Context): Promise<void> {
  if (!ctx.createdConfig) return;
  for (const v of ctx.config.vaults) await (await createVault(v)).init();
}

export function addFsVault(ctx: Context, name: string, dir: PathArg): void {
  if (!isVaultName(name)) throw new UsageError(`invalid vault name '${name}': use letters, digits, '-' and '_'`);
  if (ctx.config.vaults.some((v) => v.name === name)) throw new UsageError(`a vault named '${name}' exists already`);
  const rootBytes = ctx.resolve(dir);
  // bt.toml holds text: a path that is not UTF-8 could only be written there as another path.
  if (!isValidUtf8(rootBytes)) throw new UsageError(`vault path ${displayName(rootBytes)} is not valid UTF-8: bt.toml can hold only text`);
  const root = rootBytes.toString('utf8');
  if (root === '/') throw new UsageError(`refusing to use / as a vault`);
  ctx.saveConfig({ ...ctx.config, vaults: [...ctx.config.vaults, { type: 'fs', name, vault_root: root }] });
}

export interface S3VaultOptions {
  bucket: string;
  prefix?: string;
  metadataBucket?: string;
  metadataPrefix?: string;
  region?: string;
  endpoint?: string;
  pathStyle?: boolean;
  storageClass?: string;
  profile?: string;
  kmsKeyId?: string;
  connections?: number;
}

export function addS3Vault(ctx: Context, name: string, o: S3VaultOptions): void {
  if (!isVaultName(name)) throw new UsageError(`invalid vault name '${name}': use letters, digits, '-' and '_'`);
  if (ctx.config.vaults.some((v) => v.name === name)) throw new UsageError(`a vault named '${name}' exists already`);
  if (!isBucketName(o.bucket)) throw new UsageError(`invalid bucket name '${o.bucket}': 3 to 63 of a-z, 0-9, '.', '-'`);
  if (o.metadataBucket !== undefined && !isBucketName(o.metadataBucket)) throw new UsageError(`invalid metadata bucket name '${o.metadataBucket}'`);
  if (o.endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(o.endpoint)) throw new UsageError(`invalid endpoint '${o.endpoint}': give an http(s) URL`);
  if (o.storageClass !== undefined && !STORAGE_CLASSES.includes(o.storageClass)) throw new UsageError(`unknown storage class '${o.storageClass}': one of ${STORAGE_CLASSES.join(', ')}`);
  if (o.connections !== undefined && (!Number.isInteger(o.connections) || o.connections < 1 || o.connections > 256)) throw new UsageError(`--connections must be a whole number from 1 to 256`);
  const v: S3VaultConfig = {
    type: 's3',
    name,
    content_bucket: o.bucket,
    content_bucket_prefix: normalisePrefix(o.prefix),
    metadata_bucket: o.metadataBucket ?? o.bucket,
    metadata_bucket_prefix: normalisePrefix(o.metadataPrefix ?? o.prefix),
  };
  if (o.kmsKeyId !== undefined) {
    v.content_bucket_key = o.kmsKeyId;
    v.metadata_bucket_key = o.kmsKeyId;
  }
  if (o.region !== undefined) v.region = o.region;
  if (o.endpoint !== undefined) v.endpoint = o.endpoint;
  if (o.pathStyle !== undefined) v.path_style = o.pathStyle;
  if (o.storageClass !== undefined) v.storage_class = o.storageClass;
  if (o.profile !== undefined) v.profile = o.profile;
  if (o.connections !== undefined) v.connections = o.connections;
  ctx.saveConfig({ ...ctx.config, vaults: [...ctx.config.vaults, v] });
}

export function removeVault(ctx: Context, name: string): void {
  if (!ctx.config.vaults.some((v) => v.name === name)) throw new VaultError(`unknown vault '${name}'`);
  // Its records go too: a vault added later under this name may be another one, which they would credit with
  // objects it lacks. Added back, the same vault is found to hold them again by catch-up (a stat per object).
  ctx.takeLock('config vault remove');
  dropVaultHoldings(ctx.db, name);
  ctx.saveConfig({ ...ctx.config, vaults: ctx.config.vaults.filter((v) => v.name !== name) });
}

/** `bt config vault init [NAME]`: create layout and marker, then a write/read/delete round trip. */
export async function initVaults(ctx: Context, name?: string, opts: { createBucket?: boolean } = {}): Promise<string[]> {
  const specs = name === undefined ? ctx.config.vaults : ctx.config.vaults.filter((v) => v.name === name);
  if (name !== undefined && !specs.length) throw new VaultError(`unknown vault '${name}'`);
  if (!specs.length) throw new VaultError(`no vault is configured: add one with 'bt config vault add'`);
  const done: string[] = [];
  for (const spec of specs) {
    if (spec.type === 'fs' && !fs.existsSync(path.dirname(spec.vault_root))) {
      throw new VaultError(`vault '${spec.name}': parent directory does not exist: ${path.dirname(spec.vault_root)}`);
    }
    const v = await createVault(spec);
    try {
      await v.init({ createBucket: opts.createBucket ?? false });
    } finally {
      await v.close();
    }
    done.push(`${spec.name} (${v.location})`);
  }
  return done;
}
