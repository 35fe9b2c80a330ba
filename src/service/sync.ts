import fs from 'node:fs';
import path from 'node:path';
import { VaultError } from '../errors.js';
import type { Vault } from '../vault/vault.js';
import type { Context } from './context.js';
import { runPool } from './pool.js';
import { VaultSet } from './vault-set.js';
import { uploadMetadata } from './metadata.js';
import { freshWorkDir } from './work-dirs.js';
import { count } from '../util/count.js';

function VaultSetOpen(ctx: Context, required?: string): Promise<VaultSet> {
  return VaultSet.open(ctx.config.vaults, ctx.reporter, required);
}

export interface SyncResult {
  vault: string;
  copied: number;
  bytes: number;
  unavailable: number;
}

const BATCH = 500;

/**
 * Copy every recorded object a vault lacks from the vaults that hold it: a
 * vault added later, or one that was down during a backup, catches up. Each
 * object goes through a temp file and is verified on the way in and out.
 */
export async function catchUpVault(ctx: Context, vaults: VaultSet, target: Vault): Promise<SyncResult> {
  const result: SyncResult = { vault: target.name, copied: 0, bytes: 0, unavailable: 0 };
  const work = freshWorkDir(ctx.config.data_dir, 'sync');
  let skipped = new Set<string>();
  try {
    for (;;) {
      const missing = ctx.db.contentMissingFrom(target.name, BATCH + skipped.size).filter((m) => !skipped.has(m.id));
      if (!missing.length) break;
      // One listing answers the look-ups below (and the put's own) where a vault would take a request per object.
      await target.expectPuts?.(missing.length);
      const done: Array<{ id: string; size: number }> = [];
      const held: Array<{ id: string; size: number }> = [];
      await runPool(missing.slice(0, BATCH), 4, async (m) => {
        if (vaults.down.has(target.name)) return;
        // The target may hold it without a record (it was removed from the config and added again, or could not
        // be listed when a host was recovered): then it is recorded, not fetched from another vault to be found
        // there, nor reported missing on every run when no other vault has it.
        if (await target.hasContent(m.id, m.size).catch(() => false)) {
          held.push(m);
          return;
        }
        const holders = ctx.db.contentVaults(m.id);
        const sources = vaults.up.filter((v) => v !== target && holders.includes(v.name));
        const tmp = path.join(work, m.id);
        for (const src of sources) {
          try {
            await src.getContent(m.id, tmp);
          } catch {
            fs.rmSync(tmp, { force: true });
            continue;
          }
          try {
            await target.putContent(m.id, { path: tmp, size: m.size });
          } catch (err) {
            vaults.markDown(target.name, err instanceof VaultError ? err : new VaultError(`vault '${target.name}': ${(err as Error).message}`));
            return;
          } finally {
            fs.rmSync(tmp, { force: true });
          }
          done.push(m);
          ctx.reporter.progress({ phase: `sync ${target.name}`, files: result.copied + done.length, bytes: result.bytes });
          return;
        }
        skipped.add(m.id);
        result.unavailable++;
      });
      if (vaults.down.has(target.name)) break;
      const durable = await vaults.flushAll();
      if (!durable.has(target.name)) break;
      const now = Date.now();
      ctx.db.transaction(() => {
        for (const m of [...done, ...held]) ctx.db.recordContent(m.id, m.size, target.name, now);
      });
      result.copied += done.length;
      result.bytes += done.reduce((a, m) => a + m.size, 0);
      if (done.length === 0 && held.length === 0) break;
    }
  } finally {
    ctx.reporter.progressDone();
    fs.rmSync(work, { recursive: true, force: true });
    skipped = new Set();
  }
  if (result.unavailable) ctx.reporter.warn(`vault '${target.name}': ${count(result.unavailable, 'object')} could not be read from any other vault`);
  return result;
}

/** True when some configured vault lacks recorded content. */
export function anyVaultBehind(ctx: Context): boolean {
  return ctx.config.vaults.some((v) => ctx.db.contentBehind(v.name));
}

export interface VaultSyncReport extends SyncResult {
  error: string | null;
}

/** `bt vault sync [NAME]`: catch up one vault, or all, then give them the current metadata. */
export async function syncVaults(ctx: Context, name?: string): Promise<VaultSyncReport[]> {
  ctx.takeLock('vault sync');
  if (name !== undefined && !ctx.config.vaults.some((v) => v.name === name)) throw new VaultError(`unknown vault '${name}'`);
  const vaults = await VaultSetOpen(ctx, name);
  try {
    const targets = vaults.up.filter((v) => name === undefined || v.name === name);
    if (name !== undefined && !targets.length) throw new VaultError(`vault '${name}': ${vaults.down.get(name) ?? 'unavailable'}`);
    const out: VaultSyncReport[] = [];
    for (const t of targets) {
      const r = await catchUpVault(ctx, vaults, t);
      out.push({ ...r, error: vaults.down.get(t.name) ?? null });
    }
    const fresh = targets.filter((t) => !vaults.down.has(t.name));
    if (fresh.length) await uploadMetadata(ctx, fresh, (v, err) => vaults.markDown(v.name, err));
    for (const [n, reason] of vaults.down) if (!out.some((o) => o.vault === n) && (name === undefined || n === name)) out.push({ vault: n, copied: 0, bytes: 0, unavailable: 0, error: reason });
    return out;
  } finally {
    await vaults.close();
  }
}
