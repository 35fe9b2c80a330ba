import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { VaultError, NotFoundError, describeSystemError } from '../errors.js';
import { CopyPool, type Copied } from './copy-pool.js';
import { listObjects, objectExists, objectPath, renameObjects } from './object-files.js';
import { ContentChangedError, VAULT_FORMAT, VAULT_FORMAT_VERSION, VAULT_MARKER, isContentId, type ContentSource, type HeldObject, type Vault } from './vault.js';
import { pidAlive } from '../util/pid.js';
import { syncFilesystem } from '../util/sync-fs.js';
import { makeDirs } from '../util/make-dirs.js';
import { Semaphore } from '../util/semaphore.js';

const CHUNK = 1 << 20;
const MAIN_THREAD_COPIES = 8;
const SMALL_OBJECT = 1 << 20;
const STALE_TEMP_MS = 24 * 3600 * 1000;
/** Temp names carry the writer's hostname and pid so that a run can clear what a killed run on this machine left. */
const TEMP_OWNER = os.hostname().replace(/[^A-Za-z0-9-]/g, '_');

/** Unique temp names without a random draw per object: a per-process tag and a counter. */
const RUN_TAG = crypto.randomBytes(4).toString('hex');
let tempCounter = 0;


export interface FileSystemVaultConfig {
  name: string;
  vault_root: string;
}

/**
 * A vault in a directory: a USB disk, a NAS mount, the local default.
 *
 * Puts write a temp file under <root>/tmp and are renamed into content/ on
 * flush(), after one syncfs of the vault's filesystem: one flush per batch
 * instead of one fsync per object keeps tens of thousands of small files
 * fast, and nothing appears under a content key before its bytes are on disk.
 */
export class FileSystemVault implements Vault {
  readonly kind = 'fs';
  readonly name: string;
  readonly location: string;
  private readonly root: string;
  /** Puts written to temp files, not yet part of a flush: id → temp path. */
  private readonly pending = new Map<string, string>();
  /** Puts taken by a flush still under way; still "held" for hasContent. */
  private readonly flushing = new Map<string, string>();
  private lastFlush: Promise<void> = Promise.resolve();
  private readonly copies = new CopyPool();
  /**
   * Large objects copied on the main thread at once, when the copy workers
   * are off: each holds a CHUNK buffer, and a caller may have many reads in
   * flight (a restore has 64), so this bounds the memory.
   */
  private readonly mainThreadCopies = new Semaphore(MAIN_THREAD_COPIES);

  constructor(config: FileSystemVaultConfig) {
    this.name = config.name;
    this.root = path.resolve(config.vault_root);
    this.location = this.root;
  }

  private get contentDir(): string {
    return path.join(this.root, 'content');
  }

  private contentPath(id: string): string {
    return objectPath(this.contentDir, id);
  }

  private metadataDir(hostId: string): string {
    if (!/^[0-9A-Za-z._-]+$/.test(hostId)) throw new VaultError(`invalid host id: ${hostId}`);
    return path.join(this.root, 'metadata', hostId);
  }

  private tempPath(label: string): string {
    return path.join(this.root, 'tmp', `${label}.${TEMP_OWNER}.${process.pid}.${RUN_TAG}${(tempCounter++).toString(36)}`);
  }

  async init(): Promise<void> {
    try {
      makeDirs(this.root);
      for (const d of ['content', 'metadata', 'tmp']) makeDirs(path.join(this.root, d));
      const marker = path.join(this.root, VAULT_MARKER);
      if (!fs.existsSync(marker)) {
        const body = JSON.stringify({ format: VAULT_FORMAT, version: VAULT_FORMAT_VERSION, created_at: new Date().toISOString() }, null, 2) + '\n';
        const tmp = this.tempPath('marker');
        fs.writeFileSync(tmp, body);
        syncFile(tmp);
        fs.renameSync(tmp, marker);
        syncFile(this.root);
      }
    } catch (err) {
      if (err instanceof VaultError) throw err;
      throw new VaultError(`vault '${this.name}': cannot initialise ${this.root}: ${describeSystemError(err)}`, { cause: err });
    }
    await this.validateSetup();
  }

  async open(): Promise<void> {
    const marker = path.join(this.root, VAULT_MARKER);
    let text: string;
    try {
      text = fs.readFileSync(marker, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !fs.existsSync(this.root)) throw new VaultError(`vault '${this.name}': path does not exist: ${this.root}`);
      if (code === 'ENOENT') throw new VaultError(`vault '${this.name}' at ${this.root} is not initialised: run 'bt config vault init ${this.name}'`);
      throw new VaultError(`vault '${this.name}': cannot read ${marker}: ${describeSystemError(err)}`);
    }
    let marker_: { format?: string; version?: number };
    try {
      marker_ = JSON.parse(text);
    } catch {
      throw new VaultError(`vault '${this.name}': ${marker} is not valid JSON`);
    }
    if (marker_.format !== VAULT_FORMAT) throw new VaultError(`vault '${this.name}': ${marker} is not a bt vault marker`);
    if (typeof marker_.version !== 'number' || marker_.version > VAULT_FORMAT_VERSION) {
      throw new VaultError(`vault '${this.name}': format version ${marker_.version} is newer than this bt supports (${VAULT_FORMAT_VERSION})`);
    }
    try {
      fs.accessSync(this.root, fs.constants.W_OK);
    } catch {
      throw new VaultError(`vault '${this.name}': path is not writable: ${this.root}`);
    }
    makeDirs(path.join(this.root, 'tmp'));
    this.removeStaleTemps();
  }

  async validateSetup(): Promise<void> {
    await this.open();
    const probe = this.tempPath('probe');
    const data = crypto.randomBytes(64);
    try {
      fs.writeFileSync(probe, data);
      const back = fs.readFileSync(probe);
      if (!back.equals(data)) throw new VaultError(`vault '${this.name}': read back different bytes than written at ${this.root}`);
      fs.rmSync(probe);
    } catch (err) {
      fs.rmSync(probe, { force: true });
      if (err instanceof VaultError) throw err;
      throw new VaultError(`vault '${this.name}': write/read/delete check failed at ${this.root}: ${describeSystemError(err)}`, { cause: err });
    }
  }

  private removeStaleTemps(): void {
    // Temps of a killed run are never renamed. Other hosts may be writing to
    // a shared vault right now: their temps go only when a day old, ours as
    // soon as the process that wrote them is gone.
    const dir = path.join(this.root, 'tmp');
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    const cutoff = Date.now() - STALE_TEMP_MS;
    for (const n of names) {
      const p = path.join(dir, n);
      const parts = n.split('.');
      const pid = Number(parts[parts.length - 2]);
      const ours = parts[parts.length - 3] === TEMP_OWNER && Number.isInteger(pid) && pid !== process.pid && !pidAlive(pid);
      try {
        if (ours || fs.statSync(p).mtimeMs < cutoff) fs.rmSync(p, { force: true });
      } catch {
        // gone already
      }
    }
  }

  async hasContent(id: string, size?: number): Promise<boolean> {
    return this.pending.has(id) || this.flushing.has(id) || objectExists(this.contentDir, id, size);
  }

  async putContent(id: string, source: ContentSource): Promise<'stored' | 'exists'> {
    if (!isContentId(id)) throw new VaultError(`invalid content id: ${id}`);
    const expectedSize = 'data' in source ? source.data.length : source.size;
    if (await this.hasContent(id, expectedSize)) return 'exists';
    const tmp = this.tempPath(id.slice(0, 16));
    try {
      if ('data' in source) {
        // Small objects are written synchronously: a thread-pool round trip costs more than the write into the page cache.
        fs.writeFileSync(tmp, source.data, { flag: 'wx' });
      } else {
        const actual = await copyHashing(source.path, tmp);
        if (actual !== id) throw new ContentChangedError(id, actual);
      }
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      if (err instanceof ContentChangedError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && 'path' in source && !fs.existsSync(path.join(this.root, 'tmp'))) {
        throw new VaultError(`vault '${this.name}': path does not exist: ${this.root}`);
      }
      if (code && ['ENOSPC', 'EROFS', 'EACCES', 'EDQUOT', 'EIO'].includes(code)) {
        throw new VaultError(`vault '${this.name}': cannot write ${this.root}: ${describeSystemError(err)}`, { cause: err });
      }
      throw err;
    }
    if (this.pending.has(id) || this.flushing.has(id)) {
      await fsp.rm(tmp, { force: true }); // a concurrent put of the same content won
      return 'exists';
    }
    this.pending.set(id, tmp);
    return 'stored';
  }

  async putFile(source: Buffer | string): Promise<{ id: string; size: number; result: 'stored' | 'exists' }> {
    const tmp = this.tempPath('file');
    let copied: Copied;
    try {
      // The worker also looks for the object, so that this thread need not stat it.
      copied = this.copies.available ? await this.copies.copy(source, tmp, this.contentDir) : await copyHashingSized(source, tmp, this.contentDir);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code && ['ENOSPC', 'EROFS', 'EDQUOT', 'EIO'].includes(code)) {
        throw new VaultError(`vault '${this.name}': cannot write ${this.root}: ${describeSystemError(err)}`, { cause: err });
      }
      if (code === 'ENOENT' && !fs.existsSync(path.join(this.root, 'tmp'))) throw new VaultError(`vault '${this.name}': path does not exist: ${this.root}`);
      throw err;
    }
    const { id, size } = copied;
    if (copied.exists) return { id, size, result: 'exists' };
    if (this.pending.has(id) || this.flushing.has(id)) {
      fs.rmSync(tmp, { force: true });
      return { id, size, result: 'exists' };
    }
    this.pending.set(id, tmp);
    return { id, size, result: 'stored' };
  }

  /**
   * Take every put so far into a batch (synchronously, so that two flushes
   * never share a temp file), wait for the flush before it, then syncfs,
   * rename the batch into content/, and syncfs again. When the returned
   * promise resolves, every put made before the call is durable.
   */
  flush(): Promise<void> {
    const batch = [...this.pending];
    for (const [id, tmp] of batch) {
      this.pending.delete(id);
      this.flushing.set(id, tmp);
    }
    const previous = this.lastFlush;
    const current = (async () => {
      await previous;
      if (batch.length === 0) return;
      await syncVaultFilesystem(path.join(this.root, 'tmp'));
      const moves: string[] = [];
      for (const [id, tmp] of batch) moves.push(tmp, this.contentPath(id));
      // Thousands of renames: on a copy worker, so that this thread goes on with the next batch's puts.
      if (this.copies.available) await this.copies.renameObjects(moves);
      else renameObjects(moves);
      await syncVaultFilesystem(this.contentDir);
      for (const [id] of batch) this.flushing.delete(id);
    })();
    this.lastFlush = current;
    return current;
  }

  async getContent(id: string, outputPath: string | Buffer): Promise<void> {
    const src = this.contentPath(id);
    const missing = () => new NotFoundError(`vault '${this.name}' does not hold object ${id}`);
    let actual: string;
    if (this.copies.available) {
      // On the copy workers, so that a restore of many files reads, hashes and writes on every core.
      // No stat first: a missing object shows as the copy's ENOENT, checked only then.
      try {
        actual = (await this.copies.copy(src, outputPath)).id;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(src)) throw missing();
        throw err;
      }
    } else {
      const st = fs.statSync(src, { throwIfNoEntry: false });
      if (!st) throw missing();
      if (st.size < SMALL_OBJECT) {
        // Small objects are read and written synchronously through one scratch
        // buffer: cheaper than thread-pool round trips, and no allocation per object.
        const data = readSmall(src, scratch());
        actual = crypto.createHash('sha256').update(data).digest('hex');
        if (actual === id) fs.writeFileSync(outputPath, data, { flag: 'wx', mode: 0o600 });
      } else {
        actual = await this.mainThreadCopies.run(() => copyHashing(src, outputPath));
      }
    }
    if (actual !== id) {
      fs.rmSync(outputPath, { force: true });
      throw new VaultError(`vault '${this.name}': object ${id} is corrupt (its bytes hash to ${actual})`);
    }
  }

  /** Objects renamed into content/ (flushed); pending temp files are not there yet. */
  async *listContent(): AsyncGenerator<HeldObject> {
    try {
      yield* listObjects(this.contentDir);
    } catch (err) {
      throw new VaultError(`vault '${this.name}': cannot list ${this.contentDir}: ${describeSystemError(err)}`, { cause: err });
    }
  }

  async putMetadata(hostId: string, name: string, sourcePath: string): Promise<void> {
    const dir = this.metadataDir(hostId);
    makeDirs(dir);
    const tmp = this.tempPath('meta');
    try {
      await fsp.copyFile(sourcePath, tmp);
      syncFile(tmp);
      fs.renameSync(tmp, path.join(dir, name));
      syncFile(dir);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw new VaultError(`vault '${this.name}': cannot store metadata ${name}: ${describeSystemError(err)}`, { cause: err });
    }
  }

  async listMetadata(hostId: string): Promise<string[]> {
    try {
      return fs.readdirSync(this.metadataDir(hostId)).filter((n) => !n.startsWith('.')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async getMetadata(hostId: string, name: string, outputPath: string): Promise<void> {
    const src = path.join(this.metadataDir(hostId), name);
    try {
      await fsp.copyFile(src, outputPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`vault '${this.name}' has no metadata ${name} for host ${hostId}`);
      throw err;
    }
  }

  async deleteMetadata(hostId: string, name: string): Promise<void> {
    fs.rmSync(path.join(this.metadataDir(hostId), name), { force: true });
  }

  async listHosts(): Promise<string[]> {
    try {
      return fs.readdirSync(path.join(this.root, 'metadata')).filter((n) => !n.startsWith('.')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.copies.close();
    }
  }
}

let scratchBuf: Buffer | null = null;
function scratch(): Buffer {
  scratchBuf ??= Buffer.allocUnsafe(SMALL_OBJECT);
  return scratchBuf;
}

/** Read a whole small file into `buf`; the view is valid until the next synchronous use of `buf`. */
function readSmall(p: string, buf: Buffer): Buffer {
  const fd = fs.openSync(p, 'r');
  try {
    let n = 0;
    for (;;) {
      const r = fs.readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n === buf.length) throw new VaultError(`object ${p} grew while being read`);
    }
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

function syncFile(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

async function syncVaultFilesystem(p: string): Promise<void> {
  const failed = await syncFilesystem(p);
  if (failed) throw new VaultError(`cannot sync the vault filesystem at ${p}: ${failed}`);
}

async function copyHashingSized(src: Buffer | string, dst: string, contentDir: string): Promise<Copied> {
  const id = await copyHashing(src, dst);
  const size = fs.statSync(dst).size;
  const exists = objectExists(contentDir, id, size);
  if (exists) fs.rmSync(dst, { force: true });
  return { id, size, exists };
}

/** Copy src to a new file at dst, returning the SHA-256 of the bytes written. */
export async function copyHashing(src: Buffer | string, dst: Buffer | string): Promise<string> {
  const hash = crypto.createHash('sha256');
  const inp = await fsp.open(src, 'r');
  try {
    const out = await fsp.open(dst, 'wx', 0o600);
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const { bytesRead } = await inp.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        const chunk = buf.subarray(0, bytesRead);
        hash.update(chunk);
        let off = 0;
        while (off < bytesRead) {
          const { bytesWritten } = await out.write(chunk, off, bytesRead - off);
          off += bytesWritten;
        }
      }
    } finally {
      await out.close();
    }
  } finally {
    await inp.close();
  }
  return hash.digest('hex');
}
