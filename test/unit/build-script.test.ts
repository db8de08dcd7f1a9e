import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// scripts/build.mjs builds dist/ once per change of its inputs: `npm start`, `npm pack` and the
// test suite share that build instead of each deleting and rewriting dist/. Run here on a
// project of two files, with the real TypeScript compiler and a stand-in console build.

const ROOT = path.resolve(__dirname, '../..');
let dir: string;

function write(file: string, text: string) {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), text);
}
const build = (...args: string[]) =>
  execFileSync(process.execPath, [path.join(dir, 'scripts/build.mjs'), ...args], { cwd: dir, encoding: 'utf8' });
const stamp = () => readFileSync(path.join(dir, 'dist/.build-stamp'), 'utf8').trim();

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'saga-build-'));
  mkdirSync(path.join(dir, 'scripts'));
  copyFileSync(path.join(ROOT, 'scripts/build.mjs'), path.join(dir, 'scripts/build.mjs'));
  // The console build, standing in: it records each run in dist/.
  write(
    'scripts/build-console.mjs',
    "import fs from 'node:fs'; fs.mkdirSync('dist/console', { recursive: true }); fs.appendFileSync('dist/console/runs', 'x');\n",
  );
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  write(
    'tsconfig.json',
    JSON.stringify({
      compilerOptions: { target: 'es2022', module: 'commonjs', strict: true, types: [], skipLibCheck: true },
    }),
  );
  write(
    'tsconfig.build.json',
    JSON.stringify({
      extends: './tsconfig.json',
      compilerOptions: { rootDir: 'src', outDir: 'dist' },
      include: ['src'],
    }),
  );
  write('package-lock.json', '{}');
  write('src/cli.ts', 'export const answer: number = 42;\n');
  // The shipped workflow bundle's writer, standing in: it writes what it was built from.
  write(
    'src/worker.ts',
    'declare const require: (id: string) => any, __dirname: string;\n' +
      "const fs = require('node:fs');\nexport const writeShippedWorkflowBundle = async () =>\n" +
      "  fs.writeFileSync(__dirname + '/workflow-bundle.js', fs.readFileSync(__dirname + '/cli.js'));\n",
  );
  write('src/util/old.ts', 'export const old = 1;\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('builds, then skips while nothing it reads changed, and rebuilds from scratch when something did', () => {
  build();
  expect(readFileSync(path.join(dir, 'dist/cli.js'), 'utf8')).toContain('42');
  expect(existsSync(path.join(dir, 'dist/util/old.js'))).toBe(true);
  expect(readFileSync(path.join(dir, 'dist/workflow-bundle.js'), 'utf8')).toContain('42'); // bundled after tsc
  const first = stamp();

  expect(build()).toContain('dist/ is up to date');
  expect(readFileSync(path.join(dir, 'dist/console/runs'), 'utf8')).toBe('x'); // not built again

  // A changed source and a removed one: a new digest, and nothing left of the removed file.
  write('src/cli.ts', 'export const answer: number = 43;\n');
  rmSync(path.join(dir, 'src/util/old.ts'));
  expect(build()).not.toContain('up to date');
  expect(readFileSync(path.join(dir, 'dist/cli.js'), 'utf8')).toContain('43');
  expect(readFileSync(path.join(dir, 'dist/workflow-bundle.js'), 'utf8')).toContain('43');
  expect(existsSync(path.join(dir, 'dist/util/old.js'))).toBe(false);
  expect(stamp()).not.toBe(first);

  // The compiler settings are an input too; --force rebuilds regardless.
  const second = stamp();
  write(
    'tsconfig.json',
    JSON.stringify({
      compilerOptions: { target: 'es2020', module: 'commonjs', strict: true, types: [], skipLibCheck: true },
    }),
  );
  build();
  expect(stamp()).not.toBe(second);
  build('--force');
  expect(readFileSync(path.join(dir, 'dist/console/runs'), 'utf8')).toBe('x');
});

it('builds again when an earlier build stopped before writing its stamp', () => {
  build();
  rmSync(path.join(dir, 'dist/.build-stamp'));
  rmSync(path.join(dir, 'dist/cli.js'));
  expect(build()).not.toContain('up to date');
  expect(existsSync(path.join(dir, 'dist/cli.js'))).toBe(true);
});
