import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, NotFoundError, UsageError, VaultError } from '../errors.js';
import { configPath, defaultConfig, isUuid, isVaultName, writeConfig, type Config } from '../config/config.js';
import { createVault } from '../vault/factory.js';
import type { Context } from './context.js';

/** `bt config init`: write a fresh config and initialise its local vault. */
export async function initConfig(env: NodeJS.ProcessEnv, opts: { hostId?: string; force: boolean }): Promise<{ file: string; config: Config }> {
  const file = configPath(env);
  if (opts.hostId !== undefined && !isUuid(opts.hostId)) throw new UsageError(`invalid --host-id '${opts.hostId}': expected a UUID`);
  if (fs.existsSync(file) && !opts.force) throw new ConfigError(`config ${file} exists: use --force to overwrite it`);
  const config = defaultConfig(env, opts.hostId?.toLowerCase());
  await createVault(config.vaults[0]!).init();
  writeConfig(file, config);
  return { file, config };
}

/** A first run wrote the default config: make its local vault ready too. */
export async function ensureDefaultVault(ctx: Context): Promise<void> {
  if (!ctx.createdConfig) return;
  for (const v of ctx.config.vaults) await createVault(v).init();
}

export function addFsVault(ctx: Context, name: string, dir: string): void {
  if (!isVaultName(name)) throw new UsageError(`invalid vault name '${name}': use letters, digits, '-' and '_'`);
  if (ctx.config.vaults.some((v) => v.name === name)) throw new UsageError(`a vault named '${name}' exists already`);
  const root = ctx.resolve(dir);
  if (path.resolve(root) === '/') throw new UsageError(`refusing to use / as a vault`);
  ctx.saveConfig({ ...ctx.config, vaults: [...ctx.config.vaults, { type: 'fs', name, vault_root: root }] });
}

export function removeVault(ctx: Context, name: string): void {
  if (!ctx.config.vaults.some((v) => v.name === name)) throw new NotFoundError(`unknown vault '${name}'`);
  ctx.saveConfig({ ...ctx.config, vaults: ctx.config.vaults.filter((v) => v.name !== name) });
}

/** `bt config vault init [NAME]`: create layout and marker, then a write/read/delete round trip. */
export async function initVaults(ctx: Context, name?: string): Promise<string[]> {
  const specs = name === undefined ? ctx.config.vaults : ctx.config.vaults.filter((v) => v.name === name);
  if (name !== undefined && !specs.length) throw new VaultError(`unknown vault '${name}'`);
  if (!specs.length) throw new VaultError(`no vault is configured: add one with 'bt config vault add'`);
  const done: string[] = [];
  for (const spec of specs) {
    if (spec.type === 'fs' && !fs.existsSync(path.dirname(spec.vault_root))) {
      throw new VaultError(`vault '${spec.name}': parent directory does not exist: ${path.dirname(spec.vault_root)}`);
    }
    const v = createVault(spec);
    await v.init();
    done.push(`${spec.name} (${v.location})`);
  }
  return done;
}
