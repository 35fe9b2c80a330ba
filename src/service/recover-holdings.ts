import { VaultError } from '../errors.js';
import type { Database } from '../db/database.js';
import { VaultHoldingsRewrite, contentHeldCounts, dropOtherVaults, dropVaultHoldings } from '../db/vault-holdings.js';
import { createVault, type VaultSpec } from '../vault/factory.js';
import type { Reporter } from './reporter.js';
import { reasonOf } from './vault-set.js';

/** What one configured vault was found to hold of the recovered host's content. */
export interface VaultHolding {
  vault: string;
  /** Objects of this host the vault holds; null when it could not be read (then none is recorded). */
  held: number | null;
  error: string | null;
}

export interface HoldingsReport {
  /** The host's content objects (content rows). */
  objects: number;
  vaults: VaultHolding[];
  /** Vault names the old records gave that this config does not have: their records were dropped. */
  dropped: string[];
  /** Objects that none of this machine's vaults holds. */
  unheld: number;
}

/** Listed objects recorded per transaction. */
const BATCH = 2000;

/**
 * Make a recovered database's records of which vault holds what true for
 * this machine: each configured vault is listed and its records rewritten
 * from the listing; the records of a vault that cannot be read, or of a
 * vault name this config does not have, are dropped. A record then means
 * that the vault named so here holds the object, and catch-up (sync.ts)
 * copies to each vault what it lacks from one that holds it.
 */
export async function verifyHoldings(db: Database, specs: VaultSpec[], reporter: Reporter): Promise<HoldingsReport> {
  const dropped = dropOtherVaults(db, specs.map((s) => s.name));
  const vaults: VaultHolding[] = [];
  for (const spec of specs) vaults.push(await verifyVault(db, spec, reporter));
  return { ...contentHeldCounts(db), vaults, dropped };
}

async function verifyVault(db: Database, spec: VaultSpec, reporter: Reporter): Promise<VaultHolding> {
  const vault = createVault(spec);
  const rewrite = new VaultHoldingsRewrite(db, spec.name);
  try {
    await vault.open();
    let batch: Array<{ id: string; size: number }> = [];
    let listed = 0;
    for await (const o of vault.listContent()) {
      batch.push(o);
      if (batch.length < BATCH) continue;
      rewrite.add(batch);
      listed += batch.length;
      batch = [];
      reporter.progress({ phase: `list vault ${spec.name}`, files: listed, bytes: 0 });
    }
    rewrite.add(batch);
    return { vault: spec.name, held: rewrite.commit(Date.now()), error: null };
  } catch (err) {
    if (!(err instanceof VaultError)) throw err;
    // Nothing is known of what it holds: record nothing, and catch-up fills it once it can be read.
    dropVaultHoldings(db, spec.name);
    return { vault: spec.name, held: null, error: reasonOf(spec.name, err) };
  } finally {
    reporter.progressDone();
    rewrite.close();
    await vault.close().catch(() => undefined);
  }
}
