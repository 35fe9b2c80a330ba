// The one-line summaries people read: a count of one takes the singular,
// and a backup with nothing staged says what it did rather than "0 files".

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, envWithTree, initConfig, lines, makeEnv, ok, runLog } from './helpers.js';

afterAll(cleanupAll);

describe('counts of one are singular', () => {
  it('backup, dir list, restore and recover', () => {
    const { env, src } = envWithTree([{ path: 'only.txt', content: 'one' }]);
    const b = ok(env.run(['backup', '-a']));
    expect(b.stdout).toMatch(/^backup: 1 file, 1 new version, 3 B new, 0 B deduplicated, \S+\n$/);
    expect(lines(ok(env.run(['dir', 'list'])).stdout)[0]).toMatch(/\t1 file\tlast backup /);
    const r = ok(env.run(['restore', src, '--target', path.join(env.work, 'out')]));
    expect(r.stdout).toMatch(/^restored 1 file \(3 B\) into /);

    const hostId = JSON.parse(ok(env.run(['config', 'list', '--json'])).stdout).host_id as string;
    const fresh = makeEnv();
    initConfig(fresh);
    ok(fresh.run(['config', 'vault', 'add', 'fs', 'old', '--path', env.vaultRoot]));
    const rec = ok(fresh.run(['recover', '--host-id', hostId, '--vault', 'old']));
    expect(lines(rec.stdout)[0]).toMatch(/: 1 version of files in 1 directory$/);
  });

  it('a staged file that is back as it was is counted as unchanged, not left unexplained', () => {
    const { env, src } = envWithTree([{ path: 'a.txt', content: 'same', mtime: 1_600_000_000 }], { backedUp: true });
    fs.writeFileSync(path.join(src, 'a.txt'), 'else');
    ok(env.run(['add'], { cwd: src }));
    fs.writeFileSync(path.join(src, 'a.txt'), 'same');
    fs.utimesSync(path.join(src, 'a.txt'), 1_600_000_000, 1_600_000_000);
    expect(ok(env.run(['backup'])).stdout).toMatch(/^backup: 1 file, 0 new versions, 1 unchanged, /);
  });
});

describe('a backup with nothing staged', () => {
  it('that copies objects to a new vault says so, not "0 files, 0 new versions"; the run log keeps its counts', () => {
    const { env } = envWithTree([{ path: 'a.txt', content: 'a' }], { backedUp: true });
    ok(env.run(['config', 'vault', 'add', 'fs', 'second', '--path', path.join(env.work, 'second')]));
    ok(env.run(['config', 'vault', 'init', 'second']));
    const r = ok(env.run(['backup']));
    expect(r.stdout).toMatch(/^backup: no files staged; 1 object copied to vaults that lacked them, \S+\n$/);
    const last = runLog(env).filter((l) => l.command === 'backup').pop()!;
    expect(last).toMatchObject({ status: 'ok', files: 0, stored: 0, caught_up: 1, bytes_new: 0 });
    expect(ok(env.run(['backup'])).stdout).toMatch(/^backup: nothing to back up \(\S+\)\n$/);
  });
});
