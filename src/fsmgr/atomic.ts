import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { makeDirs } from '../util/make-dirs.js';

export function tempSibling(target: string): string {
  return path.join(path.dirname(target), `.bt-tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}-${path.basename(target)}`);
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Write a small file atomically: temp file in the same directory, fsync, rename, fsync the directory. */
export function writeFileAtomic(target: string, data: string | Buffer, mode = 0o644): void {
  makeDirs(path.dirname(target));
  const tmp = tempSibling(target);
  try {
    const fd = fs.openSync(tmp, 'wx', mode);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(path.dirname(target));
}
