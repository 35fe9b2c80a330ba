import { FileSystemVault } from './fs-vault.js';
import { s3Location, type S3VaultSpec } from './s3-spec.js';
import type { ContentSource, HeldObject, Vault, VaultInitOptions } from './vault.js';
// Type only: the S3 vault (and with it the AWS SDK) is loaded on first use.
import type { S3VaultOptions } from './s3-vault.js';

export type FsVaultSpec = { type: 'fs'; name: string; vault_root: string };
export type { S3VaultSpec } from './s3-spec.js';

/** How a vault is described to the factory: its config table as written in bt.toml. */
export type VaultSpec = FsVaultSpec | S3VaultSpec;

/**
 * A vault for a spec, synchronously. An S3 vault is a thin stand-in that
 * loads the S3 implementation (and the AWS SDK) with a dynamic import on its
 * first call, so commands that never touch S3 never load the SDK.
 */
export function createVault(spec: VaultSpec): Vault {
  switch (spec.type) {
    case 'fs':
      return new FileSystemVault(spec);
    case 's3':
      return new LazyS3Vault(spec);
  }
}

/** The vault for a spec with its implementation loaded (the AWS SDK for S3). */
export async function loadVault(spec: VaultSpec, opts: S3VaultOptions = {}): Promise<Vault> {
  switch (spec.type) {
    case 'fs':
      return new FileSystemVault(spec);
    case 's3': {
      const { S3Vault } = await import('./s3-vault.js');
      return new S3Vault(spec, opts);
    }
  }
}

/** An S3 vault whose implementation is imported when first used. */
class LazyS3Vault implements Vault {
  readonly kind = 's3';
  readonly name: string;
  readonly location: string;
  private impl: Promise<Vault> | null = null;

  constructor(private readonly spec: S3VaultSpec) {
    this.name = spec.name;
    this.location = s3Location(spec);
  }

  private load(): Promise<Vault> {
    this.impl ??= loadVault(this.spec);
    return this.impl;
  }

  async init(opts?: VaultInitOptions): Promise<void> {
    return (await this.load()).init(opts);
  }
  async validateSetup(): Promise<void> {
    return (await this.load()).validateSetup();
  }
  async open(): Promise<void> {
    return (await this.load()).open();
  }
  async hasContent(id: string, size?: number): Promise<boolean> {
    return (await this.load()).hasContent(id, size);
  }
  async putContent(id: string, source: ContentSource): Promise<'stored' | 'exists'> {
    return (await this.load()).putContent(id, source);
  }
  async expectPuts(count: number): Promise<void> {
    const impl = await this.load();
    await impl.expectPuts?.(count);
  }
  async flush(): Promise<void> {
    if (this.impl) await (await this.impl).flush();
  }
  async getContent(id: string, outputPath: string | Buffer): Promise<void> {
    return (await this.load()).getContent(id, outputPath);
  }
  async *listContent(): AsyncGenerator<HeldObject> {
    yield* (await this.load()).listContent();
  }
  async putMetadata(hostId: string, name: string, sourcePath: string): Promise<void> {
    return (await this.load()).putMetadata(hostId, name, sourcePath);
  }
  async listMetadata(hostId: string): Promise<string[]> {
    return (await this.load()).listMetadata(hostId);
  }
  async getMetadata(hostId: string, name: string, outputPath: string): Promise<void> {
    return (await this.load()).getMetadata(hostId, name, outputPath);
  }
  async deleteMetadata(hostId: string, name: string): Promise<void> {
    return (await this.load()).deleteMetadata(hostId, name);
  }
  async listHosts(): Promise<string[]> {
    return (await this.load()).listHosts();
  }
  async close(): Promise<void> {
    if (!this.impl) return;
    const impl = await this.impl.catch(() => null); // one that never loaded holds nothing
    this.impl = null;
    await impl?.close();
  }
}
