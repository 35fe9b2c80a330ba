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
  const byName: picomatch.Matcher[] = [];
  const byPath: picomatch.Matcher[] = [];
  const dirByName: picomatch.Matcher[] = [];
  const dirByPath: picomatch.Matcher[] = [];
  for (const raw of patterns) {
    let p = raw.trim();
    if (!p || p.startsWith('#')) continue;
    const dirOnly = p.endsWith('/');
    if (dirOnly) p = p.replace(/\/+$/, '');
    const anchored = p.includes('/');
    if (anchored) p = p.replace(/^\/+/, '');
    const m = picomatch(p, { dot: true });
    if (dirOnly) (anchored ? dirByPath : dirByName).push(m);
    else (anchored ? byPath : byName).push(m);
  }
  if (!byName.length && !byPath.length && !dirByName.length && !dirByPath.length) return () => false;
  return (relPath, isDir) => {
    const base = path.posix.basename(relPath);
    if (byName.some((m) => m(base)) || byPath.some((m) => m(relPath))) return true;
    if (isDir && (dirByName.some((m) => m(base)) || dirByPath.some((m) => m(relPath)))) return true;
    return false;
  };
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
