import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deferStringWidth, lazyStringWidth } from '../../build/lazy-string-width.js';

// Every copy of string-width that the CLI bundle pulls in (yargs, cliui and wrap-ansi each have their own).
const root = path.resolve(import.meta.dirname, '../..');
const copies = ['node_modules/string-width', 'node_modules/cliui/node_modules/string-width', 'node_modules/wrap-ansi/node_modules/string-width']
  .map((d) => path.join(root, d, 'index.js'))
  .filter((f) => fs.existsSync(f));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-unit-sw-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const RealSegmenter = Intl.Segmenter;
/** Intl with its Segmenter writable, as these tests replace it to count the segmenters made. */
const intl = Intl as { Segmenter: typeof Intl.Segmenter };
let segmentersMade = 0;
let bundles = 0;
afterEach(() => {
  intl.Segmenter = RealSegmenter;
});

/** The module bundled twice, as it is and deferred, both loaded with Intl.Segmenter counted. */
async function bundleBoth(file: string): Promise<{ plain: (s: unknown) => number; lazy: (s: unknown) => number }> {
  const out: Record<string, (s: unknown) => number> = {};
  for (const [name, plugins] of [['plain', []], ['lazy', [lazyStringWidth]]] as const) {
    const outfile = path.join(tmp, `string-width-${bundles++}-${name}.mjs`);
    await build({ stdin: { contents: `export { default } from ${JSON.stringify(file)};`, resolveDir: root }, bundle: true, format: 'esm', platform: 'node', outfile, plugins: [...plugins], logLevel: 'silent' });
    out[name] = (await import(pathToFileURL(outfile).href)).default;
  }
  return out as { plain: (s: unknown) => number; lazy: (s: unknown) => number };
}

describe('lazy string-width (build/lazy-string-width.ts)', () => {
  it('finds the string-width copies the bundle uses', () => {
    expect(copies.map((f) => path.relative(root, f))).toContain(path.join('node_modules', 'string-width', 'index.js'));
  });

  for (const file of copies) {
    const version = JSON.parse(fs.readFileSync(path.join(path.dirname(file), 'package.json'), 'utf8')).version as string;

    it(`defers string-width ${version} (${path.relative(root, file)}) and keeps its results`, async () => {
      expect(deferStringWidth(fs.readFileSync(file, 'utf8'))).not.toBeNull();
      // Count segmenters made from here on: loading the deferred module and measuring ASCII must make none.
      intl.Segmenter = class extends RealSegmenter {
        constructor(...args: ConstructorParameters<typeof Intl.Segmenter>) {
          super(...args);
          segmentersMade++;
        }
      } as typeof Intl.Segmenter;
      const before = segmentersMade;
      const { plain, lazy } = await bundleBoth(file);
      const afterPlainLoad = segmentersMade;
      expect(afterPlainLoad - before).toBe(1); // the plain module makes one when loaded, the deferred one none
      const helpLine = '  --help  Show help                                       [boolean]';
      expect(lazy(helpLine)).toBe(helpLine.length);
      expect(segmentersMade).toBe(afterPlainLoad);
      const samples: unknown[] = ['', 'plain ascii', 'tab\there', '\u001b[31mred\u001b[39m', '古池や蛙', 'e\u0301', '👍🏽 ok', '👨‍👩‍👧', 'ｈａｌｆ', '\u200b', 'a\u0000b', 42, null];
      for (const s of samples) expect([s, lazy(s)]).toEqual([s, plain(s)]);
      expect(segmentersMade).toBeGreaterThan(afterPlainLoad); // a non-ASCII string loaded the real body
    });
  }

  it('leaves a module of another shape alone', () => {
    expect(deferStringWidth("import a from 'a';\nexport const x = 1;\nexport default function stringWidth(s) { return 1; }\n")).toBeNull();
    expect(deferStringWidth("import {\n  a,\n} from 'a';\nexport default function stringWidth(s) { return 1; }\n")).toBeNull();
  });
});
