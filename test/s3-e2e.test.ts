// End-to-end tests of S3 vaults through the real CLI (a child process per
// command) against s3rver on loopback (see s3-server.ts): fs and S3 at once,
// recovery on a fresh HOME from S3 alone, two hosts sharing a bucket, the
// server dying in the middle of a backup, a vault added later, restore
// falling back to S3, one-line errors, and what `bt config vault add s3`
// writes to bt.toml.
//
// Credentials come from the AWS default chain: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY in the child's environment. HOME is the test's temp
// dir, so no real ~/.aws is read.

import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseToml } from 'smol-toml';
import { S3Client, HeadBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  cleanupAll, compareTrees, expectCleanError, fingerprint, initConfig, lines, makeEnv, ok, readTree, sha256, sleep, vaultObjects, weirdTree,
  withDb, writeTree, type BtEnv, type RunResult,
} from './helpers.js';
import { startS3Server, S3RVER_CREDENTIALS, type S3Server } from './s3-server.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const MiB = 1 << 20;
const AWS_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };

const B_MAIN = 'bt-e2e-main';
const B_SHARED = 'bt-e2e-shared';
const B_LATE = 'bt-e2e-late';
const B_ERR = 'bt-e2e-errors';

let server: S3Server;
const servers: S3Server[] = [];

beforeAll(async () => {
  server = await startS3Server({ buckets: [B_MAIN, B_SHARED, B_LATE, B_ERR] });
  servers.push(server);
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  cleanupAll();
});

// ---------------------------------------------------------------------------
// helpers

/** A fresh HOME with a config (vault 'local') and the S3 credentials in its environment. */
function s3Env(): BtEnv {
  const env = makeEnv({ env: AWS_ENV });
  initConfig(env);
  return env;
}

function addS3(env: BtEnv, name: string, srv: S3Server, bucket: string, extra: string[] = []): RunResult {
  return ok(env.run(['config', 'vault', 'add', 's3', name, '--bucket', bucket, '--endpoint', srv.endpoint, '--path-style', '--region', 'us-east-1', ...extra]));
}

function hostIdOf(env: BtEnv): string {
  return JSON.parse(ok(env.run(['config', 'list', '--json'])).stdout).host_id;
}

function rawClient(srv: S3Server): S3Client {
  return new S3Client({ region: 'us-east-1', endpoint: srv.endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS, maxAttempts: 2 });
}

/** Every key below prefix in the bucket, with its size (a fresh client each time: the server may have been restarted). */
async function listBucket(srv: S3Server, bucket: string, prefix = ''): Promise<Map<string, number>> {
  const client = rawClient(srv);
  const out = new Map<string, number>();
  try {
    let token: string | undefined;
    do {
      const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of res.Contents ?? []) out.set(o.Key!, o.Size ?? 0);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  } finally {
    client.destroy();
  }
  return out;
}

/** Content objects (id -> size) under `<prefix>content/`. */
async function bucketContent(srv: S3Server, bucket: string, prefix = ''): Promise<Map<string, number>> {
  const p = `${prefix}content/`;
  const out = new Map<string, number>();
  for (const [k, size] of await listBucket(srv, bucket, p)) out.set(k.slice(p.length), size);
  return out;
}

async function bucketExists(srv: S3Server, bucket: string): Promise<boolean> {
  const client = rawClient(srv);
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

function hasMarker(keys: Map<string, number>): boolean {
  return [...keys.keys()].some((k) => k.endsWith('bt-vault.json'));
}

/** Where s3rver keeps an object's bytes. */
function serverFile(srv: S3Server, bucket: string, key: string): string {
  return path.join(srv.directory, bucket, `${key}._S3rver_object`);
}

/**
 * Kill the server as an outage would, then make its store look like S3's
 * after one: S3 shows an object only once its PUT completed, but s3rver
 * writes the bytes, the .md5 and the metadata file one after the other, so
 * a kill in between leaves a half-written object (which it then answers
 * with HTTP 500 forever). Such objects are removed, as if never written.
 */
async function killServer(srv: S3Server): Promise<string[]> {
  await srv.kill();
  const removed: string[] = [];
  const walk = (dir: string) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) {
        if (d.name !== '._S3rver_uploads') walk(p);
        continue;
      }
      if (!d.name.endsWith('._S3rver_object')) continue;
      const base = p.slice(0, -'._S3rver_object'.length);
      let whole = true;
      try {
        JSON.parse(fs.readFileSync(`${base}._S3rver_metadata.json`, 'utf8'));
        const md5 = fs.readFileSync(`${p}.md5`, 'utf8');
        if (md5 !== crypto.createHash('md5').update(fs.readFileSync(p)).digest('hex')) whole = false;
      } catch {
        whole = false;
      }
      if (whole) continue;
      for (const f of [p, `${p}.md5`, `${base}._S3rver_metadata.json`]) fs.rmSync(f, { force: true });
      removed.push(path.relative(srv.directory, base));
    }
  };
  walk(srv.directory);
  return removed;
}

/** Content objects below `<prefix>content/` on the server's disk (counted without a request, while bt runs). */
function serverContentCount(srv: S3Server, bucket: string, prefix = ''): number {
  try {
    return fs.readdirSync(path.join(srv.directory, bucket, prefix, 'content')).filter((n) => n.endsWith('._S3rver_object')).length;
  } catch {
    return 0;
  }
}

function contentRows(env: BtEnv): Array<{ id: string; size: number }> {
  return withDb(env.dbFile, (db) => db.prepare('SELECT id, size FROM content ORDER BY id').all() as Array<{ id: string; size: number }>);
}

function vaultRows(env: BtEnv, vault: string): Array<{ id: string; size: number }> {
  return withDb(env.dbFile, (db) =>
    db.prepare('SELECT c.id, c.size FROM content c JOIN content_vault v ON v.content_id = c.id WHERE v.vault = ? ORDER BY c.id').all(vault) as Array<{ id: string; size: number }>,
  );
}

/**
 * Every content row the database says the S3 vault holds is in the bucket,
 * with the recorded size and bytes that hash to its id. Returns problems.
 */
async function s3RowsHeld(env: BtEnv, vault: string, srv: S3Server, bucket: string, prefix = ''): Promise<string[]> {
  const inBucket = await bucketContent(srv, bucket, prefix);
  const problems: string[] = [];
  for (const r of vaultRows(env, vault)) {
    const size = inBucket.get(r.id);
    if (size === undefined) {
      problems.push(`${r.id}: recorded as held by '${vault}' but not in the bucket`);
      continue;
    }
    if (size !== r.size) {
      problems.push(`${r.id}: recorded size ${r.size}, bucket holds ${size} bytes`);
      continue;
    }
    const actual = sha256(fs.readFileSync(serverFile(srv, bucket, `${prefix}content/${r.id}`)));
    if (actual !== r.id) problems.push(`${r.id}: the bucket's bytes hash to ${actual}`);
  }
  return problems;
}

/** The newest metadata version a bucket holds for a host, opened as a database: its snapshot count. */
async function newestMetadataSnapshots(srv: S3Server, bucket: string, prefix: string, hostId: string, scratch: string): Promise<number> {
  const p = `${prefix}metadata/${hostId}/`;
  const names = [...(await listBucket(srv, bucket, p)).keys()].map((k) => k.slice(p.length)).filter((n) => /^db-.*\.sqlite3\.gz$/.test(n)).sort();
  expect(names.length).toBeGreaterThan(0);
  const tmp = path.join(scratch, `newest-${crypto.randomBytes(4).toString('hex')}.sqlite3`);
  fs.writeFileSync(tmp, zlib.gunzipSync(fs.readFileSync(serverFile(srv, bucket, p + names.at(-1)!))));
  try {
    return withDb(tmp, (db) => (db.prepare('SELECT COUNT(*) AS n FROM file_snapshot').get() as { n: number }).n);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

interface Spawned {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: boolean;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startBt(env: BtEnv, args: string[]): Spawned {
  const child = env.spawn(args);
  const s: Spawned = { child, stdout: '', stderr: '', exited: false, done: null as never };
  child.stdout!.on('data', (d) => (s.stdout += d));
  child.stderr!.on('data', (d) => (s.stderr += d));
  s.done = new Promise((resolve) => child.on('close', (code, signal) => {
    s.exited = true;
    resolve({ code, signal });
  }));
  return s;
}

async function waitUntil(cond: () => boolean, s: Spawned, timeoutMs = 60_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (cond()) return true;
    if (s.exited) return false;
    await sleep(5);
  }
  return false;
}

/** Whether the process exits within ms; killed (and false) otherwise. */
async function exitsWithin(s: Spawned, ms: number): Promise<boolean> {
  const t = setTimeout(() => s.child.kill('SIGKILL'), ms);
  const r = await s.done;
  clearTimeout(t);
  return r.signal !== 'SIGKILL';
}

// ---------------------------------------------------------------------------

describe('a host backing up to the local fs vault and S3 at once', () => {
  const PREFIX = 'laptop/';
  let host: BtEnv;
  let src: string;
  let hostId: string;
  let expected: ReturnType<typeof readTree>;
  let backup: RunResult;
  let bigId: string;
  let requests: Awaited<ReturnType<S3Server['requests']>>;

  beforeAll(async () => {
    host = s3Env();
    hostId = hostIdOf(host);
    addS3(host, 's3', server, B_MAIN, ['--prefix', PREFIX]);
    ok(host.run(['config', 'vault', 'init', 's3']));
    src = path.join(host.work, 'precious');
    const big = crypto.randomBytes(21 * MiB + 12345); // more than 8 MiB: a multipart upload of 3 parts
    bigId = sha256(big);
    writeTree(src, [
      ...weirdTree('s3-e2e'),
      { path: 'media/holiday video ☀.bin', content: big, mtime: 1_650_000_000.5 },
      { path: 'ünï dir/sub dir/notes — 2024.txt', content: 'nested unicode\n', mtime: 1_650_000_001 },
      { path: 'bin/run-me', content: '#!/bin/sh\nexit 0\n', mode: 0o750, mtime: 1_650_000_002 },
      { path: 'links/to-video', symlink: '../media/holiday video ☀.bin', mtime: 1_650_000_003 },
    ]);
    ok(host.run(['dir', 'init', src]));
    ok(host.run(['add'], { cwd: src }));
    await server.clearRequests();
    backup = host.run(['backup']);
    requests = await server.requests();
    expected = readTree(src);
  });

  it('the backup exits 0 and both vaults hold every content object', async () => {
    ok(backup);
    expect(backup.stdout).toMatch(/^backup: \d+ files, \d+ new versions/);
    const ids = contentRows(host).map((r) => r.id).sort();
    expect(ids).toContain(bigId);
    expect(ids).toContain(sha256(''));
    expect(vaultObjects(host.vaultRoot).map((o) => o.id).sort()).toEqual(ids);
    const inBucket = await bucketContent(server, B_MAIN, PREFIX);
    expect([...inBucket.keys()].sort()).toEqual(ids);
    expect(await s3RowsHeld(host, 's3', server, B_MAIN, PREFIX)).toEqual([]);
    expect(vaultRows(host, 'local').map((r) => r.id)).toEqual(ids);
    expect(vaultRows(host, 's3').map((r) => r.id)).toEqual(ids);
    // nothing outside the prefix but the bucket's own entries
    const stray = [...(await listBucket(server, B_MAIN)).keys()].filter((k) => !k.startsWith(PREFIX));
    expect(stray).toEqual([]);
  });

  it('the 21 MiB file went up as a multipart upload, the small ones in one PUT each', () => {
    const bigKey = `/${B_MAIN}/${PREFIX}content/${bigId}`;
    const forBig = requests.filter((r) => r.path === bigKey);
    expect(forBig.some((r) => r.method === 'POST' && /(^|&)uploads(=|&|$)/.test(r.query))).toBe(true);
    expect(forBig.filter((r) => r.method === 'PUT' && /partNumber=/.test(r.query))).toHaveLength(3);
    expect(forBig.some((r) => r.method === 'POST' && /uploadId=/.test(r.query))).toBe(true);
    // each part carried its own CRC32 for the server to check
    for (const r of forBig.filter((x) => x.method === 'PUT')) expect(r.headers['x-amz-checksum-crc32']).toBeTruthy();
    const small = requests.filter((r) => r.method === 'PUT' && r.path.startsWith(`/${B_MAIN}/${PREFIX}content/`) && r.path !== bigKey);
    expect(small.length).toBeGreaterThan(0);
    for (const r of small) {
      expect(r.query).not.toMatch(/partNumber|uploadId/);
      expect(r.headers['x-amz-checksum-sha256']).toBeTruthy();
    }
  });

  it('metadata (database versions and host.json) is in both vaults', async () => {
    const fsMeta = fs.readdirSync(path.join(host.vaultRoot, 'metadata', hostId));
    expect(fsMeta).toContain('host.json');
    expect(fsMeta.some((n) => /^db-.*\.sqlite3\.gz$/.test(n))).toBe(true);
    const p = `${PREFIX}metadata/${hostId}/`;
    const s3Meta = [...(await listBucket(server, B_MAIN, p)).keys()].map((k) => k.slice(p.length));
    expect(s3Meta).toContain('host.json');
    expect(s3Meta.some((n) => /^db-.*\.sqlite3\.gz$/.test(n))).toBe(true);
    const files = withDb(host.dbFile, (db) => (db.prepare('SELECT COUNT(*) AS n FROM file_snapshot').get() as { n: number }).n);
    expect(await newestMetadataSnapshots(server, B_MAIN, PREFIX, hostId, host.root)).toBe(files);
    expect(hasMarker(await listBucket(server, B_MAIN, PREFIX))).toBe(true);
  });

  it('recovery on a fresh HOME from the S3 vault alone gives an identical tree', async () => {
    const fresh = s3Env();
    ok(fresh.run(['config', 'vault', 'remove', 'local']));
    addS3(fresh, 's3', server, B_MAIN, ['--prefix', PREFIX]);
    expect(JSON.parse(ok(fresh.run(['config', 'vault', 'list', '--json'])).stdout).map((v: { name: string }) => v.name)).toEqual(['s3']);

    const listing = ok(fresh.run(['recover', '--list', '--vault', 's3']));
    expect(listing.stdout).toContain(hostId);
    expect(listing.stdout).toContain(src);
    const j = JSON.parse(ok(fresh.run(['recover', '--list', '--vault', 's3', '--json'])).stdout);
    expect(j.map((h: { host_id: string }) => h.host_id)).toEqual([hostId]);
    expect(j[0].directories).toEqual([src]);

    const r = ok(fresh.run(['recover', '--host-id', hostId, '--vault', 's3']));
    expect(r.stdout).toContain(hostId);
    expect(hostIdOf(fresh)).toBe(hostId);

    await server.clearRequests();
    const target = path.join(fresh.work, 'restored');
    ok(fresh.run(['restore', src, '--target', target]));
    expect(compareTrees(expected, target)).toEqual([]);
    // the bytes came from S3, the big object among them
    const gets = (await server.requests()).filter((x) => x.method === 'GET' && x.path.includes(`/${PREFIX}content/`));
    expect(gets.some((x) => x.path.endsWith(bigId))).toBe(true);
  });

  it('a restore from S3 alone over one connection gets through a download cut short, a reset connection and a 500', async () => {
    const fresh = s3Env();
    ok(fresh.run(['config', 'vault', 'remove', 'local']));
    // One connection: the restore's many files in flight queue for it.
    addS3(fresh, 's3', server, B_MAIN, ['--prefix', PREFIX, '--connections', '1']);
    ok(fresh.run(['recover', '--host-id', hostId, '--vault', 's3']));
    const others = contentRows(fresh).filter((r) => r.id !== bigId && r.size > 0).map((r) => r.id);
    await server.clearFaults();
    await server.fault({ method: 'GET', path: `/${PREFIX}content/${bigId}`, action: { kind: 'cut', afterBytes: 9 * MiB } });
    await server.fault({ method: 'GET', path: `/${PREFIX}content/${others[0]}`, action: { kind: 'reset' } });
    await server.fault({ method: 'GET', path: `/${PREFIX}content/${others[1]}`, action: { kind: 'status', status: 500, code: 'InternalError' } });
    await server.clearRequests();
    const target = path.join(fresh.work, 'restored');
    try {
      ok(fresh.run(['restore', src, '--target', target]));
    } finally {
      await server.clearFaults();
    }
    expect(compareTrees(expected, target)).toEqual([]);
    const reqs = await server.requests();
    // the cut download went on from where it stopped
    expect(reqs.some((x) => x.method === 'GET' && x.path.endsWith(bigId) && /^bytes=[1-9]\d*-$/.test(x.headers.range ?? ''))).toBe(true);
    for (const id of others.slice(0, 2)) expect(reqs.filter((x) => x.method === 'GET' && x.path.endsWith(id)).length).toBeGreaterThanOrEqual(2);
  });

  it('restore falls back to S3 when an object is missing from, or corrupt in, the fs vault', async () => {
    const objects = vaultObjects(host.vaultRoot).filter((o) => o.size > 0);
    const bigObj = objects.find((o) => o.id === bigId)!;
    const other = objects.find((o) => o.id !== bigId && o.size > 10)!;
    expect(bigObj).toBeDefined();
    expect(other).toBeDefined();
    // lose the big one, corrupt another (same size, different bytes)
    fs.rmSync(bigObj.file);
    fs.chmodSync(other.file, 0o644);
    const bytes = fs.readFileSync(other.file);
    bytes[0]! ^= 0xff;
    fs.writeFileSync(other.file, bytes);

    await server.clearRequests();
    const target = path.join(host.work, 'restored-fallback');
    const r = host.run(['restore', src, '--target', target]);
    ok(r);
    expect(compareTrees(expected, target)).toEqual([]);
    const gets = (await server.requests()).filter((x) => x.method === 'GET' && x.path.includes(`/${PREFIX}content/`));
    expect(gets.some((x) => x.path.endsWith(bigId))).toBe(true);
    expect(gets.some((x) => x.path.endsWith(other.id))).toBe(true);

    // a single file too
    const one = path.join(host.work, 'one');
    ok(host.run(['restore', path.join(src, 'media', 'holiday video ☀.bin'), '--target', one]));
    expect(sha256(fs.readFileSync(path.join(one, 'media', 'holiday video ☀.bin')))).toBe(bigId);
  });
});

// ---------------------------------------------------------------------------

describe('two hosts sharing one bucket', () => {
  const PREFIX = 'team/';
  let a: BtEnv;
  let b: BtEnv;
  let srcA: string;
  let srcB: string;
  const common = [crypto.randomBytes(300 * 1024), crypto.randomBytes(2 * MiB + 7), Buffer.from('same text on both hosts\n')];
  const onlyA = crypto.randomBytes(50_000);
  const onlyB = crypto.randomBytes(60_000);
  let putsByB: Awaited<ReturnType<S3Server['requests']>>;
  let allPuts: Awaited<ReturnType<S3Server['requests']>>;

  beforeAll(async () => {
    a = s3Env();
    b = s3Env();
    for (const env of [a, b]) {
      ok(env.run(['config', 'vault', 'remove', 'local']));
      addS3(env, 'shared', server, B_SHARED, ['--prefix', PREFIX]);
      ok(env.run(['config', 'vault', 'init', 'shared']));
    }
    srcA = path.join(a.work, 'docs');
    srcB = path.join(b.work, 'papers');
    writeTree(srcA, [
      { path: 'c0.bin', content: common[0] }, { path: 'sub/c1.bin', content: common[1] }, { path: 'c2.txt', content: common[2] },
      { path: 'a-only.bin', content: onlyA },
    ]);
    writeTree(srcB, [
      { path: 'other name.bin', content: common[0] }, { path: 'deep/er/c1 copy.bin', content: common[1] }, { path: 'c2.txt', content: common[2] },
      { path: 'b-only.bin', content: onlyB },
    ]);
    await server.clearRequests();
    ok(a.run(['dir', 'init', srcA]));
    ok(a.run(['backup', '-a']));
    const putsByA = (await server.requests()).filter((r) => r.method === 'PUT' || r.method === 'POST');
    await server.clearRequests();
    ok(b.run(['dir', 'init', srcB]));
    ok(b.run(['backup', '-a']));
    putsByB = (await server.requests()).filter((r) => r.method === 'PUT' || r.method === 'POST');
    allPuts = [...putsByA, ...putsByB];
  });

  it('the hosts have different host ids', () => {
    expect(hostIdOf(a)).not.toBe(hostIdOf(b));
  });

  it('identical content is stored once: one object per distinct content under the content prefix', async () => {
    const ids = new Set([...common, onlyA, onlyB].map((x) => sha256(x)));
    const inBucket = await bucketContent(server, B_SHARED, PREFIX);
    expect([...inBucket.keys()].sort()).toEqual([...ids].sort());
    expect(await s3RowsHeld(a, 'shared', server, B_SHARED, PREFIX)).toEqual([]);
    expect(await s3RowsHeld(b, 'shared', server, B_SHARED, PREFIX)).toEqual([]);
    // the second host sent none of the common objects again, and no object was sent twice
    for (const c of common) expect(putsByB.filter((r) => r.path.endsWith(`/content/${sha256(c)}`))).toEqual([]);
    const contentPuts = allPuts.filter((r) => r.method === 'PUT' && r.path.includes(`/${PREFIX}content/`) && !/partNumber/.test(r.query));
    const perKey = new Map<string, number>();
    for (const r of contentPuts) perKey.set(r.path, (perKey.get(r.path) ?? 0) + 1);
    expect([...perKey.values()].filter((n) => n > 1)).toEqual([]);
  });

  it('recover --list shows both hosts, from either host and from a fresh HOME', async () => {
    const both = [hostIdOf(a), hostIdOf(b)].sort();
    for (const env of [a, b]) {
      const j = JSON.parse(ok(env.run(['recover', '--list', '--vault', 'shared', '--json'])).stdout);
      expect(j.map((h: { host_id: string }) => h.host_id).sort()).toEqual(both);
    }
    const fresh = s3Env();
    addS3(fresh, 'shared', server, B_SHARED, ['--prefix', PREFIX]);
    const j = JSON.parse(ok(fresh.run(['recover', '--list', '--json'])).stdout);
    const s3Hosts = j.filter((h: { vault: string }) => h.vault === 'shared');
    expect(s3Hosts.map((h: { host_id: string }) => h.host_id).sort()).toEqual(both);
    expect(s3Hosts.find((h: { host_id: string }) => h.host_id === hostIdOf(b)).directories).toEqual([srcB]);
    const text = ok(fresh.run(['recover', '--list', '--vault', 'shared'])).stdout;
    for (const h of both) expect(text).toContain(h);

    // and one of them recovers from the shared bucket: the bucket's listing holds the other host's object too,
    // which is no content of this host and is recorded nowhere; the fresh 'local' holds nothing yet
    const r = ok(fresh.run(['recover', '--host-id', hostIdOf(b), '--vault', 'shared']));
    expect(lines(r.stderr)).toEqual(["bt: recover: 4 objects: vault 'local' holds 0, 'shared' 4; the next backup copies what a vault lacks"]);
    const idsB = [...common, onlyB].map((x) => sha256(x)).sort();
    expect(withDb(fresh.dbFile, (db) => db.prepare('SELECT id FROM content ORDER BY id').pluck().all())).toEqual(idsB);
    expect(withDb(fresh.dbFile, (db) => db.prepare('SELECT vault, content_id FROM content_vault ORDER BY content_id').raw().all()))
      .toEqual(idsB.map((id) => ['shared', id]));
    const target = path.join(fresh.work, 'b-restored');
    ok(fresh.run(['restore', srcB, '--target', target]));
    expect(compareTrees(srcB, target)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------

describe('a vault added later', () => {
  let env: BtEnv;
  let src: string;
  let hostId: string;

  beforeAll(() => {
    env = s3Env();
    hostId = hostIdOf(env);
    src = path.join(env.work, 'src');
    writeTree(src, [
      { path: 'a.txt', content: 'alpha\n' }, { path: 'dir/b.bin', content: crypto.randomBytes(200_000) }, { path: 'dir/empty', content: '' },
      { path: 'dir/c.bin', content: crypto.randomBytes(1_500_000) }, { path: 'link', symlink: 'a.txt' },
    ]);
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['backup', '-a']));
    // a second version of a.txt: its old content stays referenced by history
    fs.writeFileSync(path.join(src, 'a.txt'), 'alpha, second version\n');
    ok(env.run(['backup', '-a']));
  });

  it('receives every referenced object on the next bt backup (nothing staged)', async () => {
    addS3(env, 'later', server, B_LATE, ['--prefix', 'a/']);
    ok(env.run(['config', 'vault', 'init', 'later']));
    const ids = contentRows(env).map((r) => r.id);
    expect(ids).toContain(sha256('alpha\n'));
    expect(ids).toHaveLength(5);
    const r = ok(env.run(['backup']));
    expect(r.stdout).toMatch(/5 objects copied to vaults that lacked them/);
    expect([...(await bucketContent(server, B_LATE, 'a/')).keys()].sort()).toEqual(ids);
    expect(vaultRows(env, 'later').map((x) => x.id)).toEqual(ids);
    expect(await s3RowsHeld(env, 'later', server, B_LATE, 'a/')).toEqual([]);
    // the metadata went there too
    const meta = [...(await listBucket(server, B_LATE, `a/metadata/${hostId}/`)).keys()];
    expect(meta.some((k) => k.endsWith('host.json'))).toBe(true);
    // nothing left to do
    expect(ok(env.run(['backup'])).stdout).toMatch(/^backup: nothing to back up/);
  });

  it('receives every referenced object from bt vault sync NAME', async () => {
    addS3(env, 'later2', server, B_LATE, ['--prefix', 'b/']);
    ok(env.run(['config', 'vault', 'init', 'later2']));
    const ids = contentRows(env).map((r) => r.id);
    const r = ok(env.run(['vault', 'sync', 'later2']));
    expect(r.stdout).toMatch(/vault later2: 5 objects copied/);
    expect([...(await bucketContent(server, B_LATE, 'b/')).keys()].sort()).toEqual(ids);
    expect(vaultRows(env, 'later2').map((x) => x.id)).toEqual(ids);
    expect(await s3RowsHeld(env, 'later2', server, B_LATE, 'b/')).toEqual([]);
    expect([...(await listBucket(server, B_LATE, `b/metadata/${hostId}/`)).keys()].some((k) => k.endsWith('host.json'))).toBe(true);
    // a sync with nothing to do copies nothing and succeeds
    expect(ok(env.run(['vault', 'sync', 'later2'])).stdout).toMatch(/vault later2: 0 objects copied/);
  });

  it('a restore reads from the later vault alone', () => {
    const fresh = s3Env();
    ok(fresh.run(['config', 'vault', 'remove', 'local']));
    addS3(fresh, 'later', server, B_LATE, ['--prefix', 'a/']);
    ok(fresh.run(['recover', '--host-id', hostId, '--vault', 'later']));
    const target = path.join(fresh.work, 'out');
    ok(fresh.run(['restore', src, '--target', target]));
    expect(compareTrees(src, target)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------

/** A tree that takes a few seconds to upload to s3rver: 150 files of 256 KiB and one of 40 MiB. */
function bulkTree(root: string): number {
  for (let i = 0; i < 150; i++) {
    const d = path.join(root, 'files', String(i % 10));
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, `f${i}.bin`), crypto.randomBytes(256 * 1024));
  }
  const fd = fs.openSync(path.join(root, 'large.bin'), 'w');
  for (let i = 0; i < 40; i++) fs.writeSync(fd, crypto.randomBytes(MiB));
  fs.closeSync(fd);
  return 151;
}

describe('the S3 server dies in the middle of a backup, S3 the only vault', () => {
  let srv: S3Server;
  let env: BtEnv;
  let src: string;
  const BUCKET = 'bt-e2e-outage-one';
  const events: string[] = [];
  let killed: { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; exitedInTime: boolean; hit: boolean };

  beforeAll(async () => {
    srv = await startS3Server({ buckets: [BUCKET] });
    servers.push(srv);
    env = s3Env();
    ok(env.run(['config', 'vault', 'remove', 'local']));
    addS3(env, 's3', srv, BUCKET);
    ok(env.run(['config', 'vault', 'init', 's3']));
    src = path.join(env.work, 'bulk');
    // a first small backup, so that the database records S3 content before the outage
    writeTree(src, [{ path: 'first/one.txt', content: 'one\n' }, { path: 'first/two.bin', content: crypto.randomBytes(100_000) }]);
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['backup', '-a']));
    bulkTree(src);
    ok(env.run(['add'], { cwd: src }));

    const base = serverContentCount(srv, BUCKET);
    const s = startBt(env, ['backup']);
    const t0 = Date.now();
    const hit = await waitUntil(() => serverContentCount(srv, BUCKET) >= base + 40, s);
    events.push(`kill trigger ${hit ? 'hit' : 'missed'} after ${Date.now() - t0} ms with ${serverContentCount(srv, BUCKET)} objects`);
    const partial = await killServer(srv);
    events.push(`half-written objects the kill left on the server (removed): ${partial.length ? partial.join(', ') : 'none'}`);
    const exitedInTime = await exitsWithin(s, 60_000);
    const r = await s.done;
    events.push(`bt exited ${r.code} (${r.signal}) ${Date.now() - t0} ms after start; stderr: ${JSON.stringify(s.stderr)}`);
    killed = { ...r, stdout: s.stdout, stderr: s.stderr, exitedInTime, hit };
  });

  it('the backup fails (non-zero, in time) naming the S3 vault', () => {
    expect(killed.hit, events.join('\n')).toBe(true);
    expect(killed.exitedInTime, events.join('\n')).toBe(true);
    expect(killed.signal).toBeNull();
    expect(killed.code).not.toBe(0);
    expect(killed.stderr).toMatch(/^bt: .*'s3'/m);
    expect(killed.stderr).toMatch(/cannot reach|connection/);
    expect(killed.stderr).not.toMatch(/^\s+at /m);
  });

  it('while the server is down, restore and recover --list fail in one line naming the vault and the cause', () => {
    const target = path.join(env.work, 'while-down');
    const r = env.run(['restore', path.join(src, 'first', 'one.txt'), '--target', target]);
    expect(expectCleanError(r, { code: 5, match: /vault 's3'.*connection refused/ })).toEqual([]);
    expect(fs.existsSync(path.join(target, 'first', 'one.txt'))).toBe(false);
    const l = env.run(['recover', '--list', '--vault', 's3']);
    expect(expectCleanError(l, { code: 5, match: /vault 's3'.*connection refused/ })).toEqual([]);
  });

  it('the database records no S3 content the bucket does not hold', async () => {
    await srv.start();
    const recorded = vaultRows(env, 's3').length;
    events.push(`${recorded} objects recorded in s3 when the server died (2 from the first backup)`);
    expect(recorded).toBeGreaterThanOrEqual(2);
    expect(recorded).toBeLessThan(2 + 151);
    expect(await s3RowsHeld(env, 's3', srv, BUCKET)).toEqual([]);
    // and no snapshot names content that is not recorded
    withDb(env.dbFile, (db) => {
      expect(db.prepare('SELECT s.id FROM file_snapshot s WHERE s.content_id IS NOT NULL AND s.content_id NOT IN (SELECT content_id FROM content_vault)').all()).toEqual([]);
    });
  });

  it('with the server back, the next backup exits 0 and a restore is identical', async () => {
    if (!(await bucketExists(srv, BUCKET))) await srv.start(); // the previous test failed before starting it
    const r = env.run(['backup']);
    expect(r.code, `${r.stdout}\n${r.stderr}\n${events.join('\n')}`).toBe(0);
    const st = env.run(['dir', 'status', '--exit-code'], { cwd: src });
    expect(st.code, st.stdout.slice(0, 2000)).toBe(0);
    expect(await s3RowsHeld(env, 's3', srv, BUCKET)).toEqual([]);
    expect(vaultRows(env, 's3').length).toBe(contentRows(env).length);
    expect(contentRows(env).length).toBe(2 + 151);
    const target = path.join(env.work, 'restored');
    ok(env.run(['restore', src, '--target', target]));
    expect(compareTrees(src, target)).toEqual([]);
  });

  it('report what the kill hit (informational)', () => {
    console.log(events.join('\n'));
    expect(events.length).toBeGreaterThan(0);
  });
});

describe('the S3 server dies in the middle of a backup to fs and S3', () => {
  let srv: S3Server;
  let env: BtEnv;
  let src: string;
  let hostId: string;
  const BUCKET = 'bt-e2e-outage-two';
  let syncWhileDown: RunResult | null = null;
  const events: string[] = [];
  let fileCount = 0;
  let killed: { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; exitedInTime: boolean; hit: boolean };

  beforeAll(async () => {
    srv = await startS3Server({ buckets: [BUCKET] });
    servers.push(srv);
    env = s3Env();
    hostId = hostIdOf(env);
    addS3(env, 's3', srv, BUCKET, ['--prefix', 'p/']);
    ok(env.run(['config', 'vault', 'init', 's3']));
    src = path.join(env.work, 'bulk');
    fileCount = bulkTree(src);
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['add'], { cwd: src }));

    const s = startBt(env, ['backup']);
    const t0 = Date.now();
    const hit = await waitUntil(() => serverContentCount(srv, BUCKET, 'p/') >= 30, s);
    events.push(`kill trigger ${hit ? 'hit' : 'missed'} after ${Date.now() - t0} ms with ${serverContentCount(srv, BUCKET, 'p/')} objects`);
    const partial = await killServer(srv);
    events.push(`half-written objects the kill left on the server (removed): ${partial.length ? partial.join(', ') : 'none'}`);
    const exitedInTime = await exitsWithin(s, 60_000);
    const r = await s.done;
    events.push(`bt exited ${r.code} (${r.signal}) ${Date.now() - t0} ms after start: ${s.stdout.trim()}`);
    killed = { ...r, stdout: s.stdout, stderr: s.stderr, exitedInTime, hit };
  });

  it('the run stores everything to the fs vault and exits 1 naming the S3 vault', () => {
    expect(killed.hit, events.join('\n')).toBe(true);
    expect(killed.exitedInTime, events.join('\n')).toBe(true);
    expect(killed.code, `${killed.stderr}\n${events.join('\n')}`).toBe(1);
    expect(killed.stdout).toMatch(new RegExp(`^backup: ${fileCount} files, ${fileCount} new versions`));
    expect(killed.stderr).toMatch(/^bt: vault 's3' was not backed up to: .*cannot reach/m);
    expect(killed.stderr).not.toMatch(/^\s+at /m);
    const ids = contentRows(env).map((r) => r.id);
    expect(ids).toHaveLength(fileCount);
    expect(vaultRows(env, 'local').map((r) => r.id)).toEqual(ids);
    expect(vaultObjects(env.vaultRoot).map((o) => o.id).sort()).toEqual(ids);
    // every file is recorded: nothing stays staged
    const st = env.run(['dir', 'status', '--exit-code'], { cwd: src });
    expect(st.code, st.stdout.slice(0, 2000)).toBe(0);
  });

  it('the database records no S3 content the bucket does not hold', async () => {
    await srv.start();
    expect(await s3RowsHeld(env, 's3', srv, BUCKET, 'p/')).toEqual([]);
    events.push(`${vaultRows(env, 's3').length} of ${contentRows(env).length} objects recorded in s3 after the outage`);
  });

  it('with the server back, bt backup (nothing staged) catches S3 up and exits 0', async () => {
    const already = await bucketContent(srv, BUCKET, 'p/'); // stored before the kill, but not recorded
    await srv.clearRequests();
    const r = env.run(['backup']);
    expect(r.code, `${r.stdout}\n${r.stderr}\n${events.join('\n')}`).toBe(0);
    expect(r.stdout).toMatch(/objects copied to vaults that lacked them/);
    // what the bucket held already is not sent again
    const resent = (await srv.requests()).filter((x) => (x.method === 'PUT' || x.method === 'POST') && already.has(x.path.split('/').pop()!));
    expect(resent.map((x) => `${x.method} ${x.path}?${x.query}`)).toEqual([]);
    const ids = contentRows(env).map((x) => x.id);
    expect([...(await bucketContent(srv, BUCKET, 'p/')).keys()].sort()).toEqual(ids);
    expect(vaultRows(env, 's3').map((x) => x.id)).toEqual(ids);
    expect(await s3RowsHeld(env, 's3', srv, BUCKET, 'p/')).toEqual([]);
    // S3's metadata now knows every file
    expect(await newestMetadataSnapshots(srv, BUCKET, 'p/', hostId, env.root)).toBe(fileCount);
    expect(ok(env.run(['backup'])).stdout).toMatch(/^backup: nothing to back up/);
  });

  it('S3 down at the start of a backup: exit 1, then bt vault sync s3 catches it up', async () => {
    await killServer(srv);
    writeTree(src, [{ path: 'later/x.txt', content: 'x\n' }, { path: 'later/y.bin', content: crypto.randomBytes(123_456) }, { path: 'later/z.bin', content: crypto.randomBytes(3 * MiB) }]);
    const r = env.run(['backup', '-a']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^bt: vault 's3' was not backed up to: .*cannot reach/m);
    expect(vaultRows(env, 'local').length).toBe(fileCount + 3);
    expect(vaultRows(env, 's3').length).toBe(fileCount);

    syncWhileDown = env.run(['vault', 'sync', 's3']);
    await srv.start();
    const s = env.run(['vault', 'sync', 's3']);
    expect(s.code, `${s.stdout}\n${s.stderr}`).toBe(0);
    expect(s.stdout).toMatch(/vault s3: 3 objects copied/);
    const ids = contentRows(env).map((x) => x.id);
    expect(ids).toHaveLength(fileCount + 3);
    expect([...(await bucketContent(srv, BUCKET, 'p/')).keys()].sort()).toEqual(ids);
    expect(vaultRows(env, 's3').map((x) => x.id)).toEqual(ids);
    expect(await newestMetadataSnapshots(srv, BUCKET, 'p/', hostId, env.root)).toBe(fileCount + 3);
  });

  it('bt vault sync s3 while S3 is down fails in one line naming the vault', () => {
    expect(syncWhileDown, 'the previous test did not get that far').not.toBeNull();
    expect(expectCleanError(syncWhileDown!, { code: 5, match: /vault 's3'.*connection refused/ })).toEqual([]);
  });

  it('report what the kill hit (informational)', () => {
    console.log(events.join('\n'));
    expect(events.length).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------

describe('one-line errors from bt config vault init and bt backup', () => {
  /** An env whose only vault is the S3 vault `name`, with one file staged. */
  function onlyS3(name: string, bucket: string, endpoint?: string): { env: BtEnv; src: string } {
    const env = s3Env();
    ok(env.run(['config', 'vault', 'remove', 'local']));
    ok(env.run(['config', 'vault', 'add', 's3', name, '--bucket', bucket, '--endpoint', endpoint ?? server.endpoint, '--path-style', '--region', 'us-east-1']));
    const src = path.join(env.work, 'src');
    writeTree(src, [{ path: 'f.txt', content: `content for ${name}\n` }]);
    ok(env.run(['dir', 'init', src]));
    ok(env.run(['add'], { cwd: src }));
    return { env, src };
  }

  it('an unreachable endpoint: connection refused', () => {
    const { env, src } = onlyS3('unreach', B_ERR, 'http://127.0.0.1:1');
    const before = fingerprint(env, [src]);
    const t0 = Date.now();
    const init = env.run(['config', 'vault', 'init', 'unreach']);
    expect(expectCleanError(init, { match: /vault 'unreach'.*connection refused/ })).toEqual([]);
    const backup = env.run(['backup']);
    expect(expectCleanError(backup, { match: /vault 'unreach'.*connection refused/ })).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(fingerprint(env, [src])).toEqual(before);
  });

  it('an invalid access key', () => {
    const { env, src } = onlyS3('badkey', B_ERR);
    const wrong = { AWS_ACCESS_KEY_ID: 'WRONG' };
    const init = env.run(['config', 'vault', 'init', 'badkey'], { env: wrong });
    expect(expectCleanError(init, { match: /vault 'badkey'.*invalid access key/ })).toEqual([]);
    ok(env.run(['config', 'vault', 'init', 'badkey']));
    const before = fingerprint(env, [src]);
    const backup = env.run(['backup'], { env: wrong });
    expect(expectCleanError(backup, { match: /vault 'badkey'.*invalid access key/ })).toEqual([]);
    expect(fingerprint(env, [src])).toEqual(before);
    // with the right key it works
    ok(env.run(['backup']));
  });

  it('a missing bucket: does not exist; --create-bucket creates it', async () => {
    const bucket = 'bt-e2e-not-there-yet';
    expect(await bucketExists(server, bucket)).toBe(false);
    const { env, src } = onlyS3('nobucket', bucket);
    const before = fingerprint(env, [src]);
    const init = env.run(['config', 'vault', 'init', 'nobucket']);
    expect(expectCleanError(init, { match: new RegExp(`vault 'nobucket'.*bucket '${bucket}' does not exist`) })).toEqual([]);
    const backup = env.run(['backup']);
    expect(expectCleanError(backup, { match: new RegExp(`vault 'nobucket'.*bucket '${bucket}' does not exist`) })).toEqual([]);
    expect(fingerprint(env, [src])).toEqual(before);
    expect(await bucketExists(server, bucket)).toBe(false);

    ok(env.run(['config', 'vault', 'init', 'nobucket', '--create-bucket']));
    expect(await bucketExists(server, bucket)).toBe(true);
    expect(hasMarker(await listBucket(server, bucket))).toBe(true);
    ok(env.run(['backup']));
    expect([...(await bucketContent(server, bucket)).keys()]).toEqual([sha256('content for nobucket\n')]);
  });
});

// ---------------------------------------------------------------------------

describe('bt config vault add s3 and the config file', () => {
  it('writes the design\'s fields to bt.toml and never credentials', () => {
    const env = makeEnv({ env: { ...AWS_ENV, AWS_SECRET_ACCESS_KEY: 'very-secret-key-value', AWS_SESSION_TOKEN: 'session-token-value' } });
    initConfig(env);
    const kms = 'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    ok(env.run([
      'config', 'vault', 'add', 's3', 'full', '--bucket', 'bt-content-bucket', '--prefix', 'host1', '--metadata-bucket', 'bt-meta-bucket',
      '--metadata-prefix', 'meta/', '--region', 'eu-central-1', '--endpoint', 'http://127.0.0.1:9000', '--path-style', '--storage-class', 'STANDARD_IA',
      '--profile', 'backup', '--sse-kms-key-id', kms, '--connections', '4',
    ]));
    ok(env.run(['config', 'vault', 'add', 's3', 'plain', '--bucket', 'bt-plain', '--prefix', 'p/']));
    const text = fs.readFileSync(env.configFile, 'utf8');
    const doc = parseToml(text) as { vaults: Array<Record<string, unknown>> };
    const full = doc.vaults.find((v) => v.name === 'full');
    expect(full).toEqual({
      type: 's3', name: 'full', content_bucket: 'bt-content-bucket', content_bucket_prefix: 'host1/', metadata_bucket: 'bt-meta-bucket',
      metadata_bucket_prefix: 'meta/', content_bucket_key: kms, metadata_bucket_key: kms, region: 'eu-central-1', endpoint: 'http://127.0.0.1:9000',
      path_style: true, storage_class: 'STANDARD_IA', profile: 'backup', connections: 4,
    });
    const plain = doc.vaults.find((v) => v.name === 'plain');
    expect(plain).toEqual({ type: 's3', name: 'plain', content_bucket: 'bt-plain', content_bucket_prefix: 'p/', metadata_bucket: 'bt-plain', metadata_bucket_prefix: 'p/' });
    for (const secret of ['S3RVER', 'very-secret-key-value', 'session-token-value']) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/access_key|secret|session_token|credential/i);
    // what bt reports of its config holds no credentials either
    const list = ok(env.run(['config', 'list', '--json'])).stdout + ok(env.run(['config', 'vault', 'list', '--json'])).stdout + ok(env.run(['config', 'list'])).stdout;
    for (const secret of ['S3RVER', 'very-secret-key-value', 'session-token-value']) expect(list).not.toContain(secret);
    // bad values are one-line usage errors that change nothing
    const before = fs.readFileSync(env.configFile, 'utf8');
    for (const bad of [['--bucket', 'ab'], ['--bucket', 'Bad_Bucket'], ['--bucket', 'bt-ok', '--endpoint', 'ftp://x'], ['--bucket', 'bt-ok', '--storage-class', 'COLD'],
      ['--bucket', 'bt-ok', '--connections', '0'], []]) {
      expect(expectCleanError(env.run(['config', 'vault', 'add', 's3', 'bad', ...bad]), { code: 2 }), bad.join(' ')).toEqual([]);
    }
    expect(expectCleanError(env.run(['config', 'vault', 'add', 's3', 'full', '--bucket', 'bt-ok']), { code: 2, match: /exists/ })).toEqual([]);
    expect(fs.readFileSync(env.configFile, 'utf8')).toBe(before);
    // the config round-trips through bt unchanged
    expect(JSON.parse(ok(env.run(['config', 'vault', 'list', '--json'])).stdout).find((v: { name: string }) => v.name === 'full')).toEqual(full);
  });

  it('a separate metadata bucket and prefix, storage class and SSE-KMS are used as configured; --create-bucket creates both buckets', async () => {
    const env = s3Env();
    const kms = 'alias/bt-test';
    ok(env.run(['config', 'vault', 'remove', 'local']));
    addS3(env, 'split', server, 'bt-e2e-split-content', ['--prefix', 'c/', '--metadata-bucket', 'bt-e2e-split-meta', '--metadata-prefix', 'm/', '--storage-class', 'STANDARD_IA', '--sse-kms-key-id', kms]);
    const init = env.run(['config', 'vault', 'init', 'split']);
    expect(init.code, init.stderr).not.toBe(0); // neither bucket exists yet
    ok(env.run(['config', 'vault', 'init', 'split', '--create-bucket']));
    expect(await bucketExists(server, 'bt-e2e-split-content')).toBe(true);
    expect(await bucketExists(server, 'bt-e2e-split-meta')).toBe(true);
    const src = path.join(env.work, 'src');
    writeTree(src, [{ path: 'a', content: 'split a\n' }, { path: 'b/c', content: crypto.randomBytes(10 * MiB) }]);
    ok(env.run(['dir', 'init', src]));
    await server.clearRequests();
    ok(env.run(['backup', '-a']));
    const reqs = await server.requests();
    const hostId = hostIdOf(env);
    const ids = contentRows(env).map((r) => r.id);
    expect([...(await bucketContent(server, 'bt-e2e-split-content', 'c/')).keys()].sort()).toEqual(ids);
    const meta = [...(await listBucket(server, 'bt-e2e-split-meta')).keys()];
    expect(meta).toContain(`m/metadata/${hostId}/host.json`);
    expect(meta.some((k) => k.startsWith(`m/metadata/${hostId}/db-`))).toBe(true);
    expect([...(await listBucket(server, 'bt-e2e-split-content')).keys()].filter((k) => k.includes('metadata/'))).toEqual([]);
    // content objects carry the storage class and the KMS key; metadata only the key
    const contentWrites = reqs.filter((r) => (r.method === 'PUT' && !/partNumber/.test(r.query)) || (r.method === 'POST' && /(^|&)uploads/.test(r.query)))
      .filter((r) => r.path.startsWith('/bt-e2e-split-content/c/content/'));
    expect(contentWrites.length).toBeGreaterThanOrEqual(2);
    for (const r of contentWrites) {
      expect(r.headers['x-amz-storage-class']).toBe('STANDARD_IA');
      expect(r.headers['x-amz-server-side-encryption']).toBe('aws:kms');
      expect(r.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe(kms);
    }
    const metaWrites = reqs.filter((r) => r.method === 'PUT' && r.path.startsWith('/bt-e2e-split-meta/m/metadata/'));
    expect(metaWrites.length).toBeGreaterThanOrEqual(2);
    for (const r of metaWrites) {
      expect(r.headers['x-amz-storage-class']).toBeUndefined();
      expect(r.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe(kms);
    }
    const target = path.join(env.work, 'out');
    ok(env.run(['restore', src, '--target', target]));
    expect(compareTrees(src, target)).toEqual([]);
    expect(lines(ok(env.run(['recover', '--list', '--vault', 'split'])).stdout)).toHaveLength(1);
  });
});
