// The bare-SDK baseline of the S3 benchmark, run as a child process (under GNU time, like bt) by bench/s3.ts:
//   node dist/bench/s3-baseline.js files DIR  --endpoint URL --bucket B --prefix P --concurrency 8 --result FILE
//   node dist/bench/s3-baseline.js large FILE --endpoint URL --bucket B --prefix P --part-size BYTES --queue-size 4 --result FILE
// "files": every file below DIR read whole, hashed, and sent with one PutObject carrying ChecksumSHA256 (as bt
// does), `concurrency` in flight. "large": one @aws-sdk/lib-storage Upload of FILE (parts with ChecksumSHA256).
// Credentials come from the AWS default chain (the environment), as for bt. The time spent after start-up
// (module loading) is written to --result as JSON, beside what was sent.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { pool, walkFiles } from './util.js';

export interface BaselineResult {
  mode: 'files' | 'large';
  objects: number;
  bytes: number;
  /** From just before the directory walk (or the Upload) to the last response: no process or module start-up. */
  seconds: number;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      endpoint: { type: 'string' },
      bucket: { type: 'string' },
      prefix: { type: 'string', default: '' },
      concurrency: { type: 'string', default: '8' },
      'part-size': { type: 'string', default: String(8 << 20) },
      'queue-size': { type: 'string', default: '4' },
      result: { type: 'string' },
    },
  });
  const [mode, source] = positionals;
  if ((mode !== 'files' && mode !== 'large') || !source || !values.endpoint || !values.bucket || !values.result) {
    throw new Error('usage: s3-baseline.js files DIR | large FILE --endpoint URL --bucket B [--prefix P] --result FILE');
  }
  // The SDK's "Node 20 support ends soon" notice is noise here, as bt also silences it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const client = new S3Client({
    endpoint: values.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    // Only the SHA-256 we ask for (as bt sends), not the SDK's default CRC32 on top.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const Bucket = values.bucket;
  const prefix = values.prefix!;
  const started = process.hrtime.bigint();
  let objects = 0;
  let bytes = 0;
  if (mode === 'files') {
    const { files } = await walkFiles(source);
    await pool(files, Number(values.concurrency), async (f) => {
      const data = await fsp.readFile(f.abs);
      const sha = crypto.createHash('sha256').update(data).digest('base64');
      await client.send(new PutObjectCommand({
        Bucket,
        Key: prefix + f.rel,
        Body: data,
        ContentLength: data.length,
        ContentType: 'application/octet-stream',
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: sha,
      }));
      objects++;
      bytes += data.length;
    });
  } else {
    const upload = new Upload({
      client,
      params: { Bucket, Key: prefix + path.basename(source), Body: fs.createReadStream(source), ContentType: 'application/octet-stream', ChecksumAlgorithm: 'SHA256' },
      partSize: Number(values['part-size']),
      queueSize: Number(values['queue-size']),
    });
    await upload.done();
    objects = 1;
    bytes = (await fsp.stat(source)).size;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  client.destroy();
  const result: BaselineResult = { mode, objects, bytes, seconds };
  await fsp.writeFile(values.result, JSON.stringify(result));
  console.log(JSON.stringify(result));
}

main().catch((err: Error) => {
  console.error(`s3-baseline: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
