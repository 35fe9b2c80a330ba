// S3-specific behaviour of S3Vault, against s3rver on loopback (see
// s3-server.ts): one-line errors, bucket creation, key layout, request
// options, retries across faults and restarts, resumed downloads, archived
// objects, the credential chain, and lazy loading of the SDK.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { S3Client, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { S3Vault, partSizeFor, partsInFlight, type S3VaultOptions } from '../src/vault/s3-vault.js';
import { classifyS3Error } from '../src/vault/s3-errors.js';
import type { S3VaultSpec } from '../src/vault/s3-spec.js';
import { createVault, loadVault } from '../src/vault/factory.js';
import { ExitCode, NotFoundError, VaultError } from '../src/errors.js';
import { startS3Server, S3RVER_CREDENTIALS, type S3Server } from './s3-server.js';

// The raw client used for checks need not warn about the Node version (the
// vault's own suppression is checked in a child process below).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1 << 20;
const BUCKET = 'bt-s3-tests';

let server: S3Server;
let raw: S3Client;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-s3t-'));
let seq = 0;
const tmpPath = (label: string) => path.join(scratch, `${label}-${++seq}`);
const vaults: S3Vault[] = [];

beforeAll(async () => {
  server = await startS3Server({ buckets: [BUCKET] });
  raw = new S3Client({ region: 'us-east-1', endpoint: server.endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
});

afterAll(async () => {
  for (const v of vaults) await v.close();
  raw?.destroy();
  await server?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

afterEach(async () => {
  await server.clearFaults();
});

function spec(over: Partial<S3VaultSpec> = {}): S3VaultSpec {
  return { type: 's3', name: 'offsite', content_bucket: BUCKET, content_bucket_prefix: `t${++seq}/`, endpoint: server.endpoint, path_style: true, region: 'us-east-1', ...over };
}

function vault(over: Partial<S3VaultSpec> = {}, opts: S3VaultOptions = {}): S3Vault {
  const v = new S3Vault(spec(over), { credentials: S3RVER_CREDENTIALS, ...opts });
  vaults.push(v);
  return v;
}

function sha(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function randomFile(size: number): { file: string; id: string } {
  const data = crypto.randomBytes(size);
  const file = tmpPath('src');
  fs.writeFileSync(file, data);
  return { file, id: sha(data) };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

/** A failure that is one VaultError line. */
async function vaultFailure(p: Promise<unknown>): Promise<string> {
  const err = await failure(p);
  expect(err).toBeInstanceOf(VaultError);
  expect((err as VaultError).exitCode).toBe(ExitCode.vault);
  expect(err.message).not.toContain('\n');
  return err.message;
}

async function rawHas(key: string): Promise<boolean> {
  try {
    await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

async function uploadsInProgress(prefix: string): Promise<string[]> {
  const res = await raw.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
  return (res.Uploads ?? []).map((u) => u.Key!);
}

describe('one-line errors', () => {
  it('an unreachable endpoint', async () => {
    const v = vault({ endpoint: 'http://127.0.0.1:1' });
    const t0 = Date.now();
    expect(await vaultFailure(v.open())).toMatch(/^vault 'offsite': cannot reach http:\/\/127\.0\.0\.1:1 \(connection refused\) \(read s3:\/\/bt-s3-tests\/t\d+\/bt-vault\.json\)$/);
    expect(await vaultFailure(v.init())).toMatch(/^vault 'offsite': cannot reach http:\/\/127\.0\.0\.1:1 \(connection refused\)/);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('an unknown host', async () => {
    const v = vault({ endpoint: 'http://bt-no-such-host.invalid:9000' }, { maxAttempts: 1 });
    expect(await vaultFailure(v.open())).toMatch(/cannot reach http:\/\/bt-no-such-host\.invalid:9000 \(host (not found|name lookup failed)\)/);
  });

  it('an invalid access key', async () => {
    const v = vault({}, { credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'S3RVER' } });
    expect(await vaultFailure(v.init())).toMatch(/^vault 'offsite': invalid access key: .*InvalidAccessKeyId/);
    expect(await vaultFailure(v.open())).toMatch(/invalid access key/);
  });

  it('a missing bucket', async () => {
    const v = vault({ content_bucket: 'bt-no-such-bucket' });
    expect(await vaultFailure(v.init())).toMatch(/^vault 'offsite': bucket 'bt-no-such-bucket' does not exist \(check access to s3:\/\/bt-no-such-bucket\/\)$/);
    expect(await vaultFailure(v.open())).toMatch(/^vault 'offsite': bucket 'bt-no-such-bucket' does not exist/);
  });

  it('a vault not initialised', async () => {
    const v = vault({ content_bucket_prefix: 'never/init' });
    expect(await vaultFailure(v.open())).toBe(`vault 'offsite' (s3://${BUCKET}/never/init/) is not initialised: run 'bt config vault init offsite'`);
  });

  it('access denied, wrong region and clock skew as the server reports them', async () => {
    const v = vault({}, { maxAttempts: 2 });
    await server.fault({ method: 'GET', path: '/bt-vault.json', times: 10, action: { kind: 'status', status: 403, code: 'AccessDenied', message: 'Access Denied' } });
    expect(await vaultFailure(v.open())).toMatch(/^vault 'offsite': access denied to bucket 'bt-s3-tests' \(AccessDenied\); check the credentials' permissions/);
    await server.clearFaults();
    await server.fault({
      method: 'GET',
      path: '/bt-vault.json',
      times: 10,
      action: { kind: 'status', status: 400, code: 'AuthorizationHeaderMalformed', message: "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'" },
    });
    expect(await vaultFailure(v.open())).toMatch(/^vault 'offsite': wrong region: bucket 'bt-s3-tests' is in eu-west-1, not us-east-1; set region = "eu-west-1" for this vault/);
    await server.clearFaults();
    await server.fault({ method: 'GET', path: '/bt-vault.json', times: 10, action: { kind: 'status', status: 403, code: 'RequestTimeTooSkewed', message: 'The difference between the request time and the current time is too large.' } });
    expect(await vaultFailure(v.open())).toMatch(/system clock differs too much .*RequestTimeTooSkewed/);
  });

  it('classifies errors the local server cannot produce', () => {
    const ctx = { bucket: 'b', endpoint: 'https://s3.eu-west-1.amazonaws.com', region: 'us-east-1' };
    const cases: Array<[unknown, string, RegExp]> = [
      [Object.assign(new Error('connect ETIMEDOUT 1.2.3.4:443'), { code: 'ETIMEDOUT' }), 'unreachable', /cannot reach https:\/\/s3\.eu-west-1\.amazonaws\.com \(connection timed out\)/],
      [Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], ''), {}), 'unreachable', /connection refused/],
      [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'unreachable', /connection reset/],
      [Object.assign(new Error('timed out after 120000 ms'), { name: 'TimeoutError' }), 'unreachable', /request timed out/],
      [Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), 'no-credentials', /no usable AWS credentials/],
      [new Error('Region is missing'), 'no-region', /no region is configured/],
      [Object.assign(new Error('The bucket you are attempting to access must be addressed using the specified endpoint.'), { name: 'PermanentRedirect', Endpoint: 'b.s3-eu-west-1.amazonaws.com', $metadata: { httpStatusCode: 301 } }), 'wrong-region', /wrong region: bucket 'b' is in eu-west-1, not us-east-1/],
      [Object.assign(new Error('UnknownError'), { name: '301', $metadata: { httpStatusCode: 301 }, $response: { statusCode: 301, headers: { 'x-amz-bucket-region': 'ap-south-1' } } }), 'wrong-region', /is in ap-south-1/],
      [Object.assign(new Error('x'), { name: 'AuthorizationHeaderMalformed', Region: 'eu-central-1', $metadata: { httpStatusCode: 400 } }), 'wrong-region', /is in eu-central-1/],
      [Object.assign(new Error('The difference...'), { name: 'RequestTimeTooSkewed', $metadata: { httpStatusCode: 403 } }), 'clock-skew', /clock/],
      [Object.assign(new Error('UnknownError'), { name: 'Forbidden', $metadata: { httpStatusCode: 403 } }), 'access-denied', /access denied to bucket 'b' \(HTTP 403\)/],
      [Object.assign(new Error('UnknownError'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }), 'no-such-key', /no such object/],
      [Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }), 'throttled', /too many \(SlowDown\)/],
      [Object.assign(new Error('We encountered an internal error.'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } }), 'server-error', /server failed \(HTTP 500 InternalError/],
      [Object.assign(new Error('The token has expired'), { name: 'ExpiredToken', $metadata: { httpStatusCode: 400 } }), 'expired-credentials', /expired/],
      [Object.assign(new Error('The request signature we calculated does not match'), { name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } }), 'signature-mismatch', /secret access key does not match/],
      [Object.assign(new Error('The operation is not valid for the object\'s storage class'), { name: 'InvalidObjectState', $metadata: { httpStatusCode: 403 } }), 'archived', /must be restored first/],
      [Object.assign(new Error('line one\nline two'), { name: 'WeirdError', $metadata: { httpStatusCode: 400 } }), 'other', /^WeirdError: line one line two$/],
    ];
    for (const [err, kind, re] of cases) {
      const c = classifyS3Error(err, ctx);
      expect(c.kind, String((err as Error).message)).toBe(kind);
      expect(c.message).toMatch(re);
      expect(c.message).not.toContain('\n');
    }
    expect(classifyS3Error(Object.assign(new Error('UnknownError'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }), { bucket: 'b', target: 'bucket' }).kind).toBe('no-such-bucket');
  });
});

describe('buckets and layout', () => {
  it('init creates missing buckets only when asked', async () => {
    const v = vault({ content_bucket: 'bt-created-by-init', content_bucket_prefix: '' });
    expect(await vaultFailure(v.init())).toMatch(/bucket 'bt-created-by-init' does not exist/);
    await v.init({ createBucket: true });
    await v.open();
    await v.init({ createBucket: true }); // exists already: fine
    const w = vault({ content_bucket: 'bt-created-by-option', metadata_bucket: 'bt-created-meta' }, { createBucket: true });
    await w.init();
    await w.putMetadata('h1', 'm', tmpFileWith('meta'));
    expect(await w.listMetadata('h1')).toEqual(['m']);
  });

  it('keys: content, metadata and the marker under their prefixes and buckets', async () => {
    const v = vault(
      { content_bucket_prefix: 'backups/laptop', metadata_bucket: 'bt-layout-meta', metadata_bucket_prefix: '/meta' },
      { createBucket: true },
    );
    expect(v.location).toBe(`s3://${BUCKET}/backups/laptop/`);
    await v.init();
    const data = crypto.randomBytes(100);
    const id = sha(data);
    await v.putContent(id, { data });
    await v.putMetadata('host-1', 'snap.gz', tmpFileWith('x'));
    const marker = await raw.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'backups/laptop/bt-vault.json' }));
    expect(JSON.parse(await marker.Body!.transformToString())).toMatchObject({ format: 'bt-vault', version: 1 });
    expect(await rawHas(`backups/laptop/content/${id}`)).toBe(true);
    const meta = await raw.send(new ListObjectsV2Command({ Bucket: 'bt-layout-meta' }));
    expect((meta.Contents ?? []).map((o) => o.Key)).toEqual(['meta/metadata/host-1/snap.gz']);
    const all = await raw.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'backups/laptop/' }));
    expect((all.Contents ?? []).map((o) => o.Key).sort()).toEqual([`backups/laptop/bt-vault.json`, `backups/laptop/content/${id}`]);
  });

  it('rejects host ids and names that would escape their prefix', async () => {
    const v = vault();
    await v.init();
    await expect(v.listMetadata('../x')).rejects.toThrow(VaultError);
    await expect(v.putMetadata('h', 'a/b', tmpFileWith('x'))).rejects.toThrow(VaultError);
  });
});

function tmpFileWith(text: string): string {
  const p = tmpPath('file');
  fs.writeFileSync(p, text);
  return p;
}

describe('requests', () => {
  it('an object held already is not sent again', async () => {
    const v = vault();
    await v.init();
    const { file, id } = randomFile(20 * MiB);
    expect(await v.putContent(id, { path: file, size: 20 * MiB })).toBe('stored');
    await server.clearRequests();
    expect(await v.putContent(id, { path: file, size: 20 * MiB })).toBe('exists');
    const reqs = await server.requests();
    expect(reqs.map((r) => r.method)).toEqual(['HEAD']);
  });

  it('single puts carry the SHA-256 (the id); multipart parts carry theirs; storage class and SSE-KMS apply', async () => {
    const v = vault({ storage_class: 'STANDARD_IA', content_bucket_key: 'content-kms-key', metadata_bucket_key: 'meta-kms-key' });
    await v.init();
    await server.clearRequests();
    const small = randomFile(1000);
    await v.putContent(small.id, { path: small.file, size: 1000 });
    const big = randomFile(17 * MiB + 5);
    await v.putContent(big.id, { path: big.file, size: 17 * MiB + 5 });
    await v.putMetadata('h', 'snap', tmpFileWith('meta'));
    const reqs = await server.requests();
    const writes = reqs.filter((r) => r.method === 'PUT' || r.method === 'POST');

    const single = writes.find((r) => r.path.endsWith(small.id))!;
    expect(single.headers['x-amz-checksum-sha256']).toBe(Buffer.from(small.id, 'hex').toString('base64'));
    expect(single.headers['x-amz-storage-class']).toBe('STANDARD_IA');
    expect(single.headers['x-amz-server-side-encryption']).toBe('aws:kms');
    expect(single.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('content-kms-key');

    const multi = writes.filter((r) => r.path.endsWith(big.id));
    expect(multi[0]!.method).toBe('POST');
    expect(multi[0]!.query).toMatch(/uploads/);
    expect(multi[0]!.headers['x-amz-storage-class']).toBe('STANDARD_IA');
    expect(multi[0]!.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('content-kms-key');
    const parts = multi.filter((r) => /partNumber=/.test(r.query));
    expect(parts).toHaveLength(3); // 8 + 8 + 1 MiB
    for (const p of parts) expect(p.headers['x-amz-checksum-crc32']).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    expect(multi.at(-1)!.method).toBe('POST');
    expect(multi.at(-1)!.query).toMatch(/uploadId=/);

    const meta = writes.find((r) => r.path.endsWith('/metadata/h/snap'))!;
    expect(meta.headers['x-amz-storage-class']).toBeUndefined(); // metadata stays readable without a restore
    expect(meta.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('meta-kms-key');
    expect(writes.find((r) => r.path.endsWith('bt-vault.json'))).toBeUndefined(); // init had written it
  });

  it('part size grows so that no object needs more than 10,000 parts; memory stays bounded', () => {
    expect(partSizeFor(1)).toBe(8 * MiB);
    expect(partSizeFor(80 * 1024 * MiB)).toBe(9 * MiB);
    const tib5 = 5 * 1024 * 1024 * MiB;
    expect(Math.ceil(tib5 / partSizeFor(tib5))).toBeLessThanOrEqual(10_000);
    expect(partsInFlight(8 * MiB)).toBe(4);
    expect(partsInFlight(partSizeFor(tib5))).toBe(1);
  });

  it('the connections setting bounds the sockets', () => {
    const v = vault({ connections: 3 });
    const agents = (v as unknown as { agents: { http: { maxSockets: number }; https: { maxSockets: number } } }).agents;
    expect(agents.http.maxSockets).toBe(3);
    expect(agents.https.maxSockets).toBe(3);
    expect((vault() as unknown as { agents: { http: { maxSockets: number } } }).agents.http.maxSockets).toBe(8);
  });
});

describe('faults and retries', () => {
  it('requests beyond the connections wait for a slot, not against the connection timeout', async () => {
    // One connection, a 300 ms budget to get it, and answers that take 150 ms:
    // eight reads at once only succeed if they queue before the HTTP agent.
    const v = vault({ connections: 1 }, { connectionTimeoutMs: 300, maxAttempts: 1 });
    await v.init();
    const objects = Array.from({ length: 8 }, () => randomFile(64 * 1024));
    for (const o of objects) await v.putContent(o.id, { path: o.file, size: 64 * 1024 });
    await server.fault({ method: 'GET', path: '/content/', times: 8, action: { kind: 'delay', ms: 150 } });
    const outs = objects.map(() => tmpPath('out'));
    await Promise.all(objects.map((o, i) => v.getContent(o.id, outs[i]!)));
    for (const [i, o] of objects.entries()) expect(sha(fs.readFileSync(outs[i]!))).toBe(o.id);
  });

  it('throttling, server errors and connection resets are retried', async () => {
    const v = vault();
    await v.init();
    const data = crypto.randomBytes(3000);
    const id = sha(data);
    await server.fault({ method: 'PUT', path: id, times: 1, action: { kind: 'status', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' } });
    await server.fault({ method: 'PUT', path: id, times: 1, action: { kind: 'status', status: 500, code: 'InternalError' } });
    await server.fault({ method: 'PUT', path: id, times: 1, action: { kind: 'reset' } });
    expect(await v.putContent(id, { data })).toBe('stored');
    await server.fault({ method: 'GET', path: id, times: 2, action: { kind: 'reset' } });
    const out = tmpPath('out');
    await v.getContent(id, out);
    expect(fs.readFileSync(out).equals(data)).toBe(true);
  });

  it('permanent failures are not retried', async () => {
    const v = vault();
    await v.init();
    await server.fault({ method: 'GET', path: '/bt-vault.json', times: 10, action: { kind: 'status', status: 403, code: 'AccessDenied' } });
    await server.clearRequests();
    await vaultFailure(v.open());
    expect((await server.requests()).filter((r) => r.path.endsWith('/bt-vault.json'))).toHaveLength(1);
  });

  it('a multipart upload survives a server restart in the middle', async () => {
    const v = vault({}, { maxAttempts: 10 });
    await v.init();
    const { file, id } = randomFile(48 * MiB);
    await server.clearRequests();
    const put = v.putContent(id, { path: file, size: 48 * MiB });
    await waitFor(async () => (await server.requests()).some((r) => /partNumber=/.test(r.query)));
    await server.kill();
    await server.start();
    expect(await put).toBe('stored');
    const out = tmpPath('out');
    await v.getContent(id, out);
    expect(sha(fs.readFileSync(out))).toBe(id);
  });

  it('an upload cut off by an outage leaves no object; open() aborts the abandoned upload', async () => {
    const v = vault({}, { maxAttempts: 2, staleUploadAgeMs: 0 });
    await v.init();
    const prefix = (v.location.match(/^s3:\/\/[^/]+\/(.*)$/) ?? [])[1]!;
    const { file, id } = randomFile(40 * MiB);
    await server.clearRequests();
    const put = v.putContent(id, { path: file, size: 40 * MiB });
    await waitFor(async () => (await server.requests()).some((r) => /partNumber=/.test(r.query)));
    await server.kill();
    expect(await vaultFailure(put)).toMatch(/^vault 'offsite': cannot reach http:\/\/127\.0\.0\.1:\d+ \(connection (refused|reset)\) \(store object /);
    await server.start();
    expect(await rawHas(`${prefix}content/${id}`)).toBe(false);
    // The abort could not reach the server: the upload is left in progress, invisible...
    expect(await uploadsInProgress(`${prefix}content/`)).toEqual([`${prefix}content/${id}`]);
    // ...until a run opens the vault and finds it stale.
    await v.open();
    expect(await uploadsInProgress(`${prefix}content/`)).toEqual([]);
    expect(await v.hasContent(id)).toBe(false);
  });

  it('a download that breaks off mid-body resumes where it stopped', async () => {
    const v = vault();
    await v.init();
    const { file, id } = randomFile(6 * MiB);
    await v.putContent(id, { path: file, size: 6 * MiB });
    await server.clearRequests();
    await server.fault({ method: 'GET', path: id, times: 1, action: { kind: 'cut', afterBytes: 2 * MiB + 1 } });
    const out = tmpPath('out');
    await v.getContent(id, out);
    expect(sha(fs.readFileSync(out))).toBe(id);
    const gets = (await server.requests()).filter((r) => r.method === 'GET');
    expect(gets.length).toBe(2);
    expect(gets[1]!.headers.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/bytes=(\d+)-/.exec(gets[1]!.headers.range!)![1])).toBeGreaterThan(0);
  });

  it('an object in an archive storage class names the restore to run', async () => {
    const v = vault({ storage_class: 'GLACIER' });
    await v.init();
    const data = crypto.randomBytes(100);
    const id = sha(data);
    await v.putContent(id, { data });
    await server.fault({ method: 'GET', path: id, times: 1, action: { kind: 'status', status: 403, code: 'InvalidObjectState', message: "The operation is not valid for the object's storage class" } });
    const out = tmpPath('out');
    const msg = await vaultFailure(v.getContent(id, out));
    const key = `${(v.location.match(/^s3:\/\/[^/]+\/(.*)$/) ?? [])[1]}content/${id}`;
    expect(msg).toContain(`object ${id}`);
    expect(msg).toContain(`must be restored first: aws s3api restore-object --bucket ${BUCKET} --key ${key} --restore-request Days=7`);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a local write failure is thrown as it is and releases the connection', async () => {
    const v = vault({ connections: 1 });
    await v.init();
    const { file, id } = randomFile(3 * MiB);
    await v.putContent(id, { path: file, size: 3 * MiB });
    const existing = tmpFileWith('already here');
    const err = await failure(v.getContent(id, existing));
    expect(err).not.toBeInstanceOf(VaultError);
    expect((err as NodeJS.ErrnoException).code).toBe('EEXIST');
    // With one connection, a response left unread would block this one.
    const out = tmpPath('out');
    await v.getContent(id, out);
    expect(sha(fs.readFileSync(out))).toBe(id);
  });

  it('a missing object is NotFoundError, not a vault failure', async () => {
    const v = vault();
    await v.init();
    await expect(v.getContent('0'.repeat(64), tmpPath('out'))).rejects.toBeInstanceOf(NotFoundError);
  });
});

async function waitFor(cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('credentials from the default chain', () => {
  const saved: Record<string, string | undefined> = {};
  const VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_EC2_METADATA_DISABLED'];
  beforeAll(() => {
    for (const k of VARS) saved[k] = process.env[k];
    for (const k of VARS) delete process.env[k];
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    const creds = tmpPath('credentials');
    fs.writeFileSync(creds, '[bt-test]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n');
    const config = tmpPath('config');
    fs.writeFileSync(config, '');
    process.env.AWS_SHARED_CREDENTIALS_FILE = creds;
    process.env.AWS_CONFIG_FILE = config;
  });
  afterAll(() => {
    for (const k of VARS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('a profile of the shared credentials file', async () => {
    const v = new S3Vault(spec({ profile: 'bt-test' }));
    vaults.push(v);
    await v.init();
  });

  it('environment variables', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    try {
      const v = new S3Vault(spec());
      vaults.push(v);
      await v.init();
    } finally {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });

  it('none at all, or an unknown profile, is one line naming the cause', async () => {
    const v = new S3Vault(spec({ profile: 'no-such-profile' }));
    vaults.push(v);
    expect(await vaultFailure(v.open())).toMatch(/^vault 'offsite': no usable AWS credentials for profile 'no-such-profile': /);
    const w = new S3Vault(spec());
    vaults.push(w);
    expect(await vaultFailure(w.open())).toMatch(/^vault 'offsite': no usable AWS credentials: set AWS_ACCESS_KEY_ID/);
  });
});

describe('factory', () => {
  it('createVault gives an S3 vault without loading the SDK; loadVault loads it', async () => {
    const lazy = createVault(spec({ content_bucket_prefix: 'lazy' }));
    expect(lazy.kind).toBe('s3');
    expect(lazy.location).toBe(`s3://${BUCKET}/lazy/`);
    await lazy.close(); // never loaded: nothing to do
    const loaded = await loadVault(spec(), { credentials: S3RVER_CREDENTIALS });
    expect(loaded).toBeInstanceOf(S3Vault);
    await loaded.close();
  });

  const factoryUrl = pathToFileURL(path.join(REPO, 'dist', 'src', 'vault', 'factory.js')).href;
  const childEnv = () => {
    const env = { ...process.env };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    return env;
  };

  it('(built) no AWS SDK module is loaded until an S3 vault is used', () => {
    const hook = `export async function resolve(s, c, n) { if (s.startsWith('@aws-sdk/') || s.startsWith('@smithy/')) throw new Error('SDK loaded: ' + s); return n(s, c); }`;
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
      const { createVault } = await import(${JSON.stringify(factoryUrl)});
      const fsv = createVault({ type: 'fs', name: 'local', vault_root: '/nonexistent/bt' });
      const v = createVault({ type: 's3', name: 'x', content_bucket: 'bkt-lazy', content_bucket_prefix: 'p' });
      console.log(JSON.stringify({ fs: fsv.kind, kind: v.kind, location: v.location }));
      await v.close();
      console.log(await v.open().then(() => 'opened', (e) => e.message));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8', env: childEnv() });
    expect(r.stderr).not.toMatch(/Error/);
    const [first, second] = r.stdout.trim().split('\n');
    expect(JSON.parse(first!)).toEqual({ fs: 'fs', kind: 's3', location: 's3://bkt-lazy/p/' });
    expect(second).toMatch(/SDK loaded: @aws-sdk\//);
  });

  it('(built) the SDK\'s NodeVersionSupportWarning is suppressed, other warnings are not', () => {
    const script = `
      const { loadVault } = await import(${JSON.stringify(factoryUrl)});
      const v = await loadVault({ type: 's3', name: 'x', content_bucket: 'bkt-warn', endpoint: 'http://127.0.0.1:1', path_style: true });
      const w = await loadVault({ type: 's3', name: 'y', content_bucket: 'bkt-warn', region: 'eu-west-1' });
      process.emitWarning('some other warning');
      console.log(String(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED));
      await v.close();
      await w.close();
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8', env: childEnv() });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('some other warning');
    expect(r.stderr).not.toContain('NodeVersionSupportWarning');
    expect(r.stdout.trim()).toBe('undefined');
  });
});
