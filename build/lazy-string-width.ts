import fs from 'node:fs/promises';
import type { Plugin } from 'esbuild';

/**
 * string-width (used by yargs and cliui to lay out help) builds an
 * Intl.Segmenter and, from version 8, a \p{RGI_Emoji} regex when it is
 * loaded: about 30 ms here, on every bt command, even though help text is
 * plain ASCII and never needs either. This plugin defers the module's body to
 * its first non-ASCII call. For printable ASCII the width is the length in
 * every version (8.x returns exactly that on its own fast path).
 */
export const PRINTABLE_ASCII = /^[\x20-\x7E]*$/;

const EXPORT = 'export default function stringWidth(';

/** The module's source with its body deferred, or null when it is not shaped as expected (then it is bundled as is). */
export function deferStringWidth(source: string): string | null {
  const lines = source.split('\n');
  let i = 0;
  while (i < lines.length && (lines[i]!.startsWith('import ') || lines[i]!.trim() === '')) i++;
  const imports = lines.slice(0, i);
  const body = lines.slice(i).join('\n');
  // One single-line import block, then a body whose only export is the default function.
  if (!imports.every((l) => l.trim() === '' || /^import .* from '[^']+';$/.test(l))) return null;
  if (body.split(EXPORT).length !== 2 || /^export /m.test(body.replace(EXPORT, ''))) return null;
  return [
    ...imports,
    'function loadStringWidth() {',
    body.replace(EXPORT, 'function stringWidth('),
    'return stringWidth;',
    '}',
    'let loaded;',
    'export default function stringWidth(input, options) {',
    `  if (typeof input === 'string' && /${PRINTABLE_ASCII.source}/.test(input)) return input.length;`,
    '  return (loaded ??= loadStringWidth())(input, options);',
    '}',
    '',
  ].join('\n');
}

export const lazyStringWidth: Plugin = {
  name: 'lazy-string-width',
  setup(build) {
    build.onLoad({ filter: /[\\/]string-width[\\/]index\.js$/ }, async (args) => {
      const deferred = deferStringWidth(await fs.readFile(args.path, 'utf8'));
      if (deferred === null) {
        return { warnings: [{ text: `string-width at ${args.path} is not shaped as expected: bundled as is (startup ~30 ms slower)` }] };
      }
      return { contents: deferred, loader: 'js' };
    });
  },
};
