import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileIgnore, readBtignore } from '../../src/fsmgr/ignore.js';
import { DEFAULT_IGNORE } from '../../src/config/config.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-ignore-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('compileIgnore', () => {
  it('matches nothing without patterns (comments and blanks are not patterns)', () => {
    const m = compileIgnore(['', '   ', '# comment']);
    expect(m('anything', false)).toBe(false);
    expect(m('# comment', false)).toBe(false);
  });

  it('a pattern without a slash matches a name at any depth, files and directories', () => {
    const m = compileIgnore(['*.log', 'node_modules']);
    expect(m('a.log', false)).toBe(true);
    expect(m('x/y/z.log', false)).toBe(true);
    expect(m('a.log.txt', false)).toBe(false);
    expect(m('node_modules', true)).toBe(true);
    expect(m('deep/node_modules', true)).toBe(true);
    expect(m('deep/node_modules', false)).toBe(true);
    expect(m('node_modules_x', true)).toBe(false);
  });

  it('a pattern with a slash is anchored at the root', () => {
    const m = compileIgnore(['docs/secret.txt', '/build/out', 'a/**/z']);
    expect(m('docs/secret.txt', false)).toBe(true);
    expect(m('other/docs/secret.txt', false)).toBe(false);
    expect(m('build/out', true)).toBe(true);
    expect(m('x/build/out', true)).toBe(false);
    expect(m('a/b/c/z', false)).toBe(true);
  });

  it('a trailing slash matches directories only', () => {
    const m = compileIgnore(['build/', 'cache/tmp/']);
    expect(m('build', true)).toBe(true);
    expect(m('sub/build', true)).toBe(true);
    expect(m('build', false)).toBe(false);
    expect(m('cache/tmp', true)).toBe(true);
    expect(m('cache/tmp', false)).toBe(false);
  });

  it('a pattern also matches a name equal to it, as picomatch does (parentheses, brackets)', () => {
    const m = compileIgnore(['Report (draft).docx', 'Photos (copy)/', 'notes [old].txt', '*.tmp']);
    expect(m('Report (draft).docx', false)).toBe(true);
    expect(m('sub/Report (draft).docx', false)).toBe(true);
    expect(m('Photos (copy)', true)).toBe(true);
    expect(m('Photos (copy)', false)).toBe(false);
    expect(m('notes [old].txt', false)).toBe(true);
    expect(m('x.tmp', false)).toBe(true);
    expect(m('Report (final).docx', false)).toBe(false);
  });

  it('patterns whose expressions cannot be joined (named groups, back-references) still each match', () => {
    const m = compileIgnore(['+(a|b).log', '@(x|y).dat', '*.swp']);
    expect(m('a.log', false)).toBe(true);
    expect(m('y.dat', false)).toBe(true);
    expect(m('f.swp', false)).toBe(true);
    expect(m('c.log', false)).toBe(false);
  });

  it("a '!' negation is skipped: it never widens what is ignored", () => {
    const m = compileIgnore(['*.log', '!keep.log', '!']);
    expect(m('a.txt', false)).toBe(false);
    expect(m('a.log', false)).toBe(true);
    expect(m('keep.log', false)).toBe(true);
  });

  it('globs match dotfiles', () => {
    const m = compileIgnore(['*.swp', '.bt-tmp-*']);
    expect(m('.hidden.swp', false)).toBe(true);
    expect(m('d/.bt-tmp-123-x', false)).toBe(true);
  });

  it('the default list ignores editor and OS litter', () => {
    const m = compileIgnore(DEFAULT_IGNORE);
    for (const n of ['.DS_Store', 'sub/Thumbs.db', 'f.swp', 'notes.txt~']) expect(m(n, false)).toBe(true);
    expect(m('notes.txt', false)).toBe(false);
  });
});

describe('readBtignore', () => {
  it('reads one glob a line, dropping comments and blank lines (CRLF too)', () => {
    const d = path.join(tmp, 'a');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, '.btignore'), '# header\r\n*.o\r\n\r\n  build/  \n# tail\n');
    expect(readBtignore(d)).toEqual(['*.o', 'build/']);
  });
  it('no .btignore means no patterns', () => {
    expect(readBtignore(path.join(tmp, 'nope'))).toEqual([]);
  });
});
