// Check that a restored tree holds exactly the corpus: same paths, sizes and SHA-256 for every file.
import crypto from 'node:crypto';
import { pool, readChunks, walkFiles } from './util.js';
import type { Corpus } from './corpus.js';

export interface Verification {
  ok: boolean;
  files: number;
  missing: number;
  extra: number;
  mismatched: number;
  /** A few offending paths, enough to start debugging. */
  examples: string[];
}

const WORKERS = 4;

async function sha256(file: string, buf: Buffer): Promise<string> {
  const hash = crypto.createHash('sha256');
  await readChunks(file, buf, (chunk) => hash.update(chunk));
  return hash.digest('hex');
}

/** Hashes every restored file: at 1.5 GB this costs seconds, and a sample could miss a corrupt file. */
export async function verifyRestore(restoredRoot: string, corpus: Corpus): Promise<Verification> {
  const { files, others } = await walkFiles(restoredRoot);
  const examples: string[] = [];
  const note = (what: string) => { if (examples.length < 5) examples.push(what); };
  let mismatched = 0;
  const seen = new Set<string>();
  const buffers = Array.from({ length: WORKERS }, () => Buffer.allocUnsafe(1 << 20));
  await pool(files, WORKERS, async (f, w) => {
    const expected = corpus.manifest[f.rel];
    if (!expected) return;
    seen.add(f.rel);
    if (f.size !== expected[0] || (await sha256(f.abs, buffers[w])) !== expected[1]) {
      mismatched++;
      note(`differs: ${f.rel}`);
    }
  });
  const extra = files.filter((f) => !corpus.manifest[f.rel]).map((f) => f.rel).concat(others);
  extra.slice(0, 3).forEach((rel) => note(`extra: ${rel}`));
  const missing = Object.keys(corpus.manifest).filter((rel) => !seen.has(rel));
  missing.slice(0, 3).forEach((rel) => note(`missing: ${rel}`));
  return {
    ok: mismatched === 0 && missing.length === 0 && extra.length === 0,
    files: files.length,
    missing: missing.length,
    extra: extra.length,
    mismatched,
    examples,
  };
}
