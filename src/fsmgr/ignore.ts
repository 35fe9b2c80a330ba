import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';

export type IgnoreMatcher = (relPath: string, isDir: boolean) => boolean;

/**
 * Patterns follow the familiar .gitignore shape without negation: a pattern
 * with no slash matches a name at any depth, one with a slash matches the
 * path from the tracked directory's root, and a trailing slash matches
 * directories only. An ignored directory is not descended into.
 */
export function compileIgnore(patterns: string[]): IgnoreMatcher {
  const byName: RegExp[] = [];
  const byPath: RegExp[] = [];
  const dirByName: RegExp[] = [];
  const dirByPath: RegExp[] = [];
  for (const raw of patterns) {
    let p = raw.trim();
    if (!p || p.startsWith('#')) continue;
    const dirOnly = p.endsWith('/');
    if (dirOnly) p = p.replace(/\/+$/, '');
    const anchored = p.includes('/');
    if (anchored) p = p.replace(/^\/+/, '');
    const re = picomatch.makeRe(p, { dot: true });
    if (dirOnly) (anchored ? dirByPath : dirByName).push(re);
    else (anchored ? byPath : byName).push(re);
  }
  // Each list becomes one regular expression (picomatch's are anchored, so
  // alternatives cannot bleed into each other): every walked file is tested,
  // and one test is several times cheaper than one per pattern.
  const name = anyOf(byName);
  const full = anyOf(byPath);
  const dirName = anyOf(dirByName);
  const dirFull = anyOf(dirByPath);
  if (!name && !full && !dirName && !dirFull) return () => false;
  return (relPath, isDir) => {
    const base = name || dirName ? path.posix.basename(relPath) : '';
    if (name?.test(base) || full?.test(relPath)) return true;
    if (isDir && (dirName?.test(base) || dirFull?.test(relPath))) return true;
    return false;
  };
}

function anyOf(res: RegExp[]): RegExp | null {
  if (!res.length) return null;
  return res.length === 1 ? res[0]! : new RegExp(res.map((r) => r.source).join('|'), res[0]!.flags);
}

/** Patterns from a tracked directory's .btignore: one glob a line, `#` comments. */
export function readBtignore(root: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(root, '.btignore'), 'utf8');
  } catch {
    return [];
  }
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}
