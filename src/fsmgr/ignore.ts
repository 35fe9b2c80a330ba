import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';

/** Whether `relPath` is ignored; `base`, when given, is its last component (the walk has it at hand). */
export type IgnoreMatcher = (relPath: string, isDir: boolean, base?: string) => boolean;

/**
 * Patterns follow the familiar .gitignore shape without negation (a `!`
 * line is skipped, see isNegation): a pattern
 * with no slash matches a name at any depth, one with a slash matches the
 * path from the tracked directory's root, and a trailing slash matches
 * directories only. An ignored directory is not descended into.
 */
export function compileIgnore(patterns: string[]): IgnoreMatcher {
  const byName: string[] = [];
  const byPath: string[] = [];
  const dirByName: string[] = [];
  const dirByPath: string[] = [];
  for (const raw of patterns) {
    let p = raw.trim();
    if (!p || p.startsWith('#') || isNegation(p)) continue;
    const dirOnly = p.endsWith('/');
    if (dirOnly) p = p.replace(/\/+$/, '');
    const anchored = p.includes('/');
    if (anchored) p = p.replace(/^\/+/, '');
    if (dirOnly) (anchored ? dirByPath : dirByName).push(p);
    else (anchored ? byPath : byName).push(p);
  }
  const name = anyOf(byName);
  const full = anyOf(byPath);
  const dirName = anyOf(dirByName);
  const dirFull = anyOf(dirByPath);
  if (!name && !full && !dirName && !dirFull) return () => false;
  return (relPath, isDir, known) => {
    const base = name || dirName ? (known ?? path.posix.basename(relPath)) : '';
    if (name?.(base) || full?.(relPath)) return true;
    if (isDir && (dirName?.(base) || dirFull?.(relPath))) return true;
    return false;
  };
}

/**
 * One test for a list of globs, matching as picomatch's own matcher does: a
 * name equal to a pattern matches it (so `Report (draft).docx` ignores that
 * file, although as a glob its parentheses mean something else), and so does
 * a name its regular expression matches. Every walked file is tested, so the
 * list's expressions are joined into one where that is safe: picomatch's are
 * anchored, so alternatives cannot bleed into each other, but a named group
 * or back-reference could clash with another pattern's groups.
 */
function anyOf(globs: string[]): ((s: string) => boolean) | null {
  if (!globs.length) return null;
  const literal = new Set(globs);
  const res = globs.map((g) => picomatch.makeRe(g, { dot: true }));
  const joinable = res.length > 1 && res.every((r) => r.flags === res[0]!.flags && !/\(\?<|\\[1-9k]/.test(r.source));
  if (!joinable) return (s) => literal.has(s) || res.some((r) => r.test(s));
  const one = new RegExp(res.map((r) => r.source).join('|'), res[0]!.flags);
  return (s) => literal.has(s) || one.test(s);
}

/**
 * A gitignore-style re-include (`!pattern`), which bt does not support. To
 * picomatch it would mean "everything but", so such a line would silently
 * ignore nearly every file: it is skipped instead (and the service warns).
 */
export function isNegation(pattern: string): boolean {
  return pattern.trim().startsWith('!');
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

/**
 * Whether a path below a tracked directory is ignored, itself or through a
 * directory above it: the walk never enters an ignored directory, so a path
 * named on the command line is tested the way the walk would reach it.
 */
export function isIgnoredPath(ignored: IgnoreMatcher, rel: Buffer, isDir: boolean): boolean {
  const parts = rel.toString('utf8').split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const last = i === parts.length;
    if (ignored(parts.slice(0, i).join('/'), last ? isDir : true, parts[i - 1])) return true;
  }
  return false;
}
