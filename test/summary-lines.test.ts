// The one-line summaries people read: a count of one takes the singular.

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
});
