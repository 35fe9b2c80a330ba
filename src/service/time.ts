import { UsageError } from '../errors.js';

/**
 * Parse --at. ISO-8601 (with or without zone) or `YYYY-MM-DD[ HH:MM[:SS]]`
 * in local time. A time given to the day or the minute means the end of
 * that day or minute: "as it was on 2026-11-20" includes that whole day.
 */
export function parseAt(text: string): number {
  const s = text.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (!m) throw new UsageError(`invalid time '${text}': use ISO-8601 or 'YYYY-MM-DD[ HH:MM]'`);
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  if (zone) {
    const t = Date.parse(s.replace(' ', 'T'));
    if (Number.isNaN(t)) throw new UsageError(`invalid time '${text}'`);
    return h === undefined ? t + 86_400_000 - 1 : mi !== undefined && sec === undefined ? t + 59_999 : t + (frac ? 0 : sec !== undefined ? 999 : 0);
  }
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h ?? 23), Number(mi ?? 59), Number(sec ?? 59), frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 999);
  if (date.getMonth() !== Number(mo) - 1 || date.getDate() !== Number(d)) throw new UsageError(`invalid date '${text}'`);
  return date.getTime();
}

/** Nanoseconds since the epoch as ISO-8601 with all nine fraction digits. */
export function isoFromNs(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const base = new Date(Number(ms)).toISOString(); // ...T..:..:..sssZ
  const frac = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  return base.slice(0, 19) + '.' + frac.toString().padStart(9, '0') + 'Z';
}

export function isoFromMs(ms: number): string {
  return new Date(ms).toISOString();
}
