// Recovering the bytes of arguments that are not UTF-8 (src/cli/raw-args.ts):
// the mapping from the kernel's command line, and what a handler receives when
// the bytes are known, when they are not (no /proc), and where text is needed.

import { describe, expect, it } from 'vitest';
import { argumentBytes, argumentValues, maskArguments, showArguments } from '../../src/cli/raw-args.js';
import { UsageError } from '../../src/errors.js';

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const INV = latin1('x\xff');
const LOOK = 'x\uFFFD';
/** What Node makes of a command line: the text of each argument, decoded lossily. */
const decoded = (args: Buffer[]) => args.map((a) => a.toString('utf8'));

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('not refused');
}

describe('argumentBytes', () => {
  it('takes the user arguments from the end of the command line, past node, its options and the script', () => {
    const user = [Buffer.from('log'), INV];
    const cmdline = [Buffer.from('node'), Buffer.from('--max-old-space-size=100'), Buffer.from('/usr/bin/bt'), ...user];
    expect(argumentBytes(decoded(user), cmdline, 1)).toEqual(user);
    expect(argumentBytes(decoded(user), cmdline.slice(1), 1)).toBeNull(); // too short for node, one option and a script
  });
  it('is null when the command line cannot be read or does not decode to the arguments', () => {
    expect(argumentBytes([LOOK], null, 0)).toBeNull();
    // A process that rewrote its command line (process.title): an entry that is not the argument.
    expect(argumentBytes([LOOK], [Buffer.from('node'), Buffer.from('bt'), Buffer.from('other')], 0)).toBeNull();
  });
});

describe('maskArguments and argumentValues', () => {
  it('gives a path argument its bytes, and leaves a genuine U+FFFD and plain arguments as text', () => {
    const raw = [Buffer.from('add'), INV, Buffer.from(LOOK), Buffer.from('plain')];
    const masked = maskArguments(decoded(raw), raw);
    expect(masked[0]).toBe('add');
    expect(masked[1]).not.toBe(LOOK);
    expect(masked.slice(2)).toEqual([LOOK, 'plain']);
    const v = argumentValues({ _: ['add'], paths: masked.slice(1), $0: 'bt' }, ['paths']);
    expect(v.paths).toEqual([INV, LOOK, 'plain']);
    expect(v._).toEqual(['add']);
  });

  it('an option given as --name=VALUE keeps its name and carries the value\'s bytes', () => {
    const raw = [Buffer.concat([Buffer.from('--target='), latin1('o\xfe')])];
    const masked = maskArguments(decoded(raw), raw);
    expect(masked[0]!.startsWith('--target=')).toBe(true);
    expect(argumentValues({ target: masked[0]!.slice('--target='.length) }, ['target']).target).toEqual(latin1('o\xfe'));
  });

  it('refuses an argument that is not UTF-8 where text is needed, naming it quoted', () => {
    const raw = [latin1('n\xff')];
    const [name] = maskArguments(decoded(raw), raw);
    expect(refusal(() => argumentValues({ name }, []))).toBe('argument "n\\377" is not valid UTF-8: name must be text');
  });

  it('without /proc, refuses an argument holding U+FFFD rather than guess its bytes; others pass', () => {
    const [maybe, plain] = maskArguments([LOOK, 'ok.txt'], null);
    expect(plain).toBe('ok.txt');
    expect(refusal(() => argumentValues({ file: maybe }, ['file']))).toMatch(/^cannot tell which bytes argument "x\\ufffd" was: .*\/proc\/self\/cmdline/);
    expect(argumentValues({ file: plain }, ['file']).file).toBe('ok.txt');
  });

  it('shows a stand-in in a message as its argument, as it is and as JSON writes it', () => {
    const raw = [latin1('b\xff')];
    const [s] = maskArguments(decoded(raw), raw);
    expect(showArguments(`Unknown argument: ${s}`)).toBe('Unknown argument: "b\\377"');
    expect(showArguments(`Given: ${JSON.stringify(s)}, Choices: "fs"`)).toBe('Given: "b\\377", Choices: "fs"');
  });
});
