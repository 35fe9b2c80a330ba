// Global CLI behaviour: help, version, quiet/verbose, config and vault admin.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { REPO, cleanupAll, expectCleanError, initConfig, lines, makeEnv, ok, writeTree } from './helpers.js';

afterAll(cleanupAll);

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('help and version', () => {
  it('--version prints the version of package.json', () => {
    const env = makeEnv();
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
    const r = ok(env.run(['--version']));
    expect(r.stdout.trim()).toBe(pkg.version);
    // --version never creates a config
    expect(fs.existsSync(env.configFile)).toBe(false);
  });

  it('--help lists every command', () => {
    const env = makeEnv();
    const r = ok(env.run(['--help']));
    for (const c of ['config', 'dir', 'add', 'backup', 'log', 'restore', 'recover']) expect(r.stdout).toContain(c);
    expect(fs.existsSync(env.configFile)).toBe(false);
  });

  it.each([
    [['backup', '--help'], ['--all']],
    [['restore', '--help'], ['--checksum', '--at', '--content-only', '--target', '--overwrite']],
    [['dir', 'status', '--help'], ['--all', '--deleted', '--json', '--exit-code']],
    [['log', '--help'], ['--json']],
    [['recover', '--help'], ['--list', '--host-id', '--vault', '--at', '--force']],
    [['config', 'init', '--help'], ['--host-id', '--force']],
    [['config', 'vault', 'add', '--help'], ['--path']],
    [['add', '--help'], ['paths']],
    [['dir', '--help'], ['init', 'list', 'remove', 'status']],
    [['config', 'vault', '--help'], ['add', 'list', 'remove', 'init']],
  ])('bt %j documents its options', (args, words) => {
    const env = makeEnv();
    const r = ok(env.run(args));
    for (const w of words) expect(r.stdout).toContain(w);
  });

  it('-v and -q are accepted everywhere', () => {
    const env = makeEnv();
    initConfig(env);
    for (const flag of ['-v', '--verbose', '-q', '--quiet']) {
      ok(env.run(['dir', 'list', flag]));
      ok(env.run([flag, 'config', 'list']));
      ok(env.run(['config', 'vault', 'list', flag]));
    }
  });

  it('-q silences summaries but not requested output', () => {
    const env = makeEnv();
    initConfig(env);
    const dir = path.join(env.work, 'q');
    writeTree(dir, [{ path: 'a', content: 'a' }]);
    expect(ok(env.run(['dir', 'init', dir, '-q'])).stdout).toBe('');
    expect(ok(env.run(['add', '-q'], { cwd: dir })).stdout).toBe('');
    const b = ok(env.run(['backup', '-q']));
    expect(b.stdout).toBe('');
    // requested output still appears
    expect(ok(env.run(['dir', 'list', '-q'])).stdout).toContain(dir);
    expect(ok(env.run(['log', 'a', '-q'], { cwd: dir })).stdout).toMatch(/^[0-9a-f]{12} /);
  });
});

describe('config', () => {
  it('a first run of any command writes the default config and says so', () => {
    const env = makeEnv();
    const r = ok(env.run(['dir', 'list']));
    expect(r.stderr).toMatch(/^bt: created default config .*bt\.toml/m);
    expect(r.stderr).toContain(env.configFile);
    const doc = parse(fs.readFileSync(env.configFile, 'utf8')) as Record<string, any>;
    expect(doc.host_id).toMatch(UUID_RE);
    expect(doc.base_dir).toBe(env.baseDir);
    expect(doc.log_dir).toBe(path.join(env.baseDir, 'log'));
    expect(doc.data_dir).toBe(path.join(env.baseDir, 'data'));
    expect(doc.staging_dir).toBe(path.join(env.baseDir, 'staging'));
    expect(Array.isArray(doc.ignore_list)).toBe(true);
    expect(typeof doc.metadata_keep).toBe('number');
    expect(doc.vaults).toEqual([{ name: 'local', type: 'fs', vault_root: env.vaultRoot }]);
    // the default vault is ready to use
    const marker = JSON.parse(fs.readFileSync(path.join(env.vaultRoot, 'bt-vault.json'), 'utf8'));
    expect(marker.format).toBe('bt-vault');
    expect(marker.version).toBe(1);
    // a second run says nothing about it
    const again = ok(env.run(['dir', 'list']));
    expect(again.stderr).not.toContain('created default config');
  });

  it('config init writes the config with the given host id and refuses to overwrite without --force', () => {
    const env = makeEnv();
    const id = '0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d';
    const r = ok(env.run(['config', 'init', '--host-id', id]));
    expect(r.stdout).toContain(env.configFile);
    const before = fs.readFileSync(env.configFile, 'utf8');
    expect((parse(before) as any).host_id).toBe(id);
    expect(fs.existsSync(path.join(env.vaultRoot, 'bt-vault.json'))).toBe(true);

    const refused = env.run(['config', 'init']);
    expect(expectCleanError(refused, { match: /--force/ })).toEqual([]);
    expect(fs.readFileSync(env.configFile, 'utf8')).toBe(before);

    ok(env.run(['config', 'init', '--force']));
    const after = parse(fs.readFileSync(env.configFile, 'utf8')) as any;
    expect(after.host_id).toMatch(UUID_RE);
    expect(after.host_id).not.toBe(id);
  });

  it('config init rejects a host id that is not a UUID', () => {
    const env = makeEnv();
    const r = env.run(['config', 'init', '--host-id', 'not-a-uuid']);
    expect(expectCleanError(r, { match: 'not-a-uuid' })).toEqual([]);
    expect(fs.existsSync(env.configFile)).toBe(false);
  });

  it('XDG_CONFIG_HOME, BT_CONFIG and BT_BASE_DIR move the config and the base dir', () => {
    const env = makeEnv();
    const xdg = path.join(env.root, 'xdg');
    ok(env.run(['config', 'init'], { env: { XDG_CONFIG_HOME: xdg } }));
    expect(fs.existsSync(path.join(xdg, 'bt.toml'))).toBe(true);
    expect(fs.existsSync(env.configFile)).toBe(false);

    const custom = path.join(env.root, 'elsewhere', 'my.toml');
    const base = path.join(env.root, 'base');
    const r = ok(env.run(['config', 'init'], { env: { BT_CONFIG: custom, BT_BASE_DIR: base } }));
    expect(r.stdout).toContain(custom);
    const doc = parse(fs.readFileSync(custom, 'utf8')) as any;
    expect(doc.base_dir).toBe(base);
    expect(doc.vaults[0].vault_root).toBe(path.join(base, 'vault'));
    const list = JSON.parse(ok(env.run(['config', 'list', '--json'], { env: { BT_CONFIG: custom } })).stdout);
    expect(list.config_file).toBe(custom);
    expect(list.base_dir).toBe(base);
  });

  it('config list shows the effective configuration, as text and JSON', () => {
    const env = makeEnv();
    const id = '11111111-2222-4333-8444-555555555555';
    initConfig(env, ['--host-id', id]);
    const text = ok(env.run(['config', 'list'])).stdout;
    expect(text).toContain(env.configFile);
    expect(text).toContain(id);
    expect(text).toContain(env.vaultRoot);
    const j = JSON.parse(ok(env.run(['config', 'list', '--json'])).stdout);
    expect(j.config_file).toBe(env.configFile);
    expect(j.host_id).toBe(id);
    expect(j.base_dir).toBe(env.baseDir);
    expect(j.vaults).toEqual([{ type: 'fs', name: 'local', vault_root: env.vaultRoot }]);
  });

  it('vault add / list / init / remove', () => {
    const env = makeEnv();
    initConfig(env);
    const usb = path.join(env.root, 'usb', 'bt-vault');
    fs.mkdirSync(path.dirname(usb));
    ok(env.run(['config', 'vault', 'add', 'fs', 'usb', '--path', usb]));
    const list = ok(env.run(['config', 'vault', 'list'])).stdout;
    expect(lines(list)).toEqual([`local\tfs\t${env.vaultRoot}`, `usb\tfs\t${usb}`]);
    const json = JSON.parse(ok(env.run(['config', 'vault', 'list', '--json'])).stdout);
    expect(json.map((v: any) => v.name)).toEqual(['local', 'usb']);

    const init = ok(env.run(['config', 'vault', 'init', 'usb']));
    expect(init.stdout).toContain('usb');
    const marker = JSON.parse(fs.readFileSync(path.join(usb, 'bt-vault.json'), 'utf8'));
    expect(marker).toMatchObject({ format: 'bt-vault', version: 1 });
    for (const d of ['content', 'metadata']) expect(fs.statSync(path.join(usb, d)).isDirectory()).toBe(true);
    // init is safe to repeat and leaves the marker alone
    const markerBytes = fs.readFileSync(path.join(usb, 'bt-vault.json'));
    ok(env.run(['config', 'vault', 'init', 'usb']));
    expect(fs.readFileSync(path.join(usb, 'bt-vault.json')).equals(markerBytes)).toBe(true);

    // relative --path is resolved against the working directory
    fs.mkdirSync(path.join(env.root, 'rel'));
    ok(env.run(['config', 'vault', 'add', 'fs', 'rel', '--path', 'v'], { cwd: path.join(env.root, 'rel') }));
    expect(JSON.parse(ok(env.run(['config', 'vault', 'list', '--json'])).stdout).find((v: any) => v.name === 'rel').vault_root).toBe(path.join(env.root, 'rel', 'v'));

    ok(env.run(['config', 'vault', 'remove', 'usb']));
    ok(env.run(['config', 'vault', 'remove', 'rel']));
    expect(lines(ok(env.run(['config', 'vault', 'list'])).stdout)).toEqual([`local\tfs\t${env.vaultRoot}`]);
    // the data of a removed vault stays
    expect(fs.existsSync(path.join(usb, 'bt-vault.json'))).toBe(true);
  });

  it('vault add refuses a duplicate or invalid name', () => {
    const env = makeEnv();
    initConfig(env);
    const before = fs.readFileSync(env.configFile, 'utf8');
    expect(expectCleanError(env.run(['config', 'vault', 'add', 'fs', 'local', '--path', path.join(env.root, 'x')]), { match: 'local' })).toEqual([]);
    expect(expectCleanError(env.run(['config', 'vault', 'add', 'fs', 'bad/name', '--path', path.join(env.root, 'x')]))).toEqual([]);
    expect(fs.readFileSync(env.configFile, 'utf8')).toBe(before);
  });

  it('config vault init without a name prepares every vault', () => {
    const env = makeEnv();
    initConfig(env);
    const v2 = path.join(env.root, 'second');
    ok(env.run(['config', 'vault', 'add', 'fs', 'second', '--path', v2]));
    const r = ok(env.run(['config', 'vault', 'init']));
    expect(r.stdout).toContain('local');
    expect(r.stdout).toContain('second');
    expect(JSON.parse(fs.readFileSync(path.join(v2, 'bt-vault.json'), 'utf8')).format).toBe('bt-vault');
  });
});
