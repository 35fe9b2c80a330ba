// Path arguments that are not valid UTF-8, through the real CLI. Node decodes
// argv lossily (each bad byte becomes U+FFFD), so every test here keeps a
// look-alike beside the file it names: x<0xff> and x<U+FFFD>, which Node reads
// as the same string. bt must act on the one named, never on its look-alike.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bjoin, cleanupAll, envWithTree, expectCleanError, lines, ok, sha256, type BtEnv, type TreeFile } from './helpers.js';

afterAll(cleanupAll);

const latin1 = (s: string) => Buffer.from(s, 'latin1');
/** x<0xff>: not UTF-8. */
const INV = latin1('x\xff');
/** x<U+FFFD> in UTF-8: what Node makes of INV. */
const LOOK = Buffer.from('x\uFFFD');
const DIR_INV = latin1('d\xff');
const DIR_LOOK = Buffer.from('d\uFFFD');

const tree = (): TreeFile[] => [
  { path: INV, content: 'INVALID' },
  { path: LOOK, content: 'REPLACEMENT' },
  { path: bjoin(DIR_INV, 'f'), content: 'IN-D-INVALID' },
  { path: bjoin(DIR_LOOK, 'f'), content: 'IN-D-REPLACEMENT' },
];

function backedUp(): { env: BtEnv; src: string } {
  return envWithTree(tree(), { backedUp: true });
}

function statusJson(env: BtEnv, args: Array<string | Buffer>, cwd?: string): { directory: string; files: Array<{ path: string; state: string }> } {
  return JSON.parse(ok(env.runBytes(['dir', 'status', '--json', ...args], { cwd })).stdout);
}

/** No raw U+FFFD and no NUL (bt's stand-in for an argument's bytes) in what bt printed. */
function expectNoMangling(text: string): void {
  expect(text).not.toContain('\uFFFD');
  expect(text).not.toContain('\0');
}

describe('log and restore of a path that is not valid UTF-8', () => {
  let env: BtEnv;
  let src: string;
  beforeAll(() => ({ env, src } = backedUp()));

  it('log lists the versions of the file named, not of its look-alike', () => {
    const inv = JSON.parse(ok(env.runBytes(['log', '--json', bjoin(src, INV)])).stdout);
    expect(inv.map((v: { checksum: string }) => v.checksum)).toEqual([sha256('INVALID')]);
    const relative = JSON.parse(ok(env.runBytes(['log', '--json', INV], { cwd: src })).stdout);
    expect(relative.map((v: { checksum: string }) => v.checksum)).toEqual([sha256('INVALID')]);
    const look = JSON.parse(ok(env.runBytes(['log', '--json', LOOK], { cwd: src })).stdout);
    expect(look.map((v: { checksum: string }) => v.checksum)).toEqual([sha256('REPLACEMENT')]);
  });

  it('restore puts the file named next to itself, with its own content', () => {
    const r = ok(env.runBytes(['restore', INV], { cwd: src }));
    const dest = bjoin(src, Buffer.concat([INV, Buffer.from('.' + sha256('INVALID').slice(0, 12))]));
    try {
      expect(fs.readFileSync(dest, 'utf8')).toBe('INVALID');
      expect(r.stdout).toContain(`"${src}/x\\377.${sha256('INVALID').slice(0, 12)}"`);
      expectNoMangling(r.stdout);
    } finally {
      fs.rmSync(dest, { force: true });
    }
  });

  it('restore --target into a directory whose name is not UTF-8 writes there, not into its look-alike', () => {
    const target = bjoin(env.work, latin1('out\xfe'));
    const lookAlike = bjoin(env.work, Buffer.from('out\uFFFD'));
    fs.mkdirSync(lookAlike);
    ok(env.runBytes(['restore', bjoin(src, INV), '--target', target]));
    expect(fs.readFileSync(bjoin(target, INV), 'utf8')).toBe('INVALID');
    expect(fs.readdirSync(target, { encoding: 'buffer' })).toEqual([INV]);
    expect(fs.readdirSync(lookAlike)).toEqual([]);
    // The same as one argument, --target=DIR.
    const joined = bjoin(env.work, latin1('eq\xfe'));
    ok(env.runBytes(['restore', Buffer.concat([Buffer.from('--target='), joined]), bjoin(src, INV)]));
    expect(fs.readFileSync(bjoin(joined, INV), 'utf8')).toBe('INVALID');
  });

  it('restore of a directory that is not UTF-8 brings back that directory only', () => {
    const target = path.join(env.work, 'out-dir');
    ok(env.runBytes(['restore', DIR_INV, '--target', target], { cwd: src }));
    expect(fs.readdirSync(target, { encoding: 'buffer' })).toEqual([DIR_INV]);
    expect(fs.readFileSync(bjoin(target, DIR_INV, 'f'), 'utf8')).toBe('IN-D-INVALID');
  });
});

describe('add and dir status of a path that is not valid UTF-8', () => {
  it('add stages the file named, not its look-alike', () => {
    const { env, src } = backedUp();
    fs.writeFileSync(bjoin(src, INV), 'INVALID, changed');
    fs.writeFileSync(bjoin(src, LOOK), 'REPLACEMENT, changed');
    expect(ok(env.runBytes(['add', INV], { cwd: src })).stdout.trim()).toBe('staged 0 new, 1 modified, 0 deleted (0 unchanged)');
    const files = statusJson(env, [], src).files;
    // In byte order: U+FFFD's first byte is 0xef.
    expect(files).toEqual([
      { path: 'x\uFFFD', state: 'modified' },
      { path: '"x\\377"', state: 'staged' },
    ]);
  });

  it('dir status PATH shows the file or directory named, and --exit-code tells them apart', () => {
    const { env, src } = backedUp();
    fs.writeFileSync(bjoin(src, LOOK), 'REPLACEMENT, changed');
    expect(statusJson(env, ['--all', INV], src).files).toEqual([{ path: '"x\\377"', state: 'backed_up' }]);
    expect(env.runBytes(['dir', 'status', '--exit-code', INV], { cwd: src }).code).toBe(0);
    expect(env.runBytes(['dir', 'status', '--exit-code', LOOK], { cwd: src }).code).toBe(1);
    expect(statusJson(env, ['--all', bjoin(src, DIR_INV)]).files).toEqual([{ path: '"d\\377/f"', state: 'backed_up' }]);
    const text = ok(env.runBytes(['dir', 'status', '--all', INV], { cwd: src })).stdout;
    expect(lines(text)).toEqual(['   "x\\377"', `"${src}/x\\377": 0 staged, 0 modified, 0 untracked, 0 deleted, 1 backed up`]);
  });

  it('a working directory that is not UTF-8 is the one relative paths start from', () => {
    const { env, src } = backedUp();
    fs.writeFileSync(bjoin(src, DIR_INV, 'f'), 'changed');
    fs.writeFileSync(bjoin(src, DIR_LOOK, 'f'), 'changed');
    const cwdBytes = bjoin(src, DIR_INV);
    expect(ok(env.runBytes(['add', '.'], { cwdBytes })).stdout.trim()).toBe('staged 0 new, 1 modified, 0 deleted (0 unchanged)');
    // Shown relative to the working directory: the file in it is plain `f`.
    expect(lines(ok(env.runBytes(['dir', 'status'], { cwdBytes })).stdout)).toEqual([
      ` M ../d\uFFFD/f`,
      'A  f',
      `${src}: 1 staged, 1 modified, 0 untracked, 0 deleted, 2 backed up`,
    ]);
  });
});

describe('errors naming a path that is not valid UTF-8', () => {
  let env: BtEnv;
  let src: string;
  beforeAll(() => ({ env, src } = backedUp()));
  const bad = latin1('bad\xff');

  it('name it C-quoted, as the rest of the output does', () => {
    const quoted = `"${src}/bad\\377"`;
    for (const args of [['log', bad], ['restore', bad], ['add', bad], ['dir', 'status', bad]]) {
      const r = env.runBytes(args, { cwd: src });
      expect(expectCleanError(r, { code: 3, match: quoted })).toEqual([]);
      expectNoMangling(r.stderr);
    }
  });

  it('outside any tracked directory too', () => {
    const r = env.runBytes(['log', bjoin(env.work, bad)]);
    expect(expectCleanError(r, { code: 2, match: `not inside a tracked directory: "${env.work}/bad\\377"` })).toEqual([]);
  });

  it('a tracked directory must have a UTF-8 path: dir init refuses one that has not, and tracks no look-alike', () => {
    fs.mkdirSync(bjoin(env.work, latin1('t\xff')));
    fs.mkdirSync(bjoin(env.work, Buffer.from('t\uFFFD')));
    const before = ok(env.run(['dir', 'list', '--json'])).stdout;
    const r = env.runBytes(['dir', 'init', bjoin(env.work, latin1('t\xff'))]);
    expect(expectCleanError(r, { code: 2, match: `"${env.work}/t\\377"` })).toEqual([]);
    expect(ok(env.run(['dir', 'list', '--json'])).stdout).toBe(before);
    const gone = env.runBytes(['dir', 'remove', bjoin(env.work, latin1('t\xff'))]);
    expect(expectCleanError(gone, { code: 3, match: `not a tracked directory: "${env.work}/t\\377"` })).toEqual([]);
  });

  it('a vault path and an argument that must be text say which argument is not UTF-8', () => {
    const vault = env.runBytes(['config', 'vault', 'add', 'fs', 'usb', '--path', bjoin(env.work, latin1('v\xff'))]);
    expect(expectCleanError(vault, { code: 2, match: '"' })).toEqual([]);
    expectNoMangling(vault.stderr);
    const name = env.runBytes(['config', 'vault', 'remove', latin1('n\xff')]);
    expect(expectCleanError(name, { code: 2, match: '"n\\377"' })).toEqual([]);
    const extra = env.runBytes(['log', 'a', latin1('b\xff')]);
    expect(expectCleanError(extra, { code: 2, match: '"b\\377"' })).toEqual([]);
    expectNoMangling(extra.stderr);
  });
});

describe('dir status --json paths', () => {
  it('two different names never get the same path: a name that is not UTF-8, or that begins with a quote, is quoted', () => {
    const invalid = latin1('bad\xffname');
    const literal = Buffer.from('"bad\\377name"');
    const { env, src } = envWithTree([{ path: invalid, content: '1' }, { path: literal, content: '2' }, { path: 'plain "q"', content: '3' }]);
    const paths = statusJson(env, [], src).files.map((f) => f.path);
    expect(paths).toEqual(['"\\"bad\\\\377name\\""', '"bad\\377name"', 'plain "q"']);
  });
});
