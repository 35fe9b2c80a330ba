// `npm run bundle`: the CLI and its three worker scripts as one ESM bundle each (split at the lazy
// imports), so that a command loads a few files instead of a few hundred modules. See the README's
// Architecture section.
import fs from 'node:fs';
import { build } from 'esbuild';
import { lazyStringWidth } from './lazy-string-width.js';

const OUT = 'dist/bundle';
fs.rmSync(OUT, { recursive: true, force: true });
await build({
  entryPoints: ['dist/src/cli/main.js', 'dist/src/fsmgr/walk-worker.js', 'dist/src/vault/copy-worker.js', 'dist/src/db/record-worker.js'],
  outbase: 'dist/src',
  outdir: OUT,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The native addon cannot be bundled; the AWS SDK is loaded only for S3 vaults.
  external: ['better-sqlite3', '@aws-sdk/*'],
  plugins: [lazyStringWidth],
  logLevel: 'warning',
});
