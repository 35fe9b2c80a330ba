import fs from 'node:fs';
import zlib from 'node:zlib';

const READ_SIZE = 1024 * 1024;

/**
 * gzip `src` into the new file `dst`. One read buffer is reused and every
 * compressed chunk is written as it comes out, so the garbage left for V8 to
 * collect is the compressed size, not the input plus the output: a stream
 * pipeline left 40 MB of dead buffers behind while compressing a 53 MB
 * database at the very end of a backup, which made it the run's memory peak.
 */
export async function gzipFile(src: string, dst: string, level = 1): Promise<void> {
  const input = fs.openSync(src, 'r');
  let output: number | null = null;
  try {
    output = fs.openSync(dst, 'wx');
    const out = output;
    const gz = zlib.createGzip({ level });
    let failure: Error | null = null;
    gz.on('data', (chunk: Buffer) => {
      if (failure) return;
      try {
        fs.writeSync(out, chunk);
      } catch (err) {
        failure = err as Error;
        gz.destroy();
      }
    });
    const ended = new Promise<void>((resolve, reject) => {
      gz.on('end', resolve);
      gz.on('error', reject);
      gz.on('close', () => (failure ? reject(failure) : resolve()));
    });
    const buf = Buffer.allocUnsafe(READ_SIZE);
    for (;;) {
      const n = fs.readSync(input, buf, 0, READ_SIZE, null);
      if (n === 0) break;
      // The write callback runs once zlib has consumed the chunk: only then may the buffer be refilled.
      await new Promise<void>((resolve, reject) => gz.write(buf.subarray(0, n), (err) => (err ? reject(err) : resolve())));
      if (failure) throw failure;
    }
    gz.end();
    await ended;
    if (failure) throw failure;
    fs.fsyncSync(out);
  } finally {
    fs.closeSync(input);
    if (output !== null) fs.closeSync(output);
  }
}
