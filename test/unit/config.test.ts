import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configPath, defaultConfig, readConfig, writeConfig, isVaultName } from '../../src/config/config.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-config-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function caught(fn: () => unknown): Error & { exitCode?: number } {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('config paths and defaults', () => {
  it('configPath: BT_CONFIG, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configPath({ HOME: '/h' })).toBe('/h/.config/bt.toml');
    expect(configPath({ HOME: '/h', XDG_CONFIG_HOME: '/x' })).toBe('/x/bt.toml');
    expect(configPath({ HOME: '/h', XDG_CONFIG_HOME: '/x', BT_CONFIG: '/c/my.toml' })).toBe('/c/my.toml');
  });

  it('defaultConfig: base dir ~/data/bt (BT_BASE_DIR overrides) with its parts and the local vault', () => {
    const c = defaultConfig({ HOME: '/h' });
    expect(c.base_dir).toBe('/h/data/bt');
    expect(c.log_dir).toBe('/h/data/bt/log');
    expect(c.data_dir).toBe('/h/data/bt/data');
    expect(c.staging_dir).toBe('/h/data/bt/staging');
    expect(c.vaults).toEqual([{ type: 'fs', name: 'local', vault_root: '/h/data/bt/vault' }]);
    expect(c.host_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(defaultConfig({ HOME: '/h', BT_BASE_DIR: '/b' }).base_dir).toBe('/b');
  });

  it('writeConfig then readConfig round-trips', () => {
    const file = path.join(tmp, `c${n++}.toml`);
    const c = defaultConfig({ HOME: '/h' }, 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE');
    writeConfig(file, c);
    const back = readConfig(file);
    expect(back).toEqual({ ...c, host_id: c.host_id.toLowerCase() });
  });

  it('vault names', () => {
    expect(isVaultName('usb-1_a')).toBe(true);
    expect(isVaultName('')).toBe(false);
    expect(isVaultName('a/b')).toBe(false);
    expect(isVaultName('-x')).toBe(false);
  });
});

describe('readConfig errors name the file and the line', () => {
  const good = () => {
    const file = path.join(tmp, `c${n++}.toml`);
    writeConfig(file, defaultConfig({ HOME: '/h' }));
    return file;
  };

  it('a TOML syntax error', () => {
    const file = good();
    const ls = fs.readFileSync(file, 'utf8').split('\n');
    ls.splice(3, 0, 'oops = = 1');
    fs.writeFileSync(file, ls.join('\n'));
    const e = caught(() => readConfig(file));
    expect(e.message).toContain(file);
    expect(e.message).toContain('line 4');
    expect(e.exitCode).toBe(2);
  });

  it.each([
    ['host_id', 'host_id = "nope"', 'host_id'],
    ['base_dir', 'base_dir = "relative"', 'base_dir'],
    ['metadata_keep', 'metadata_keep = 0', 'metadata_keep'],
    ['ignore_list', 'ignore_list = "*.o"', 'ignore_list'],
  ])('an invalid %s', (key, replacement, word) => {
    const file = good();
    const ls = fs.readFileSync(file, 'utf8').split('\n');
    const i = ls.findIndex((l) => l.startsWith(key + ' '));
    ls[i] = replacement;
    fs.writeFileSync(file, ls.join('\n'));
    const e = caught(() => readConfig(file));
    expect(e.message).toContain(file);
    expect(e.message).toContain(`line ${i + 1}`);
    expect(e.message).toContain(word);
  });

  it('two vaults with one name, and an unknown vault type', () => {
    const file = good();
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text + '\n[[vaults]]\ntype = "fs"\nname = "local"\nvault_root = "/v2"\n');
    expect(caught(() => readConfig(file)).message).toContain('local');
    fs.writeFileSync(file, text + '\n[[vaults]]\ntype = "carrier-pigeon"\nname = "bird"\n');
    expect(caught(() => readConfig(file)).message).toContain('carrier-pigeon');
  });

  it('a misspelt key, at the top or in a vault, names the key, its line and the known ones', () => {
    const file = good();
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.replace(/^metadata_keep = 30$/m, 'metadata_kep = 5'));
    const top = caught(() => readConfig(file));
    const line = text.split('\n').findIndex((l) => l.startsWith('metadata_keep')) + 1;
    expect(top.message).toBe(`invalid config ${file} line ${line}: metadata_kep is not a setting bt knows (known: host_id, base_dir, log_dir, data_dir, staging_dir, ignore_list, metadata_keep, vaults)`);
    expect(top.exitCode).toBe(2);
    fs.writeFileSync(file, text.replace(/^vault_root = /m, 'bogus_key = 1\nvault_root = '));
    expect(caught(() => readConfig(file)).message).toMatch(/line \d+: bogus_key is not a setting bt knows in vault 'local' \(known: type, name, vault_root\)$/);
    fs.writeFileSync(file, text + '\n[[vaults]]\ntype = "s3"\nname = "cloud"\ncontent_bucket = "b-1"\nregion = "eu"\nendpont = "http://x"\n');
    expect(caught(() => readConfig(file)).message).toContain(`endpont is not a setting bt knows in vault 'cloud'`);
    // the line is that of the vault the key is in, not the first one setting a key of that name
    const two = text + '\n[[vaults]]\ntype = "fs"\nname = "usb"\nvault_root = "/usb"\nregion = "x"\n';
    fs.writeFileSync(file, two);
    const at = two.split('\n').findIndex((l) => l.startsWith('region')) + 1;
    expect(caught(() => readConfig(file)).message).toContain(`line ${at}: region is not a setting bt knows in vault 'usb'`);
    // keys with regex characters, quoted keys and tables are named with their line, not a crash
    for (const [extra, key] of [['"c++" = 1', 'c++'], ['[extra]\nx = 1', 'extra'], ['"a.b(" = 2', 'a.b(']]) {
      fs.writeFileSync(file, `${extra}\n${text}`);
      const e = caught(() => readConfig(file));
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain(`line 1: ${key} is not a setting bt knows`);
    }
  });

  it('a missing file', () => {
    const e = caught(() => readConfig(path.join(tmp, 'does-not-exist.toml')));
    expect(e.message).toContain('does-not-exist.toml');
  });
});
