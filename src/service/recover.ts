import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { BtError, ExitCode, NotFoundError, UsageError, VaultError } from '../errors.js';
import { isUuid } from '../config/config.js';
import { DB_FILE, integrityCheck } from '../db/database.js';
import type { Vault } from '../vault/vault.js';
import type { Context } from './context.js';
import { dbVersions, readHostInfo, timeOfName, type HostInfo } from './metadata.js';
import { parseAt, isoFromMs } from './time.js';
import { makeDirs } from '../util/make-dirs.js';

export interface HostListing extends HostInfo {
  vault: string;
  versions: number;
}

async function chosenVaults(ctx: Context, name?: string): Promise<Vault[]> {
  if (name !== undefined) {
    const v = await ctx.vault(name);
    await v.open();
    return [v];
  }
  return ctx.vaults();
}

/** `bt recover --list`: the hosts whose metadata the vault(s) hold. */
export async function listHosts(ctx: Context, vaultName?: string): Promise<HostListing[]> {
  const out: HostListing[] = [];
  makeDirs(ctx.config.data_dir);
  for (const v of await chosenVaults(ctx, vaultName)) {
    for (const hostId of await v.listHosts()) {
      const versions = dbVersions(await v.listMetadata(hostId));
      const info = await readHostInfo(v, hostId, ctx.config.data_dir);
      out.push({
        vault: v.name,
        versions: versions.length,
        host_id: hostId,
        hostname: info?.hostname ?? '?',
        directories: info?.directories ?? [],
        last_backup_at: info?.last_backup_at ?? null,
        uploaded_at: info?.uploaded_at ?? '',
      });
    }
  }
  return out;
}

export interface RecoverResult {
  hostId: string;
  vault: string;
  version: string;
  directories: string[];
  snapshots: number;
}

/**
 * `bt recover --host-id ID`: fetch that host's metadata (latest, or the last
 * before --at) into the local database and take on its host_id.
 */
export async function recoverHost(ctx: Context, opts: { hostId: string; vault?: string; at?: string; force: boolean }): Promise<RecoverResult> {
  const hostId = opts.hostId.toLowerCase();
  if (!isUuid(hostId)) throw new UsageError(`invalid host id '${opts.hostId}': expected a UUID (see 'bt recover --list')`);
  ctx.takeLock('recover');
  const at = opts.at !== undefined ? parseAt(opts.at) : null;
  const local = ctx.db;
  if (!opts.force && local.countSnapshots() > 0) {
    throw new BtError(`the local database already holds backups (${local.file}): use --force to replace it`, ExitCode.usage);
  }
  if (!opts.force && !ctx.staging.isEmpty()) throw new BtError(`files are staged for backup on this host: back them up or use --force`, ExitCode.usage);

  let chosen: { vault: Vault; name: string } | null = null;
  const seen: string[] = [];
  for (const v of await chosenVaults(ctx, opts.vault)) {
    const versions = dbVersions(await v.listMetadata(hostId)).filter((n) => at === null || timeOfName(n)! <= at);
    if (versions.length) {
      const name = versions[versions.length - 1]!;
      if (!chosen || name > chosen.name) chosen = { vault: v, name };
    }
    seen.push(v.name);
  }
  if (!chosen) {
    if (at !== null) throw new NotFoundError(`no metadata of host ${hostId} from before ${opts.at} in vault ${seen.join(', ')}`);
    throw new NotFoundError(`vault ${seen.join(', ')} holds no metadata for host ${hostId} (see 'bt recover --list')`);
  }

  const dataDir = ctx.config.data_dir;
  const tmpGz = path.join(dataDir, `.recover-${crypto.randomBytes(4).toString('hex')}.gz`);
  const tmpDb = path.join(dataDir, `.recover-${crypto.randomBytes(4).toString('hex')}.sqlite3`);
  try {
    await chosen.vault.getMetadata(hostId, chosen.name, tmpGz);
    await pipeline(fs.createReadStream(tmpGz), zlib.createGunzip(), fs.createWriteStream(tmpDb));
    // Check it opens and migrate it before it replaces anything.
    try {
      integrityCheck(tmpDb);
    } catch (err) {
      throw new VaultError(`metadata ${chosen.name} of host ${hostId} in vault '${chosen.vault.name}' is not a valid database: ${(err as Error).message}`);
    }
    ctx.closeDatabase();
    const live = path.join(dataDir, DB_FILE);
    for (const suffix of ['-wal', '-shm']) fs.rmSync(live + suffix, { force: true });
    fs.renameSync(tmpDb, live);
    const db = ctx.db; // reopens and migrates
    db.setMeta('metadata_dirty', '0');
    db.setMeta('recovered_from', JSON.stringify({ vault: chosen.vault.name, version: chosen.name, at: isoFromMs(Date.now()) }));
    const snapshots = db.countSnapshots();
    const directories = db.listDirectories().map((d) => d.path);
    ctx.saveConfig({ ...ctx.config, host_id: hostId });
    if (opts.force) ctx.staging.discardAll();
    return { hostId, vault: chosen.vault.name, version: chosen.name, directories, snapshots };
  } finally {
    fs.rmSync(tmpGz, { force: true });
    fs.rmSync(tmpDb, { force: true });
  }
}
