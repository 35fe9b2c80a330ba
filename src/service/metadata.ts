import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Vault } from '../vault/vault.js';
import type { Context } from './context.js';
import { gzipFile } from '../util/gzip-file.js';
import { makeDirs } from '../util/make-dirs.js';

export const HOST_FILE = 'host.json';
const DB_PREFIX = 'db-';
const DB_SUFFIX = '.sqlite3.gz';

export interface HostInfo {
  host_id: string;
  hostname: string;
  directories: string[];
  last_backup_at: string | null;
  uploaded_at: string;
}

/** UTC time in a form that sorts by name: 20261122T074523123Z. */
export function stampName(ms: number): string {
  return DB_PREFIX + new Date(ms).toISOString().replace(/[-:.]/g, '') + DB_SUFFIX;
}

/** The time a metadata version's name stands for, or null for names that are not versions. */
export function timeOfName(name: string): number | null {
  const m = /^db-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z\.sqlite3\.gz$/.exec(name);
  if (!m) return null;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!);
}

export function dbVersions(names: string[]): string[] {
  return names.filter((n) => timeOfName(n) !== null).sort();
}

/**
 * After a backup: a consistent copy of the database (SQLite's online
 * backup), gzipped, to every vault, with host.json beside it; then the
 * oldest versions beyond metadata_keep are pruned.
 */
export async function uploadMetadata(ctx: Context, vaults: Vault[], onVaultError?: (v: Vault, err: unknown) => void): Promise<string> {
  const hostId = ctx.config.host_id;
  const work = path.join(ctx.config.data_dir, `.upload-${crypto.randomBytes(4).toString('hex')}`);
  makeDirs(work);
  try {
    const copy = path.join(work, 'db.sqlite3');
    await ctx.db.backupTo(copy);
    const gz = path.join(work, 'db.sqlite3.gz');
    await gzipFile(copy, gz);
    const last = ctx.db.lastBackupAt();
    const info: HostInfo = {
      host_id: hostId,
      hostname: os.hostname(),
      directories: ctx.db.listDirectories().map((d) => d.path),
      last_backup_at: last ? new Date(last).toISOString() : null,
      uploaded_at: new Date().toISOString(),
    };
    const hostFile = path.join(work, HOST_FILE);
    fs.writeFileSync(hostFile, JSON.stringify(info, null, 2) + '\n');
    const name = stampName(Date.now());
    for (const v of vaults) {
      try {
        await v.putMetadata(hostId, name, gz);
        await v.putMetadata(hostId, HOST_FILE, hostFile);
        const versions = dbVersions(await v.listMetadata(hostId));
        for (const old of versions.slice(0, Math.max(0, versions.length - ctx.config.metadata_keep))) await v.deleteMetadata(hostId, old);
      } catch (err) {
        if (!onVaultError) throw err;
        onVaultError(v, err);
      }
    }
    return name;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export async function readHostInfo(vault: Vault, hostId: string, workDir: string): Promise<HostInfo | null> {
  const tmp = path.join(workDir, `.host-${crypto.randomBytes(4).toString('hex')}.json`);
  try {
    await vault.getMetadata(hostId, HOST_FILE, tmp);
    return JSON.parse(fs.readFileSync(tmp, 'utf8')) as HostInfo;
  } catch {
    return null;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
