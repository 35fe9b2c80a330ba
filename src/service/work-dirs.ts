import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { makeDirs } from '../util/make-dirs.js';

/**
 * A fresh scratch directory `<dataDir>/.<kind>-<random>` for one run's
 * downloads. Made under the host lock, so that any other of its kind there
 * is a killed run's leftover (a whole database copy, for recover) and goes
 * first.
 */
export function freshWorkDir(dataDir: string, kind: 'recover' | 'sync'): string {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dataDir);
  } catch {
    // no data dir yet: nothing left over
  }
  for (const n of names) if (n.startsWith(`.${kind}-`)) fs.rmSync(path.join(dataDir, n), { recursive: true, force: true });
  const dir = path.join(dataDir, `.${kind}-${crypto.randomBytes(4).toString('hex')}`);
  makeDirs(dir);
  return dir;
}
