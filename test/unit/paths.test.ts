import { describe, expect, it } from 'vitest';
import { absPath, basenameBytes, dirnameBytes, displayName, isAtOrBelow, isValidUtf8, isWithin, joinBytes, jsonName, relativeBytes, resolveBytes, textAncestor } from '../../src/fsmgr/paths.js';

const b = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('displayName', () => {
  it.each([
    ['plain.txt', 'plain.txt'],
    ['with space.txt', 'with space.txt'],
    ['ünïcödé-日本語.txt', 'ünïcödé-日本語.txt'],
    ['emoji-😀', 'emoji-😀'],
    ['dir/sub/file', 'dir/sub/file'],
  ])('shows %j as it is', (name, shown) => {
    expect(displayName(Buffer.from(name))).toBe(shown);
  });

  it.each([
    [b('a\nb'), '"a\\nb"'],
    [b('tab\there'), '"tab\\there"'],
    [b('cr\r'), '"cr\\r"'],
    [b('quote"d'), '"quote\\"d"'],
    [b('back\\slash'), '"back\\\\slash"'],
    [b('bell', [0x07]), '"bell\\007"'],
    [b('del', [0x7f]), '"del\\177"'],
    [b('bad-', [0xff, 0xfe], '-utf8'), '"bad-\\377\\376-utf8"'],
    [b([0xc3, 0x28]), '"\\303("'],
    [b('ü', [0xff]), '"ü\\377"'],
    [b('truncated', [0xe6, 0x97]), '"truncated\\346\\227"'],
    [b('newline and ü\n'), '"newline and ü\\n"'],
  ])('quotes %j git-style', (name, shown) => {
    expect(displayName(name)).toBe(shown);
  });

  it('always gives one line', () => {
    for (let i = 0; i < 256; i++) expect(displayName(Buffer.from([0x61, i, 0x62]))).not.toContain('\n');
  });

  it('is unambiguous: different names never display the same', () => {
    const names = [b('a\\n'), b('a\n'), b('a"'), b('"a"'), b([0xff]), b('\\377'), b('a'), b('"a')];
    const shown = names.map(displayName);
    expect(new Set(shown).size).toBe(names.length);
  });
});

describe('jsonName', () => {
  it('keeps valid UTF-8 names (control characters included) and quotes the rest', () => {
    expect(jsonName(b('a\nb'))).toBe('a\nb');
    expect(jsonName(b('ü'))).toBe('ü');
    expect(jsonName(b('x', [0xff]))).toBe('"x\\377"');
  });
  it('quotes a UTF-8 name that begins with a double quote, so that no two names share a JSON path', () => {
    expect(jsonName(b('"x\\377"'))).toBe('"\\"x\\\\377\\""');
    expect(jsonName(b('"'))).toBe('"\\""');
    expect(jsonName(b('a"b'))).toBe('a"b');
    const names = [b('x', [0xff]), b('"x\\377"'), b('x\\377'), b('"'), b('\\"')];
    expect(new Set(names.map(jsonName)).size).toBe(names.length);
  });
});

describe('byte paths', () => {
  it('isValidUtf8', () => {
    expect(isValidUtf8(b('ok ü'))).toBe(true);
    expect(isValidUtf8(b([0xff]))).toBe(false);
    expect(isValidUtf8(b([0xc3]))).toBe(false);
  });
  it('joinBytes and absPath', () => {
    expect(joinBytes(b('a'), b('b')).toString()).toBe('a/b');
    expect(joinBytes(b('a/'), b('b')).toString()).toBe('a/b');
    expect(joinBytes(b(''), b('b')).toString()).toBe('b');
    expect(joinBytes(b('/x'), b([0xff])).equals(b('/x/', [0xff]))).toBe(true);
    expect(absPath('/root', b('')).toString()).toBe('/root');
    expect(absPath('/root', b('f')).toString()).toBe('/root/f');
  });
  it('isWithin', () => {
    expect(isWithin('/a', '/a')).toBe(true);
    expect(isWithin('/a', '/a/b')).toBe(true);
    expect(isWithin('/a', '/ab')).toBe(false);
    expect(isWithin('/', '/anything')).toBe(true);
  });
  it('relativeBytes', () => {
    expect(relativeBytes('/a', b('/a')).length).toBe(0);
    expect(relativeBytes('/a', b('/a/b/c')).toString()).toBe('b/c');
    expect(relativeBytes('/', b('/x/y')).toString()).toBe('x/y');
    expect(relativeBytes('/ü', b('/ü/', [0xff])).equals(b([0xff]))).toBe(true);
  });
  it('resolveBytes, dirnameBytes and basenameBytes keep bytes that are not UTF-8', () => {
    expect(resolveBytes(b('/w/', [0xfe]), b('x/../', [0xff])).equals(b('/w/', [0xfe], '/', [0xff]))).toBe(true);
    expect(resolveBytes(b('/w'), b('/abs//y/.')).toString()).toBe('/abs/y');
    expect(resolveBytes(b('/w'), 'ü').toString()).toBe('/w/ü');
    expect(dirnameBytes(b('/a/', [0xff], '/f')).equals(b('/a/', [0xff]))).toBe(true);
    expect(basenameBytes(b('/a/x', [0xff])).equals(b('x', [0xff]))).toBe(true);
  });
  it('textAncestor: the longest UTF-8 part of a path, up to a slash', () => {
    expect(textAncestor(b('/a/b'))).toBe('/a/b');
    expect(textAncestor(b('/a/x', [0xff], '/c'))).toBe('/a');
    expect(textAncestor(b('/', [0xff], '/c'))).toBe('/');
    expect(textAncestor(b('/ü/', [0xc3]))).toBe('/ü');
  });
});

describe('isAtOrBelow', () => {
  it('holds the directory itself and what lies below it, not a sibling sharing its prefix', () => {
    expect(isAtOrBelow(b('a/b'), b('a/b'))).toBe(true);
    expect(isAtOrBelow(b('a/b/c'), b('a/b'))).toBe(true);
    expect(isAtOrBelow(b('a/bc'), b('a/b'))).toBe(false);
    expect(isAtOrBelow(b('a/b.txt'), b('a/b'))).toBe(false);
    expect(isAtOrBelow(b('a'), b('a/b'))).toBe(false);
  });
  it('an empty directory holds every relative name; the root every absolute one', () => {
    expect(isAtOrBelow(b('x/y'), b(''))).toBe(true);
    expect(isAtOrBelow(b('/x/y'), b('/'))).toBe(true);
    expect(isAtOrBelow(b([0x2f, 0xff]), b('/'))).toBe(true);
  });
});
