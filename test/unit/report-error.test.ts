import { afterEach, describe, expect, it, vi } from 'vitest';
import { reportError } from '../../src/cli/main.js';
import { ExitCode, NotFoundError, UsageError, postError, receiveError } from '../../src/errors.js';

describe('reportError', () => {
  let written = '';
  afterEach(() => vi.restoreAllMocks());
  function capture(): void {
    written = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written += String(chunk);
      return true;
    });
  }

  it('gives a typed error its own exit code and one line', () => {
    capture();
    expect(reportError(new NotFoundError('no such version'), false)).toBe(ExitCode.notFound);
    expect(written).toBe('bt: no such version\n');
  });

  it('gives a bug exit 70, apart from the 1 of a partial backup or of `dir status --exit-code`', () => {
    capture();
    expect(reportError(new TypeError('x is undefined'), false)).toBe(70);
    expect(written).toBe('bt: x is undefined\nbt: (this is unexpected; run again with --verbose for details)\n');
    capture();
    expect(reportError(new TypeError('x is undefined'), true)).toBe(70);
    expect(written).toMatch(/^bt: x is undefined\nTypeError: x is undefined\n\s+at /);
  });

  it('gives a filesystem error bt did not wrap exit 6 and names its call and path', () => {
    capture();
    const err = Object.assign(new Error("ENOSPC: no space left on device, write '/x/y'"), { code: 'ENOSPC', syscall: 'write', path: '/x/y', errno: -28 });
    expect(reportError(err, false)).toBe(ExitCode.io);
    expect(written).toBe('bt: cannot write /x/y: no space left on device\n');
  });

  it('reports an error from a worker thread as it would have been reported where it arose', () => {
    capture();
    const posted = structuredClone(postError(new UsageError('BT_NATIVE=1, but the addon is missing')));
    expect(reportError(receiveError(posted), false)).toBe(ExitCode.usage);
    expect(written).toBe('bt: BT_NATIVE=1, but the addon is missing\n');
    capture();
    expect(reportError(receiveError(structuredClone(postError(new TypeError('x is undefined')))), false)).toBe(ExitCode.internal);
    expect((receiveError(structuredClone(postError(Object.assign(new Error('gone'), { code: 'ENOENT' })))) as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});
