import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { BtError, ExitCode, IoError, NotFoundError, UsageError, VaultError } from '../errors.js';
import { isUuid } from '../config/config.js';
import { DB_FILE, Database, integrityCheck } from '../db/database.js';
import type { Vault } from '../vault/vault.js';
import type { Context } from './context.js';
import { dbVersions, readHostInfo, timeOfName, type HostInfo } from './metadata.js';
import { parseAt, isoFromMs } from './time.js';
import { makeDirs } from '../util/make-dirs.js';
import { VaultSet } from './vault-set.js';
import { verifyHoldings, type HoldingsReport } from './recover-holdings.js';
import { freshWorkDir } from './work-dirs.js';

export interface HostListing extends HostInfo {
  vault: string;
  versions: number;
}

/**
 * The vaults to read host metadata from: the one named (its failure is the
 * error), or every configured one that opens, with a warning for each that
 * does not; an error only when none opens.
 */
async function metadataVaults(ctx: Context, name?: string): Promise<VaultSet> {
  if (name === undefined) return VaultSet.open(ctx.config.vaults, ctx.reporter);
  return VaultSet.open([ctx.vaultSpec(name)], ctx.reporter, name);
}

/**
 * Run `fn` on each working vault of the set. When the vaults were not named,
 * one whose reading fails (a VaultError) is set aside with a warning and the
 * others go on; the run fails only when none is left.
 */
async function eachVault(vaults: VaultSet, named: boolean, fn: (v: Vault) => Promise<void>): Promise<void> {
  for (const v of vaults.up) {
    try {
      await fn(v);
    } catch (err) {
      if (named || !(err instanceof VaultError)) throw err;
      vaults.markDown(v.name, err);
    }
  }
  vaults.requireOne();
}

/** `bt recover --list`: the hosts whose metadata the vault(s) hold. */
export async function listHosts(ctx: Context, vaultName?: string): Promise<HostListing[]> {
  const out: HostListing[] = [];
  makeDirs(ctx.config.data_dir);
  const vaults = await metadataVaults(ctx, vaultName);
  try {
    await eachVault(vaults, vaultName !== undefined, async (v) => {
      const found: HostListing[] = []; // a vault that fails part way adds none of its hosts
      for (const hostId of await v.listHosts()) {
        const versions = dbVersions(await v.listMetadata(hostId));
        const info = await readHostInfo(v, hostId, ctx.config.data_dir);
        found.push({
          vault: v.name,
          versions: versions.length,
          host_id: hostId,
          hostname: info?.hostname ?? '?',
          directories: info?.directories ?? [],
          last_backup_at: info?.last_backup_at ?? null,
          uploaded_at: info?.uploaded_at ?? '',
        });
      }
      out.push(...found);
    });
  } finally {
    await vaults.close();
  }
  return out;
}

export interface RecoverResult {
  hostId: string;
  vault: string;
  version: string;
  directories: string[];
  snapshots: number;
  /** What each of this machine's vaults was found to hold of the host's content. */
  holdings: HoldingsReport;
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

  const vaults = await metadataVaults(ctx, opts.vault);
  try {
    let chosen = null as Chosen | null; // set in the callback: no narrowing to null
    const seen: string[] = [];
    await eachVault(vaults, opts.vault !== undefined, async (v) => {
      const versions = dbVersions(await v.listMetadata(hostId)).filter((n) => at === null || timeOfName(n)! <= at);
      if (versions.length) {
        const name = versions[versions.length - 1]!;
        if (!chosen || name > chosen.name) chosen = { vault: v, name };
      }
      seen.push(v.name);
    });
    if (!chosen) {
      if (at !== null) throw new NotFoundError(`no metadata of host ${hostId} from before ${opts.at} in vault ${seen.join(', ')}`);
      throw new NotFoundError(`vault ${seen.join(', ')} holds no metadata for host ${hostId} (see 'bt recover --list')`);
    }
    return await install(ctx, hostId, chosen, opts.force);
  } finally {
    await vaults.close();
  }
}

interface Chosen {
  vault: Vault;
  /** The metadata version: db-<UTC time>.sqlite3.gz */
  name: string;
}

/**
 * Download the chosen database into a work directory, check it, migrate
 * it, make its records of which vault holds what true for this machine's
 * vaults, and only then move it over the local database: a failure or a
 * kill at any step before the rename leaves the local database as it was.
 */
async function install(ctx: Context, hostId: string, chosen: Chosen, force: boolean): Promise<RecoverResult> {
  const dataDir = ctx.config.data_dir;
  const work = freshWorkDir(dataDir, 'recover');
  const gz = path.join(work, 'db.sqlite3.gz');
  const file = path.join(work, DB_FILE);
  try {
    await chosen.vault.getMetadata(hostId, chosen.name, gz);
    await pipeline(fs.createReadStream(gz), zlib.createGunzip(), fs.createWriteStream(file));
    try {
      integrityCheck(file);
    } catch (err) {
      throw new VaultError(`metadata ${chosen.name} of host ${hostId} in vault '${chosen.vault.name}' is not a valid database: ${(err as Error).message}`);
    }
    const db = new Database(work); // migrates it
    let result: RecoverResult;
    try {
      const holdings = await verifyHoldings(db, ctx.config.vaults, ctx.reporter);
      db.setMeta('metadata_dirty', '0');
      db.setMeta('recovered_from', JSON.stringify({ vault: chosen.vault.name, version: chosen.name, at: isoFromMs(Date.now()) }));
      result = {
        hostId, vault: chosen.vault.name, version: chosen.name, holdings,
        directories: db.listDirectories().map((d) => d.path),
        snapshots: db.countSnapshots(),
      };
      // One self-contained file to move into place: the WAL checkpointed into it and gone.
      if (db.db.pragma('journal_mode = DELETE', { simple: true }) !== 'delete') throw new IoError(`cannot checkpoint the recovered database ${file}`);
    } finally {
      db.close();
    }
    ctx.closeDatabase();
    const live = path.join(dataDir, DB_FILE);
    for (const suffix of ['-wal', '-shm']) fs.rmSync(live + suffix, { force: true });
    fs.renameSync(file, live);
    ctx.saveConfig({ ...ctx.config, host_id: hostId });
    if (force) ctx.staging.discardAll();
    return result;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
