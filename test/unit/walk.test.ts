import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { walkFiles } from '../../src/fsmgr/walk.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-walk-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Walk `root`, calling `onFile` with each file's relative name; returns the files and skips met. */
function walk(root: string, onFile: (rel: string) => void = () => {}): { files: string[]; skips: string[] } {
  const files: string[] = [];
  const skips: string[] = [];
  const sink = {
    file(dir: Buffer, name: Buffer) {
      const rel = Buffer.concat([dir, name]).toString();
      files.push(rel);
      onFile(rel);
    },
    skip(rel: Buffer, why: string) {
      skips.push(`${rel.toString()}: ${why}`);
    },
    full: false,
  };
  for (const _ of walkFiles({ root, starts: [Buffer.alloc(0)], ignore: () => false, exclude: [] }, sink)) {
    // the sink is never full
  }
  return { files, skips };
}

describe('walkFiles', () => {
  it('a subdirectory deleted after its parent was listed is gone, not a directory it could not read', () => {
    const root = path.join(tmp, 'vanish');
    for (const f of ['a.txt', 'b/x.txt', 'c/y.txt']) {
      fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), f);
    }
    const r = walk(root, (rel) => {
      if (rel === 'a.txt') fs.rmSync(path.join(root, 'b'), { recursive: true });
    });
    expect(r.files).toEqual(['a.txt', 'c/y.txt']);
    expect(r.skips).toEqual([]);
  });

  it.skipIf(process.getuid?.() === 0)('a directory that is there and cannot be read is reported', () => {
    const root = path.join(tmp, 'shut');
    fs.mkdirSync(path.join(root, 'closed'), { recursive: true });
    fs.chmodSync(path.join(root, 'closed'), 0o000);
    try {
      expect(walk(root).skips).toEqual(['closed: cannot read directory: EACCES']);
    } finally {
      fs.chmodSync(path.join(root, 'closed'), 0o755);
    }
  });
});
