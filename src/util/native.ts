import fs from 'node:fs';
import os from 'node:os';
import util from 'node:util';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';

/** One directory as native/bt-native.c's scanDir lists it: names back to back, and FIELDS numbers per entry. */
export interface NativeListing {
  names: Uint8Array;
  ends: Uint32Array;
  nums: Float64Array;
  links: Uint8Array;
  linkEnds: Uint32Array;
}

export interface NativeModule {
  /** The version of the calls and of the listing's layout the addon was built with (LAYOUT). */
  layout: number;
  /** The listing, or the errno of opening or reading the directory. */
  scanDir(path: Buffer): NativeListing | number;
  /** syncfs(2) of the filesystem holding `path`, on the threadpool: 0, or the errno. */
  syncFs(path: string): Promise<number>;
}

// The layout of scanDir's `nums`, as in native/bt-native.c.
export const FIELDS = 8;
export const F_KIND = 0, F_MODE = 1, F_UID = 2, F_GID = 3, F_SIZE = 4, F_MTIME_SEC = 5, F_MTIME_NSEC = 6, F_ERRNO = 7;
export const K_DIR = 0, K_FILE = 1, K_SYMLINK = 2, K_SPECIAL = 3, K_ERROR = 4;

const ADDON = 'native/build/Release/bt_native.node';
/** As native/bt-native.c's LAYOUT: an addon built from other sources (a checkout pulled since `npm ci`) is not used. */
const LAYOUT = 1;

let loaded: NativeModule | null | undefined;
let requiredButMissing: Error | undefined;

/**
 * bt's native addon, or null when `npm ci` could not build it (no compiler)
 * or BT_NATIVE=0 turns it off; callers then do the same work in JavaScript,
 * more slowly. BT_NATIVE=1 requires it (the tests use that, to know which
 * they ran). Looked for from this module's place in src/ (tests), in
 * dist/src/ and in dist/bundle/.
 */
export function nativeModule(): NativeModule | null {
  if (requiredButMissing) throw requiredButMissing;
  if (loaded !== undefined) return loaded;
  loaded = null;
  const want = process.env.BT_NATIVE;
  if (want === '0') return loaded;
  let problem = `${ADDON} was not built (npm ci, or npm run install, builds it)`;
  // From src/util or dist/src/util two levels up is the package; from dist/bundle and its subdirectories, two or three.
  for (const up of ['../../', '../../../']) {
    const file = fileURLToPath(new URL(up + ADDON, import.meta.url));
    if (!fs.existsSync(file)) continue;
    try {
      const mod = createRequire(import.meta.url)(file) as NativeModule;
      if (mod.layout === LAYOUT) loaded = mod;
      else problem = `${file} was built from other sources (layout ${mod.layout}, not ${LAYOUT}): run npm run install`;
    } catch (err) {
      // built for another platform, say: the JavaScript fallbacks do the same work
      problem = `${file} does not load: ${(err as Error).message}`;
    }
    break;
  }
  if (!loaded && want === '1') {
    // A setting that cannot be met, not a bug: one line and exit 2, as for any other bad setting.
    requiredButMissing = new UsageError(`BT_NATIVE=1, but ${problem}`);
    throw requiredButMissing;
  }
  return loaded;
}

let errnoNames: Map<number, string> | undefined;

/** The code of an errno number ("ENOENT"), as Node's own errors carry it (libuv's names first: EAGAIN, not EWOULDBLOCK). */
export function errnoCode(errno: number): string {
  try {
    const name = util.getSystemErrorName(-errno);
    if (!name.startsWith('Unknown system error')) return name;
  } catch {
    // not an errno libuv knows
  }
  errnoNames ??= new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));
  return errnoNames.get(errno) ?? `errno ${errno}`;
}
