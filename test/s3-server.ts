// An S3 server for tests: s3rver on 127.0.0.1 (port 0 = any free port) in a
// temp dir, run in a child process so that it can be killed and restarted
// on the same port (outages, retries) and so that its memory does not count
// in the test process's measurements.
//
// On top of s3rver the child emulates AbortMultipartUpload and
// ListMultipartUploads (s3rver 3.7 has neither), and can inject faults:
// answer the next matching requests with an S3 error, reset their
// connection, or cut a response body short.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** s3rver's built-in account. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface FaultMatch {
  method?: string;
  /** A substring of the request path (/bucket/key). */
  path?: string;
  /** A query parameter that must be present (uploadId, partNumber, uploads...). */
  query?: string;
}

export type FaultAction =
  | { kind: 'status'; status: number; code: string; message?: string }
  | { kind: 'reset' }
  | { kind: 'cut'; afterBytes: number }
  /** Answer normally, but only after this long. */
  | { kind: 'delay'; ms: number };

export interface Fault extends FaultMatch {
  /** How many matching requests it hits (default 1). */
  times?: number;
  action: FaultAction;
}

export interface LoggedRequest {
  method: string;
  /** /bucket/key */
  path: string;
  query: string;
  headers: Record<string, string>;
}

export interface S3Server {
  endpoint: string;
  port: number;
  directory: string;
  /** Stop the server (abruptly) and remove its directory. */
  stop(): Promise<void>;
  /** Kill the server at once, keeping its data, as a crash or outage would. */
  kill(): Promise<void>;
  /** Start it again on the same port and directory. */
  start(): Promise<void>;
  fault(f: Fault): Promise<void>;
  clearFaults(): Promise<void>;
  /** The requests since the last clearRequests(), with a few headers of interest (lower-case names). */
  requests(): Promise<LoggedRequest[]>;
  clearRequests(): Promise<void>;
}

const CHILD = String.raw`
const S3rver = require('s3rver');
const fs = require('fs');
const path = require('path');
const { PassThrough } = require('stream');
const opts = JSON.parse(process.env.BT_S3RVER_OPTS);
const faults = [];
let log = [];
const LOGGED_HEADERS = ['range', 'if-match', 'content-length', 'x-amz-checksum-sha256', 'x-amz-checksum-crc32', 'x-amz-sdk-checksum-algorithm', 'x-amz-storage-class', 'x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id'];

const esc = (s) => String(s).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]);
const xmlError = (ctx, status, code, message) => {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + esc(code) + '</Code><Message>' + esc(message || code) + '</Message><RequestId>0</RequestId></Error>';
};
const uploadsDir = (bucket) => path.join(opts.directory, bucket, '._S3rver_uploads');

async function extra(ctx, next) {
  const segs = ctx.path.slice(1).split('/');
  const bucket = decodeURIComponent(segs[0] || '');
  const key = segs.slice(1).map(decodeURIComponent).join('/');
  const headers = {};
  for (const h of LOGGED_HEADERS) if (ctx.get(h)) headers[h] = ctx.get(h);
  log.push({ method: ctx.method, path: ctx.path, query: ctx.querystring, headers });

  const f = faults.find((f) => (!f.method || f.method === ctx.method) && (!f.path || ctx.path.includes(f.path)) && (!f.query || f.query in ctx.query));
  if (f) {
    if (--f.times <= 0) faults.splice(faults.indexOf(f), 1);
    const a = f.action;
    if (a.kind === 'reset') {
      ctx.respond = false;
      ctx.req.socket.destroy();
      return;
    }
    if (a.kind === 'status') return xmlError(ctx, a.status, a.code, a.message);
    if (a.kind === 'delay') {
      await new Promise((resolve) => setTimeout(resolve, a.ms));
      return next();
    }
    if (a.kind === 'cut') {
      await next();
      const src = ctx.body;
      if (!src || typeof src.pipe !== 'function') return;
      const len = ctx.length;
      const out = new PassThrough();
      let sent = 0;
      src.on('data', (chunk) => {
        if (sent + chunk.length < a.afterBytes) {
          sent += chunk.length;
          out.write(chunk);
          return;
        }
        out.write(chunk.subarray(0, a.afterBytes - sent));
        sent = a.afterBytes;
        src.destroy();
        setTimeout(() => ctx.req.socket.destroy(), 50);
      });
      ctx.body = out;
      if (len !== undefined) ctx.length = len;
      return;
    }
  }

  // AbortMultipartUpload
  if (ctx.method === 'DELETE' && key && 'uploadId' in ctx.query) {
    const dir = path.join(uploadsDir(bucket), String(ctx.query.uploadId));
    if (!fs.existsSync(dir)) return xmlError(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
    fs.rmSync(dir, { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  // ListMultipartUploads
  if (ctx.method === 'GET' && bucket && !key && 'uploads' in ctx.query) {
    if (!fs.existsSync(path.join(opts.directory, bucket))) return xmlError(ctx, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    const prefix = String(ctx.query.prefix || '');
    let body = '<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult><Bucket>' + esc(bucket) + '</Bucket><Prefix>' + esc(prefix) + '</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>';
    let ids = [];
    try { ids = fs.readdirSync(uploadsDir(bucket)); } catch {}
    for (const id of ids) {
      const dir = path.join(uploadsDir(bucket), id);
      let k;
      try { k = fs.readFileSync(path.join(dir, 'key'), 'utf8'); } catch { continue; }
      if (!k.startsWith(prefix)) continue;
      const initiated = fs.statSync(dir).mtime.toISOString();
      body += '<Upload><Key>' + esc(k) + '</Key><UploadId>' + esc(id) + '</UploadId><Initiated>' + initiated + '</Initiated><StorageClass>STANDARD</StorageClass></Upload>';
    }
    ctx.type = 'application/xml';
    ctx.body = body + '</ListMultipartUploadsResult>';
    return;
  }
  await next();
}

const server = new S3rver({
  address: '127.0.0.1',
  port: opts.port,
  directory: opts.directory,
  silent: true,
  configureBuckets: opts.buckets.map((name) => ({ name })),
});
server.middleware.unshift(extra);

process.on('message', (m) => {
  let result = null;
  if (m.type === 'fault') faults.push({ ...m.fault, times: m.fault.times || 1 });
  else if (m.type === 'requests') result = log;
  else if (m.type === 'clear') log = [];
  else if (m.type === 'clearFaults') faults.length = 0;
  process.send({ id: m.id, result });
});
process.on('disconnect', () => process.exit(0));
server.run().then(
  (addr) => process.send({ type: 'ready', port: addr.port }),
  (err) => { console.error(err); process.exit(1); },
);
`;

export async function startS3Server(opts: { buckets?: string[] } = {}): Promise<S3Server> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-s3rver-'));
  let port = 0;
  let child: ChildProcess | null = null;
  let seq = 0;
  const pending = new Map<number, (result: unknown) => void>();

  const launch = (): Promise<void> =>
    new Promise((resolve, reject) => {
      // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its legacy provider.
      const c = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD], {
        cwd: REPO,
        env: { ...process.env, BT_S3RVER_OPTS: JSON.stringify({ port, directory, buckets: opts.buckets ?? [] }) },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      let stderr = '';
      c.stderr!.on('data', (d) => (stderr += d));
      c.on('message', (m: { type?: string; port?: number; id?: number; result?: unknown }) => {
        if (m.type === 'ready') {
          port = m.port!;
          child = c;
          resolve();
        } else if (m.id !== undefined) {
          pending.get(m.id)?.(m.result);
          pending.delete(m.id);
        }
      });
      c.on('exit', (code) => {
        if (child === c) child = null;
        reject(new Error(`s3rver exited (${code}) before it was ready: ${stderr}`));
      });
    });

  const ask = (msg: Record<string, unknown>): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (!child) return reject(new Error('s3rver is not running'));
      const id = ++seq;
      pending.set(id, resolve);
      child.send({ ...msg, id });
    });

  const kill = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    child = null;
    await new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };

  await launch();
  return {
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    directory,
    kill,
    start: launch,
    async stop() {
      await kill();
      fs.rmSync(directory, { recursive: true, force: true });
    },
    async fault(f) {
      await ask({ type: 'fault', fault: f });
    },
    async clearFaults() {
      await ask({ type: 'clearFaults' });
    },
    async requests() {
      return (await ask({ type: 'requests' })) as LoggedRequest[];
    },
    async clearRequests() {
      await ask({ type: 'clear' });
    },
  };
}
