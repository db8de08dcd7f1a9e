// Builds dist/ (tsc, the console, then the shipped workflow bundle) unless it was built from
// exactly these sources: the inputs' digest is kept in dist/.build-stamp, written last, so a
// build that stopped half way is redone. `npm start`, `npm pack` and the test suite then share one build instead of each
// deleting and rewriting dist/ while another reads it. `--force` rebuilds regardless.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const stampFile = path.join(dist, '.build-stamp');

/** What the build reads: the sources, the compiler settings, the locked dependencies and these scripts. */
const INPUTS = [
  'src',
  'tsconfig.json',
  'tsconfig.build.json',
  'package-lock.json',
  'scripts/build.mjs',
  'scripts/build-console.mjs',
];

function filesOf(entry) {
  const full = path.join(root, entry);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [entry];
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(root, path.join(d.parentPath ?? d.path, d.name)));
}

/** A digest of every input's path and content, in a stable order. */
function inputsDigest() {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap(filesOf).sort()) {
    hash.update(`${file.split(path.sep).join('/')}\0`);
    hash.update(readFileSync(path.join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

function build() {
  const digest = inputsDigest();
  const force = process.argv.includes('--force');
  if (!force && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === digest) {
    if (!process.argv.includes('--quiet')) console.log('dist/ is up to date with src/');
    return;
  }
  rmSync(dist, { recursive: true, force: true });
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(root, 'scripts/build-console.mjs')], { cwd: root, stdio: 'inherit' });
  // The workflow bundle workers started from dist/ load instead of running webpack at each start.
  execFileSync(process.execPath, ['-e', "require('./dist/worker').writeShippedWorkflowBundle()"], {
    cwd: root,
    stdio: 'inherit',
  });
  chmodSync(path.join(dist, 'cli.js'), 0o755);
  writeFileSync(stampFile, `${digest}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) build();
