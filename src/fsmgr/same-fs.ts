import fs from 'node:fs';
import { isValidUtf8, textAncestor } from './paths.js';

/**
 * A text path on the same filesystem as the existing `p`, for calls that take
 * text only (the native syncfs): `p` itself when it is valid UTF-8, else its
 * nearest ancestor that is, when that lies on the same filesystem; null when
 * none does (`p` is, or lies below, a mount point whose path is not UTF-8).
 */
export function textPathOnSameFilesystem(p: Buffer): string | null {
  if (isValidUtf8(p)) return p.toString('utf8');
  const ancestor = textAncestor(p);
  return fs.statSync(ancestor).dev === fs.statSync(p).dev ? ancestor : null;
}
