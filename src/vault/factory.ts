import { FileSystemVault } from './fs-vault.js';
import type { Vault } from './vault.js';

/** How a vault is described to the factory: its config table as written in bt.toml. */
export type VaultSpec = { type: 'fs'; name: string; vault_root: string };

export function createVault(spec: VaultSpec): Vault {
  switch (spec.type) {
    case 'fs':
      return new FileSystemVault(spec);
  }
}
