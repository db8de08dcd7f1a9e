import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/**
 * Builds dist/ once before any test file runs, unless it is already built from these sources
 * (scripts/build.mjs keeps a digest). The files that run `npm start`, `npm pack` or dist/cli.js
 * then all find it up to date, so none rewrites it while another reads it.
 */
export default function ensureDistBuilt(): void {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' });
}
