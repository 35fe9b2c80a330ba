// A vault in an S3 bucket (AWS or any S3-compatible server).
//
// Layout, under the configured prefixes:
//   <prefix>bt-vault.json                       the format marker
//   <prefix>content/<64 hex sha256>             content objects
//   <metadata-prefix>metadata/<host_id>/<name>  metadata files
//
// Integrity. An object under a content key must never hold bytes other than
// its name says, even when a run is interrupted or the source file changes
// while it is read:
// - Every object is sent from a buffer whose bytes were hashed before the
//   request: for a small object (<= 8 MiB) the whole file is read and hashed
//   first, so a mismatch throws ContentChangedError before anything is sent,
//   and the PutObject carries ChecksumSHA256 = the id itself, so the server
//   rejects bytes damaged on the way.
// - A large object is a multipart upload we drive ourselves (not lib-storage,
//   which completes the upload on its own): parts are read one by one from
//   the file into a small pool of buffers, hashed in order into the whole
//   object's SHA-256 and sent with their own ChecksumCRC32. The upload is
//   completed only when every part is stored and the whole hash equals the
//   id. Any failure — a part refused, the file changed or cut short, the
//   hash not matching — aborts the upload. Until CompleteMultipartUpload S3
//   shows nothing under the key, so an interrupted or mismatching upload
//   never leaves an object there; an upload left in progress by a killed
//   process is invisible, and open() aborts such uploads once a day old (a
//   bucket lifecycle rule AbortIncompleteMultipartUpload does the same).
// - getContent hashes the bytes as they are written and throws if they do
//   not hash to the id.
//
// A successful PUT is durable, so flush() has nothing to do.

import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import {
  S3Client,
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type BucketLocationConstraint,
  type CompletedPart,
  type GetObjectCommandOutput,
  type S3ClientConfig,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { NotFoundError, VaultError, ArchivedObjectError } from '../errors.js';
import { classifyS3Error, type ClassifiedS3Error, type S3ErrorContext } from './s3-errors.js';
import { resolveS3Spec, s3Location, type ResolvedS3Spec, type S3VaultSpec } from './s3-spec.js';
import { ContentChangedError, VAULT_FORMAT, VAULT_FORMAT_VERSION, VAULT_MARKER, isContentId, type ContentSource, type HeldObject, type Vault, type VaultInitOptions } from './vault.js';
import { Semaphore } from '../util/semaphore.js';

export type { S3VaultSpec } from './s3-spec.js';

const MiB = 1 << 20;
/** Objects up to this size go in one PutObject from one buffer. */
export const SINGLE_PUT_MAX = 8 * MiB;
/** The smallest part of a multipart upload (S3's minimum is 5 MiB). */
export const MIN_PART_SIZE = 8 * MiB;
const MAX_PARTS = 10_000;
/** Part buffers one multipart upload may hold at once: 4 parts of 8 MiB; fewer (at least one) when parts are larger. */
const MULTIPART_MEMORY = 32 * MiB;
const MAX_PARTS_IN_FLIGHT = 4;
const READ_CHUNK = MiB;
/** Multipart uploads older than this are taken as abandoned by a killed run and aborted by open(). */
const STALE_UPLOAD_MS = 24 * 3600 * 1000;
/** Times a download that breaks off mid-body is resumed from where it stopped. */
const GET_RESUMES = 3;
/** A content listing larger than this is not kept in memory; puts HEAD each object instead. */
const LISTING_MAX_KEYS = 500_000;

export interface S3VaultOptions {
  /** Let init() create missing buckets. */
  createBucket?: boolean;
  /** Explicit credentials instead of the AWS default chain (tests, embedding). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per request including the first (default 6). */
  maxAttempts?: number;
  /** Age after which open() aborts multipart uploads left under the content prefix (default one day). */
  staleUploadAgeMs?: number;
  /** Time allowed to get a connection for a request (default 10 s). */
  connectionTimeoutMs?: number;
}

interface Place {
  bucket: string;
  kmsKey?: string;
  storageClass?: string;
}

/** What a request was for, to name in an error: "store object abc…" */
interface Op extends S3ErrorContext {
  what: string;
}

const SDK_WARNING_ENV = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * The SDK warns once per process that it will soon need a newer Node
 * (NodeVersionSupportWarning, emitted while a client is constructed). It is
 * not actionable for bt's users: switch exactly that warning off, only
 * while constructing, leaving every other warning alone and the
 * environment of child processes unchanged.
 */
function withoutNodeVersionWarning<T>(make: () => T): T {
  const prev = process.env[SDK_WARNING_ENV];
  process.env[SDK_WARNING_ENV] = 'true';
  try {
    return make();
  } finally {
    if (prev === undefined) delete process.env[SDK_WARNING_ENV];
    else process.env[SDK_WARNING_ENV] = prev;
  }
}

function sha256(data: Buffer): Buffer {
  return crypto.createHash('sha256').update(data).digest();
}

function short(id: string): string {
  return id.length > 16 ? `${id.slice(0, 12)}…` : id;
}

/** Part size for an object of `size` bytes: at least 8 MiB, whole MiB, and at most 10,000 parts (5 TiB → 525 MiB parts). */
export function partSizeFor(size: number): number {
  const needed = Math.ceil(size / MAX_PARTS / MiB) * MiB;
  return Math.max(MIN_PART_SIZE, needed);
}

/** Parts one upload keeps in flight: bounded memory of about 32 MiB, at least one part. */
export function partsInFlight(partSize: number): number {
  return Math.max(1, Math.min(MAX_PARTS_IN_FLIGHT, Math.floor(MULTIPART_MEMORY / partSize)));
}

/** Reads the parts of an object in order. `read` fills `buf` (or returns its own slice) and returns the bytes, empty at the end. */
interface PartReader {
  read(buf: Buffer | null, max: number): Promise<Buffer>;
  /** Whether parts come from the caller's memory (no buffers of our own needed). */
  readonly inMemory: boolean;
}

function bufferReader(data: Buffer): PartReader {
  let off = 0;
  return {
    inMemory: true,
    async read(_buf, max) {
      const out = data.subarray(off, Math.min(data.length, off + max));
      off += out.length;
      return out;
    },
  };
}

function fileReader(fh: fsp.FileHandle): PartReader {
  return {
    inMemory: false,
    async read(buf, max) {
      const target = buf!;
      let n = 0;
      while (n < max) {
        const { bytesRead } = await fh.read(target, n, max - n, null);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      return target.subarray(0, n);
    },
  };
}

/** Hash whatever is left of a file (for the message of a ContentChangedError). */
async function hashRest(fh: fsp.FileHandle, hash: crypto.Hash): Promise<void> {
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
    if (bytesRead === 0) return;
    hash.update(buf.subarray(0, bytesRead));
  }
}

/** Read a small file of expected `size` whole; bytes beyond `size` are hashed but not kept. */
async function readSmallFile(file: Buffer | string, size: number): Promise<{ data: Buffer; hash: string }> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(size + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    const hash = crypto.createHash('sha256').update(buf.subarray(0, n));
    if (n > size) await hashRest(fh, hash);
    return { data: buf.subarray(0, Math.min(n, size)), hash: hash.digest('hex') };
  } finally {
    await fh.close();
  }
}

async function writeAll(fh: fsp.FileHandle, chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
    off += bytesWritten;
  }
}

/**
 * Write a GetObject body to fh. Errors of the body (the connection) are
 * returned, so the caller can resume; errors writing fh (the local disk) are
 * thrown as they are.
 */
async function copyBody(res: GetObjectCommandOutput, fh: fsp.FileHandle, onChunk: (chunk: Buffer) => void): Promise<{ err: unknown } | null> {
  const body = res.Body as (Readable & AsyncIterable<Buffer>) | undefined;
  if (!body) return { err: new Error('the server sent no body') };
  const it = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      let r: IteratorResult<Buffer>;
      try {
        r = await it.next();
      } catch (err) {
        return { err };
      }
      if (r.done) return null;
      onChunk(r.value);
      await writeAll(fh, r.value);
    }
  } finally {
    body.destroy();
  }
}

/** Open the file a GetObject body goes to; when that fails, release the response's connection before throwing. */
async function openOutput(outputPath: string | Buffer, flags: 'w' | 'wx', res: GetObjectCommandOutput): Promise<fsp.FileHandle> {
  try {
    return await fsp.open(outputPath, flags, 0o600);
  } catch (err) {
    (res.Body as Readable | undefined)?.destroy();
    throw err;
  }
}

export class S3Vault implements Vault {
  readonly kind = 's3';
  readonly name: string;
  readonly location: string;
  private readonly cfg: ResolvedS3Spec;
  private readonly opts: S3VaultOptions;
  private readonly client: S3Client;
  private readonly agents: { http: http.Agent; https: https.Agent };
  /** Puts of this process in progress, so that concurrent puts of one object send it once. */
  private readonly inflight = new Map<string, Promise<'stored' | 'exists'>>();
  /** One per connection: see request(). */
  private readonly slots: Semaphore;
  private readonly endpointText: string;

  constructor(spec: S3VaultSpec, opts: S3VaultOptions = {}) {
    this.cfg = resolveS3Spec(spec);
    this.opts = opts;
    this.name = this.cfg.name;
    this.location = s3Location(spec);
    this.endpointText = this.cfg.endpoint ?? (this.cfg.region ? `https://s3.${this.cfg.region}.amazonaws.com` : 'the AWS S3 endpoint');
    // Our own agents: the handler would otherwise use a fresh unlimited agent
    // for requests with "Expect: 100-continue" (large bodies), escaping maxSockets.
    this.slots = new Semaphore(this.cfg.connections);
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: this.cfg.connections }),
      https: new https.Agent({ keepAlive: true, maxSockets: this.cfg.connections }),
    };
    const config: S3ClientConfig = {
      maxAttempts: opts.maxAttempts ?? 6,
      // Standard retries (throttling, 5xx, timeouts, connection resets) plus
      // client-side rate limiting once the server starts throttling.
      retryMode: 'adaptive',
      requestHandler: {
        connectionTimeout: opts.connectionTimeoutMs ?? 10_000,
        socketTimeout: 120_000,
        httpAgent: this.agents.http,
        httpsAgent: this.agents.https,
      },
      // Every request carries the SHA-256 we computed ourselves; keep the SDK
      // from adding its own checksums (and aws-chunked bodies) on top.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      followRegionRedirects: false,
    };
    if (this.cfg.region) config.region = this.cfg.region;
    else if (this.cfg.endpoint) config.region = 'us-east-1'; // S3-compatible servers rarely care
    if (this.cfg.endpoint) config.endpoint = this.cfg.endpoint;
    if (this.cfg.pathStyle !== undefined) config.forcePathStyle = this.cfg.pathStyle;
    if (this.cfg.profile) config.profile = this.cfg.profile;
    if (opts.credentials) config.credentials = opts.credentials;
    this.client = withoutNodeVersionWarning(() => new S3Client(config));
  }

  // ---- keys and places -------------------------------------------------

  private get content(): Place {
    return { bucket: this.cfg.contentBucket, kmsKey: this.cfg.contentKmsKey, storageClass: this.cfg.storageClass };
  }

  /** Metadata and the marker stay in the STANDARD class: they must be readable without a restore. */
  private get metadata(): Place {
    return { bucket: this.cfg.metadataBucket, kmsKey: this.cfg.metadataKmsKey };
  }

  private contentKey(id: string): string {
    return `${this.cfg.contentPrefix}content/${id}`;
  }

  private markerKey(): string {
    return `${this.cfg.contentPrefix}${VAULT_MARKER}`;
  }

  private metadataHostPrefix(hostId: string): string {
    if (!/^[0-9A-Za-z._-]+$/.test(hostId) || hostId === '.' || hostId === '..') throw new VaultError(`invalid host id: ${hostId}`);
    return `${this.cfg.metadataPrefix}metadata/${hostId}/`;
  }

  private metadataKey(hostId: string, name: string): string {
    if (!name || name.includes('/') || name === '.' || name === '..') throw new VaultError(`invalid metadata name: ${name}`);
    return this.metadataHostPrefix(hostId) + name;
  }

  private url(bucket: string, key = ''): string {
    return `s3://${bucket}/${key}`;
  }

  // ---- errors ------------------------------------------------------------

  private classify(err: unknown, op: Op): ClassifiedS3Error {
    return classifyS3Error(err, { endpoint: this.endpointText, region: this.cfg.region, profile: this.cfg.profile, ...op });
  }

  /** The one-line VaultError for a failed request: the cause first, then what was being done. */
  private vaultError(err: unknown, op: Op): VaultError {
    if (err instanceof VaultError) return err;
    const c = this.classify(err, op);
    return new VaultError(`vault '${this.name}': ${c.message} (${op.what})`, { cause: err });
  }

  /**
   * Run one request, and the reading of its body, in a connection slot.
   * Requests wait here rather than in the HTTP agent's queue, where the time
   * waited would count against the SDK's connection timeout and fail them.
   */
  private request<T>(fn: () => Promise<T>): Promise<T> {
    return this.slots.run(fn);
  }

  /** A request in a connection slot, its failure turned into a one-line VaultError. */
  private async call<T>(op: Op, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.request(fn);
    } catch (err) {
      throw this.vaultError(err, op);
    }
  }

  // ---- setup ---------------------------------------------------------------

  private places(): Place[] {
    const c = this.content;
    const m = this.metadata;
    return m.bucket === c.bucket ? [c] : [c, m];
  }

  async init(opts: VaultInitOptions = {}): Promise<void> {
    const create = opts.createBucket ?? this.opts.createBucket ?? false;
    for (const p of this.places()) {
      if (create) await this.createBucket(p.bucket);
      // A GET rather than HeadBucket: its error body names the cause
      // (NoSuchBucket, InvalidAccessKeyId, AccessDenied...), a HEAD's cannot.
      await this.call({ what: `check access to ${this.url(p.bucket)}`, bucket: p.bucket, target: 'bucket' }, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: p.bucket, MaxKeys: 1 })),
      );
    }
    const key = this.markerKey();
    const existing = await this.readMarker();
    if (existing === null) {
      const body = Buffer.from(JSON.stringify({ format: VAULT_FORMAT, version: VAULT_FORMAT_VERSION, created_at: new Date().toISOString() }, null, 2) + '\n');
      await this.putBuffer({ bucket: this.content.bucket, kmsKey: this.content.kmsKey }, key, body, {
        what: `write the vault marker ${this.url(this.content.bucket, key)}`,
        contentType: 'application/json',
      });
    }
    await this.validateSetup();
  }

  private async createBucket(bucket: string): Promise<void> {
    const region = this.cfg.region;
    const input: { Bucket: string; CreateBucketConfiguration?: { LocationConstraint: BucketLocationConstraint } } = { Bucket: bucket };
    if (region && region !== 'us-east-1' && !this.cfg.endpoint) input.CreateBucketConfiguration = { LocationConstraint: region as BucketLocationConstraint };
    try {
      await this.request(() => this.client.send(new CreateBucketCommand(input)));
    } catch (err) {
      const name = (err as { name?: string }).name;
      // Ours already, or taken by someone else: the access check that follows tells which.
      if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return;
      throw this.vaultError(err, { what: `create bucket ${bucket}`, bucket, target: 'bucket' });
    }
  }

  /** The marker's JSON, or null when there is none. */
  private async readMarker(): Promise<{ format?: unknown; version?: unknown } | null> {
    const bucket = this.content.bucket;
    const key = this.markerKey();
    let text: string;
    try {
      text = await this.request(async () => {
        const res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return res.Body!.transformToString('utf8');
      });
    } catch (err) {
      const c = this.classify(err, { what: '', bucket, key, target: 'object' });
      if (c.kind === 'no-such-key') return null;
      throw this.vaultError(err, { what: `read ${this.url(bucket, key)}`, bucket, key });
    }
    try {
      const parsed: unknown = JSON.parse(text);
      return parsed && typeof parsed === 'object' ? parsed : {};
    } catch {
      throw new VaultError(`vault '${this.name}': ${this.url(bucket, key)} is not valid JSON`);
    }
  }

  async open(): Promise<void> {
    const marker = await this.readMarker();
    const where = this.url(this.content.bucket, this.markerKey());
    if (marker === null) throw new VaultError(`vault '${this.name}' (${this.location}) is not initialised: run 'bt config vault init ${this.name}'`);
    if (marker.format !== VAULT_FORMAT) throw new VaultError(`vault '${this.name}': ${where} is not a bt vault marker`);
    if (typeof marker.version !== 'number' || marker.version > VAULT_FORMAT_VERSION) {
      throw new VaultError(`vault '${this.name}': format version ${String(marker.version)} is newer than this bt supports (${VAULT_FORMAT_VERSION})`);
    }
    await this.abortStaleUploads();
  }

  /**
   * Abort multipart uploads under the content prefix that a killed run left
   * behind (they hold storage but never appear as objects). Best effort: a
   * server or policy that does not allow listing them is no error.
   */
  private async abortStaleUploads(): Promise<void> {
    const bucket = this.content.bucket;
    const prefix = `${this.cfg.contentPrefix}content/`;
    const cutoff = Date.now() - (this.opts.staleUploadAgeMs ?? STALE_UPLOAD_MS);
    try {
      const res = await this.request(() => this.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix })));
      for (const u of res.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated.getTime() > cutoff) continue;
        await this.request(() => this.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }))).catch(() => undefined);
      }
    } catch {
      // not allowed or not implemented: a lifecycle rule can do it instead
    }
  }

  async validateSetup(): Promise<void> {
    await this.open();
    const seen = new Set<string>();
    const probes: Array<{ place: Place; prefix: string }> = [
      { place: { bucket: this.content.bucket, kmsKey: this.content.kmsKey }, prefix: this.cfg.contentPrefix },
      { place: this.metadata, prefix: this.cfg.metadataPrefix },
    ];
    for (const { place, prefix } of probes) {
      const where = `${place.bucket}/${prefix}`;
      if (seen.has(where)) continue;
      seen.add(where);
      const key = `${prefix}bt-probe-${os.hostname().replace(/[^A-Za-z0-9-]/g, '_')}-${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
      const what = `write/read/delete check at ${this.url(place.bucket, prefix)}`;
      const data = crypto.randomBytes(64);
      await this.putBuffer(place, key, data, { what });
      try {
        const back = await this.call({ what, bucket: place.bucket, key }, async () => {
          const res = await this.client.send(new GetObjectCommand({ Bucket: place.bucket, Key: key }));
          return Buffer.from(await res.Body!.transformToByteArray());
        });
        if (!back.equals(data)) throw new VaultError(`vault '${this.name}': read back different bytes than written at ${this.url(place.bucket, key)}`);
      } finally {
        await this.call({ what, bucket: place.bucket, key }, () => this.client.send(new DeleteObjectCommand({ Bucket: place.bucket, Key: key })));
      }
      // Listing is needed for metadata; check it is allowed.
      await this.call({ what: `list ${this.url(place.bucket, prefix)}`, bucket: place.bucket }, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: place.bucket, Prefix: `${prefix}metadata/`, MaxKeys: 1 })),
      );
    }
  }

  // ---- content -------------------------------------------------------------

  async hasContent(id: string, size?: number): Promise<boolean> {
    const listed = this.listed?.get(id);
    if (listed !== undefined && (size === undefined || listed === size)) return true;
    if (this.listed && listed === undefined) return false; // listed moments ago; a key written since by another host is the same bytes
    const len = await this.headSize(this.content.bucket, this.contentKey(id), `look up object ${short(id)}`);
    return len !== null && (size === undefined || len === size);
  }

  /** Content objects and their sizes from one listing, standing in for a HEAD per put (see expectPuts). */
  private listed: Map<string, number> | null = null;

  /**
   * Before many puts, list the content prefix once: a HEAD per object costs
   * as much as a small PUT, and a listing answers for 1,000 objects a page.
   * The listing may use at most a quarter of the requests it saves; past
   * that (a bucket far larger than the run), or on any error (no ListBucket
   * permission), puts go back to a HEAD each.
   */
  async expectPuts(count: number): Promise<void> {
    if (count < 64 || this.listed) return;
    const budget = Math.max(1, Math.floor(count / 4));
    const found = new Map<string, number>();
    let pages = 0;
    try {
      for await (const { objects, more } of this.contentPages()) {
        for (const o of objects) found.set(o.id, o.size);
        if (more && (++pages >= budget || found.size > LISTING_MAX_KEYS)) return;
      }
    } catch {
      return;
    }
    this.listed = found;
  }

  async *listContent(): AsyncGenerator<HeldObject> {
    for await (const { objects } of this.contentPages()) yield* objects;
  }

  /** The content prefix listed a page (up to 1,000 keys) at a time; `more` when another page follows. */
  private async *contentPages(): AsyncGenerator<{ objects: HeldObject[]; more: boolean }> {
    const bucket = this.content.bucket;
    const prefix = `${this.cfg.contentPrefix}content/`;
    let token: string | undefined;
    do {
      const res = await this.call({ what: `list content (${this.url(bucket, prefix)})`, bucket }, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })),
      );
      const objects: HeldObject[] = [];
      for (const o of res.Contents ?? []) {
        const id = o.Key?.slice(prefix.length);
        if (id && isContentId(id)) objects.push({ id, size: o.Size ?? 0 });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
      yield { objects, more: token !== undefined };
    } while (token);
  }

  /** Size of an object, or null when there is none. */
  private async headSize(bucket: string, key: string, what: string): Promise<number | null> {
    try {
      const res = await this.request(() => this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
      return res.ContentLength ?? 0;
    } catch (err) {
      const c = this.classify(err, { what, bucket, key, target: 'object' });
      if (c.kind === 'no-such-key') return null;
      throw this.vaultError(err, { what, bucket, key, target: 'object' });
    }
  }

  async putContent(id: string, source: ContentSource): Promise<'stored' | 'exists'> {
    if (!isContentId(id)) throw new VaultError(`invalid content id: ${id}`);
    const prior = this.inflight.get(id);
    if (prior) {
      // Another put of this object is under way in this process: wait for it.
      const ok = await prior.then(() => true, () => false);
      if (ok) return 'exists';
      if (this.inflight.get(id) === prior) this.inflight.delete(id);
      return this.putContent(id, source); // it failed (perhaps its source changed): try with ours
    }
    const p = this.putContentOnce(id, source);
    this.inflight.set(id, p);
    try {
      return await p;
    } finally {
      if (this.inflight.get(id) === p) this.inflight.delete(id);
    }
  }

  private async putContentOnce(id: string, source: ContentSource): Promise<'stored' | 'exists'> {
    const size = 'data' in source ? source.data.length : source.size;
    const key = this.contentKey(id);
    if (await this.hasContent(id, size)) return 'exists';
    const what = `store object ${short(id)} in ${this.url(this.content.bucket, key)}`;
    if ('data' in source) {
      const actual = sha256(source.data);
      if (actual.toString('hex') !== id) throw new ContentChangedError(id, actual.toString('hex'));
      if (source.data.length <= SINGLE_PUT_MAX) await this.putBuffer(this.content, key, source.data, { what, sha: actual });
      else await this.putMultipart(this.content, key, bufferReader(source.data), source.data.length, id, what);
    } else if (source.size <= SINGLE_PUT_MAX) {
      const { data, hash } = await readSmallFile(source.path, source.size);
      if (hash !== id) throw new ContentChangedError(id, hash);
      await this.putBuffer(this.content, key, data, { what, sha: Buffer.from(id, 'hex') });
    } else {
      const fh = await fsp.open(source.path, 'r');
      try {
        await this.putMultipart(this.content, key, fileReader(fh), source.size, id, what, fh);
      } finally {
        await fh.close();
      }
    }
    this.listed?.set(id, size);
    return 'stored';
  }

  /** One PutObject of bytes in memory, with their SHA-256 for the server to check. */
  private async putBuffer(place: Place, key: string, data: Buffer, o: { what: string; sha?: Buffer; contentType?: string }): Promise<void> {
    const sha = o.sha ?? sha256(data);
    await this.call({ what: o.what, bucket: place.bucket, key }, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: place.bucket,
          Key: key,
          Body: data,
          ContentLength: data.length,
          ContentType: o.contentType ?? 'application/octet-stream',
          ChecksumAlgorithm: 'SHA256',
          ChecksumSHA256: sha.toString('base64'),
          ...this.putExtras(place),
        }),
      ),
    );
  }

  private putExtras(place: Place): { StorageClass?: StorageClass; ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string } {
    const out: { StorageClass?: StorageClass; ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string } = {};
    if (place.storageClass) out.StorageClass = place.storageClass as StorageClass;
    if (place.kmsKey) {
      out.ServerSideEncryption = 'aws:kms';
      out.SSEKMSKeyId = place.kmsKey;
    }
    return out;
  }

  /**
   * A multipart upload driven part by part, completed only when every part
   * is stored and, when `expected` is given, the bytes read hash to it.
   * Aborted on any failure. Memory: at most partsInFlight(partSize) buffers.
   */
  private async putMultipart(place: Place, key: string, reader: PartReader, size: number, expected: string | null, what: string, fh?: fsp.FileHandle): Promise<void> {
    const partSize = partSizeFor(size);
    const queue = partsInFlight(partSize);
    const op: Op = { what, bucket: place.bucket, key };
    const created = await this.call(op, () =>
      this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: place.bucket,
          Key: key,
          ContentType: 'application/octet-stream',
          ChecksumAlgorithm: 'CRC32',
          ...this.putExtras(place),
        }),
      ),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new VaultError(`vault '${this.name}': the server returned no upload id (${what})`);

    const hash = crypto.createHash('sha256');
    const parts: CompletedPart[] = [];
    const pool: Buffer[] = [];
    const inflight = new Set<Promise<void>>();
    const state: { failure: { err: unknown } | null } = { failure: null };
    let total = 0;
    try {
      for (let partNumber = 1; ; partNumber++) {
        while (inflight.size >= queue) await Promise.race(inflight);
        if (state.failure) throw state.failure.err;
        const buf = reader.inMemory ? null : (pool.pop() ?? Buffer.allocUnsafe(partSize));
        const chunk = await reader.read(buf, partSize);
        if (chunk.length === 0) {
          if (buf) pool.push(buf);
          break;
        }
        hash.update(chunk);
        total += chunk.length;
        if (expected !== null && total > size) {
          // The file grew: it is not the object any more.
          if (fh) await hashRest(fh, hash);
          throw new ContentChangedError(expected, hash.digest('hex'));
        }
        if (partNumber > MAX_PARTS) throw new VaultError(`vault '${this.name}': more than ${MAX_PARTS} parts (${what})`);
        const p = this.uploadPart(place.bucket, key, uploadId, partNumber, chunk, op)
          .then((part) => {
            parts[partNumber - 1] = part;
          })
          .catch((err) => {
            state.failure ??= { err };
          })
          .finally(() => {
            inflight.delete(p);
            if (buf) pool.push(buf);
          });
        inflight.add(p);
        if (chunk.length < partSize) break; // the reader fills whole parts: a short one is the last
      }
      await Promise.all(inflight);
      const failed = state.failure as { err: unknown } | null; // set by the parts' callbacks
      if (failed) throw failed.err;
      const actual = hash.digest('hex');
      if (expected !== null && actual !== expected) throw new ContentChangedError(expected, actual);
      if (parts.length === 0) throw new VaultError(`vault '${this.name}': nothing to upload (${what})`);
      await this.call(op, () =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: place.bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        ),
      );
    } catch (err) {
      await Promise.allSettled(inflight);
      // Best effort: an upload left in progress is invisible and aborted later by open() or a lifecycle rule.
      await this.request(() => this.client.send(new AbortMultipartUploadCommand({ Bucket: place.bucket, Key: key, UploadId: uploadId }))).catch(() => undefined);
      throw err;
    }
  }

  private async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, chunk: Buffer, op: Op): Promise<CompletedPart> {
    // Parts carry a CRC32 (hardware-fast) for the server to check the transfer;
    // the whole object's SHA-256, checked before completion, is what proves the content.
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(chunk));
    const checksum = crc.toString('base64');
    const res = await this.call(op, () =>
      this.client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: chunk,
          ContentLength: chunk.length,
          ChecksumAlgorithm: 'CRC32',
          ChecksumCRC32: checksum,
        }),
      ),
    );
    return { PartNumber: partNumber, ETag: res.ETag, ChecksumCRC32: res.ChecksumCRC32 ?? checksum };
  }

  async flush(): Promise<void> {
    // A PUT that succeeded is durable and visible.
  }

  async getContent(id: string, outputPath: string | Buffer): Promise<void> {
    const bucket = this.content.bucket;
    const key = this.contentKey(id);
    const hash = crypto.createHash('sha256');
    const what = `read object ${short(id)} from ${this.url(bucket, key)}`;
    // The slot is held until the body is read: the connection is busy until then.
    await this.request(async () => {
      let res = await this.getObject(bucket, key, what, id);
      const etag = res.ETag;
      let written = 0;
      const fh = await openOutput(outputPath, 'wx', res); // local errors (EEXIST, ENOSPC...) are thrown as they are
      try {
        for (let resumes = 0; ; ) {
          const broken = await copyBody(res, fh, (chunk) => {
            hash.update(chunk);
            written += chunk.length;
          });
          if (!broken) break;
          // The connection broke off mid-body: go on from where it stopped.
          if (++resumes > GET_RESUMES) throw this.vaultError(broken.err, { what, bucket, key });
          res = await this.getObject(bucket, key, what, id, { from: written, etag });
          if (res.ContentRange === undefined || !res.ContentRange.startsWith(`bytes ${written}-`)) {
            (res.Body as Readable | undefined)?.destroy();
            throw this.vaultError(broken.err, { what, bucket, key });
          }
        }
      } finally {
        await fh.close();
      }
    });
    const actual = hash.digest('hex');
    if (actual !== id) throw new VaultError(`vault '${this.name}': object ${id} at ${this.url(bucket, key)} is corrupt (its bytes hash to ${actual})`);
  }

  /** One GET of a content object; the caller holds a connection slot. */
  private async getObject(bucket: string, key: string, what: string, id: string, range?: { from: number; etag?: string }): Promise<GetObjectCommandOutput> {
    try {
      return await this.client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.from}-`, IfMatch: range.etag } : {}),
        }),
      );
    } catch (err) {
      const c = this.classify(err, { what, bucket, key, target: 'object' });
      if (c.kind === 'no-such-key') throw new NotFoundError(`vault '${this.name}' does not hold object ${id}`);
      if (c.kind === 'archived') {
        throw new ArchivedObjectError(
          `vault '${this.name}': object ${id} (${this.url(bucket, key)}) is in an archive storage class and must be restored first: ` +
            `aws s3api restore-object --bucket ${bucket} --key ${key} --restore-request Days=7 (or restore it in the S3 console), then retry once the restore completes`,
          this.name, bucket, key, { cause: err },
        );
      }
      throw this.vaultError(err, { what, bucket, key });
    }
  }

  // ---- metadata --------------------------------------------------------------

  async putMetadata(hostId: string, name: string, sourcePath: string): Promise<void> {
    const key = this.metadataKey(hostId, name);
    const place = this.metadata;
    const what = `store metadata ${name} in ${this.url(place.bucket, key)}`;
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(sourcePath, 'r');
    } catch (err) {
      throw new VaultError(`vault '${this.name}': cannot store metadata ${name}: cannot read ${sourcePath}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const size = (await fh.stat()).size;
      if (size <= SINGLE_PUT_MAX) {
        const data = await fh.readFile();
        await this.putBuffer(place, key, data, { what });
      } else {
        await this.putMultipart(place, key, fileReader(fh), size, null, what);
      }
    } finally {
      await fh.close();
    }
  }

  async listMetadata(hostId: string): Promise<string[]> {
    const prefix = this.metadataHostPrefix(hostId);
    const { keys } = await this.list(this.metadata.bucket, prefix, `list metadata of host ${hostId}`);
    return keys.map((k) => k.slice(prefix.length)).filter((n) => n !== '' && !n.startsWith('.')).sort();
  }

  async getMetadata(hostId: string, name: string, outputPath: string): Promise<void> {
    const bucket = this.metadata.bucket;
    const key = this.metadataKey(hostId, name);
    const what = `read metadata ${name} from ${this.url(bucket, key)}`;
    await this.request(async () => {
      let res: GetObjectCommandOutput;
      try {
        res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      } catch (err) {
        const c = this.classify(err, { what, bucket, key, target: 'object' });
        if (c.kind === 'no-such-key') throw new NotFoundError(`vault '${this.name}' has no metadata ${name} for host ${hostId}`);
        throw this.vaultError(err, { what, bucket, key });
      }
      const fh = await openOutput(outputPath, 'w', res);
      try {
        const broken = await copyBody(res, fh, () => undefined);
        if (broken) throw this.vaultError(broken.err, { what, bucket, key });
      } finally {
        await fh.close();
      }
    });
  }

  async deleteMetadata(hostId: string, name: string): Promise<void> {
    const bucket = this.metadata.bucket;
    const key = this.metadataKey(hostId, name);
    await this.call({ what: `delete metadata ${name} at ${this.url(bucket, key)}`, bucket, key }, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })),
    );
  }

  async listHosts(): Promise<string[]> {
    const prefix = `${this.cfg.metadataPrefix}metadata/`;
    const { prefixes } = await this.list(this.metadata.bucket, prefix, 'list hosts');
    return prefixes
      .map((p) => p.slice(prefix.length).replace(/\/$/, ''))
      .filter((h) => h !== '' && !h.startsWith('.'))
      .sort();
  }

  /** Keys and common prefixes one level below `prefix`, every page. */
  private async list(bucket: string, prefix: string, what: string): Promise<{ keys: string[]; prefixes: string[] }> {
    const keys: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.call({ what: `${what} (${this.url(bucket, prefix)})`, bucket }, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token })),
      );
      for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key);
      for (const p of res.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return { keys, prefixes };
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
