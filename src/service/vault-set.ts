import { VaultError } from '../errors.js';
import { createVault, type VaultSpec } from '../vault/factory.js';
import type { ContentSource, Vault } from '../vault/vault.js';
import type { Reporter } from './reporter.js';

export interface DownVault {
  name: string;
  reason: string;
}

/**
 * The vaults of one run and which of them still work. A vault that fails
 * (unreachable, full, refusing) is set aside for the rest of the run so the
 * others go on; nothing is recorded as held by it, and the next run catches
 * it up.
 */
export class VaultSet {
  private readonly live: Vault[];
  readonly down = new Map<string, string>();

  private constructor(vaults: Vault[], private readonly reporter: Reporter) {
    this.live = vaults;
  }

  /** Open every configured vault; those that fail to open start out down. Fails only when none opens. */
  static async open(specs: VaultSpec[], reporter: Reporter, required?: string): Promise<VaultSet> {
    if (specs.length === 0) throw new VaultError(`no vault is configured: add one with 'bt config vault add'`);
    const set = new VaultSet([], reporter);
    const failed: Array<[string, unknown]> = [];
    for (const spec of specs) {
      const v = await createVault(spec);
      try {
        await v.open();
        set.live.push(v);
      } catch (err) {
        if (v.name === required) throw err; // the vault this run is for: its own error, nothing else
        failed.push([v.name, err]);
      }
    }
    if (set.live.length === 0) {
      // Nothing to go on with: one error line, no warnings before it.
      if (failed.length === 1) throw failed[0]![1];
      throw new VaultError(`no vault is available (${failed.map(([n, e]) => `${n}: ${(e as Error).message}`).join('; ')})`);
    }
    for (const [name, err] of failed) set.markDown(name, err);
    return set;
  }

  get up(): Vault[] {
    return this.live.filter((v) => !this.down.has(v.name));
  }

  get downList(): DownVault[] {
    return [...this.down].map(([name, reason]) => ({ name, reason }));
  }

  markDown(name: string, err: unknown): void {
    if (this.down.has(name)) return;
    const reason = reasonOf(name, err);
    this.down.set(name, reason);
    // With no vault left the run fails with this reason as its error line; a warning would repeat it.
    if (this.up.length > 0) this.reporter.warn(`vault '${name}' is unavailable for this run: ${reason}`);
  }

  requireOne(): void {
    if (this.up.length === 0) {
      const all = this.downList.map((d) => `${d.name}: ${d.reason}`).join('; ');
      throw new VaultError(this.down.size === 1 ? `vault '${this.downList[0]!.name}': ${this.downList[0]!.reason}` : `no vault is available (${all})`);
    }
  }

  /**
   * Put one object into every working vault. Returns the vaults that now
   * hold it (durable after flush) and whether any had to store it. A vault
   * error sets that vault aside; any other error (the source file) is thrown.
   */
  async putEverywhere(id: string, source: ContentSource): Promise<{ held: string[]; stored: boolean }> {
    const held: string[] = [];
    let stored = false;
    for (const v of this.up) {
      try {
        if ((await v.putContent(id, source)) === 'stored') stored = true;
        held.push(v.name);
      } catch (err) {
        if (!(err instanceof VaultError)) throw err;
        this.markDown(v.name, err);
      }
    }
    this.requireOne();
    return { held, stored };
  }

  /** The first working vault that can store a file without knowing its id (see Vault.putFile). */
  get fileStore(): Vault | undefined {
    return this.up.find((v) => v.putFile);
  }

  /**
   * Store a file through `primary.putFile` (one read, hashed as written),
   * then put the same object into every other working vault (which re-read
   * and verify it). ContentChangedError from those means the file changed.
   */
  async putFileEverywhere(primary: Vault, file: Buffer): Promise<{ id: string; size: number; held: string[]; stored: boolean }> {
    let first: { id: string; size: number; result: 'stored' | 'exists' };
    try {
      first = await primary.putFile!(file);
    } catch (err) {
      if (!(err instanceof VaultError)) throw err;
      this.markDown(primary.name, err);
      this.requireOne();
      throw err;
    }
    const held = [primary.name];
    let stored = first.result === 'stored';
    for (const v of this.up) {
      if (v === primary) continue;
      try {
        if ((await v.putContent(first.id, { path: file, size: first.size })) === 'stored') stored = true;
        held.push(v.name);
      } catch (err) {
        if (!(err instanceof VaultError)) throw err;
        this.markDown(v.name, err);
      }
    }
    return { id: first.id, size: first.size, held, stored };
  }

  /** Flush every working vault; returns the names whose puts are now durable. Each vault captures its pending puts synchronously on call. */
  flushAll(): Promise<Set<string>> {
    const ok = new Set<string>();
    return Promise.all(this.up.map(async (v) => {
      try {
        await v.flush();
        ok.add(v.name);
      } catch (err) {
        this.markDown(v.name, err);
      }
    })).then(() => ok);
  }

  async close(): Promise<void> {
    for (const v of this.live) {
      try {
        await v.close();
      } catch {
        // closing a vault that failed changes nothing recorded
      }
    }
  }
}

/** Why vault `name` failed, without the "vault 'NAME': " its errors begin with (the line that shows it names the vault). */
export function reasonOf(name: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.startsWith(`vault '${name}': `) ? message.slice(`vault '${name}': `.length) : message;
}
