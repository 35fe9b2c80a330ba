import { describe, expect, it } from 'vitest';
import { isoFromMs, isoFromNs, parseAt } from '../../src/service/time.js';

describe('parseAt', () => {
  it('takes ISO-8601 with a zone exactly (to the millisecond)', () => {
    expect(parseAt('2026-11-20T14:30:00.123Z')).toBe(Date.UTC(2026, 10, 20, 14, 30, 0, 123));
    expect(parseAt('2026-11-20T14:30:00.123+02:00')).toBe(Date.UTC(2026, 10, 20, 12, 30, 0, 123));
  });

  it('a date alone means the end of that day, local time', () => {
    expect(parseAt('2026-11-20')).toBe(new Date(2026, 10, 20, 23, 59, 59, 999).getTime());
    expect(parseAt('2024-02-29')).toBe(new Date(2024, 1, 29, 23, 59, 59, 999).getTime());
  });

  it("'YYYY-MM-DD HH:MM' is local time, to the end of that minute", () => {
    expect(parseAt('2026-11-20 14:30')).toBe(new Date(2026, 10, 20, 14, 30, 59, 999).getTime());
    expect(parseAt('2026-11-20T14:30')).toBe(new Date(2026, 10, 20, 14, 30, 59, 999).getTime());
  });

  it('local time with seconds and fractions', () => {
    expect(parseAt('2026-11-20 14:30:15.5')).toBe(new Date(2026, 10, 20, 14, 30, 15, 500).getTime());
  });

  it('orders: a date includes every time of that day', () => {
    expect(parseAt('2026-11-20')).toBeGreaterThan(parseAt('2026-11-20 23:58'));
    expect(parseAt('2026-11-20 00:00')).toBeGreaterThan(parseAt('2026-11-19'));
  });

  it.each(['', 'yesterday', '2026-13-01', '2026-02-30', '2026-11-20 25:00', '20261120', '2026/11/20', '2026-11-20 14'])('rejects %j with a usage error', (s) => {
    let err: unknown;
    try {
      parseAt(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as { exitCode?: number }).exitCode).toBe(2);
  });
});

describe('iso formatting', () => {
  it('isoFromNs keeps all nine fraction digits', () => {
    expect(isoFromNs(1614834367123456789n)).toBe('2021-03-04T05:06:07.123456789Z');
    expect(isoFromNs(0n)).toBe('1970-01-01T00:00:00.000000000Z');
  });
  it('isoFromMs', () => {
    expect(isoFromMs(Date.UTC(2026, 0, 2, 3, 4, 5, 6))).toBe('2026-01-02T03:04:05.006Z');
  });
});
