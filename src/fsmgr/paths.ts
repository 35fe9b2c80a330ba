// File names are whatever bytes Linux allows, so paths inside a tracked
// directory are handled as Buffers end to end and only turned into text for
// display. Tracked directory roots are text (valid UTF-8); a path the user
// names may be either.

import path from 'node:path';

const SLASH = 0x2f;
const decoder = new TextDecoder('utf-8', { fatal: true });

export const SLASH_BYTES = Buffer.from('/');

export function joinBytes(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 0) return name;
  if (dir[dir.length - 1] === SLASH) return Buffer.concat([dir, name]);
  return Buffer.concat([dir, SLASH_BYTES, name]);
}

/**
 * True when the byte path `p` is `dir` or lies below it. An empty `dir` holds
 * every (relative) name; a `dir` ending in '/' (the root) every name it begins.
 */
export function isAtOrBelow(p: Buffer, dir: Buffer): boolean {
  if (dir.length === 0) return true;
  if (p.length < dir.length || p.compare(dir, 0, dir.length, 0, dir.length) !== 0) return false;
  return p.length === dir.length || dir[dir.length - 1] === SLASH || p[dir.length] === SLASH;
}

/** `dir` with a trailing slash, ready to have names appended. */
export function withSlash(dir: Buffer): Buffer {
  return dir[dir.length - 1] === SLASH ? dir : Buffer.concat([dir, SLASH_BYTES]);
}

export function absPath(root: string, rel: Buffer): Buffer {
  return rel.length === 0 ? Buffer.from(root) : joinBytes(Buffer.from(root), rel);
}

export function isValidUtf8(buf: Buffer): boolean {
  try {
    decoder.decode(buf);
    return true;
  } catch {
    return false;
  }
}

/**
 * git-style quoting: a name that is valid UTF-8 without control characters is
 * shown as it is; anything else is shown in double quotes with C escapes and
 * octal bytes, so that every name fits on one line and is unambiguous.
 */
export function displayName(buf: Buffer): string {
  if (isValidUtf8(buf)) {
    const s = buf.toString('utf8');
    // eslint-disable-next-line no-control-regex
    if (!/[\x00-\x1f\x7f"\\]/.test(s)) return s;
  }
  let out = '"';
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x09) out += '\\t';
    else if (b === 0x0d) out += '\\r';
    else if (b < 0x20 || b === 0x7f) out += '\\' + b.toString(8).padStart(3, '0');
    else if (b < 0x80) out += String.fromCharCode(b);
    else {
      const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      const seq = buf.subarray(i, i + len);
      if (len > 1 && seq.length === len && isValidUtf8(seq)) {
        out += seq.toString('utf8');
        i += len;
        continue;
      }
      out += '\\' + b.toString(8).padStart(3, '0');
    }
    i++;
  }
  return out + '"';
}

/**
 * The text form used in JSON: the name itself when it is UTF-8 and does not
 * begin with a double quote, otherwise its quoted form, which always does. So
 * a JSON path beginning with `"` is always quoted and every path reads back to
 * one name: `bad<0xff>name` and a file literally named `"bad\377name"` differ.
 */
export function jsonName(buf: Buffer): string {
  return isValidUtf8(buf) && buf[0] !== 0x22 ? buf.toString('utf8') : displayName(buf);
}

/** True when `child` equals `parent` or lies below it (both absolute, normalised). */
export function isWithin(parent: string, child: string): boolean {
  if (parent === '/') return child.startsWith('/');
  return child === parent || child.startsWith(parent + '/');
}

/** The relative path of `child` (at or below the directory `parent`) as bytes ("" for the directory itself). */
export function relativeBytes(parent: string, child: Buffer): Buffer {
  const length = Buffer.byteLength(parent);
  if (child.length <= length) return Buffer.alloc(0);
  return child.subarray(parent === '/' ? 1 : length + 1);
}

// Node's path functions take text. latin1 maps each byte to one character and
// back, and they look at no character but '/' and '.', so through latin1 they
// work on bytes: a name that is not UTF-8 keeps its bytes.
const asText = (b: Buffer) => b.toString('latin1');
const asBytes = (s: string) => Buffer.from(s, 'latin1');

/** `p` made absolute against the directory `cwd` and normalised ('.', '..', repeated slashes), as bytes. */
export function resolveBytes(cwd: Buffer, p: string | Buffer): Buffer {
  return asBytes(path.posix.resolve(asText(cwd), asText(Buffer.isBuffer(p) ? p : Buffer.from(p))));
}

export function dirnameBytes(p: Buffer): Buffer {
  return asBytes(path.posix.dirname(asText(p)));
}

export function basenameBytes(p: Buffer): Buffer {
  return asBytes(path.posix.basename(asText(p)));
}

/**
 * The longest part of the absolute path `p` that ends at a '/' (or is all of
 * it) and is valid UTF-8, as text. A directory whose path is text (a tracked
 * one) holds `p` exactly when it holds this part.
 */
export function textAncestor(p: Buffer): string {
  let end = p.length;
  while (end > 0 && !isValidUtf8(p.subarray(0, end))) end = Math.max(p.lastIndexOf(SLASH, end - 1), 0);
  return end === 0 ? '/' : p.subarray(0, end).toString('utf8');
}
