// Type-checks the project and the console (its own JSX settings) side by side, one compiler
// per core instead of one after the other; fails when either does.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
const projects = [['--noEmit'], ['--noEmit', '-p', 'src/api/console/app']];

const codes = await Promise.all(
  projects.map(
    (args) =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [tsc, ...args], { cwd: root, stdio: 'inherit' });
        child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
      }),
  ),
);
process.exit(codes.some((code) => code !== 0) ? 1 : 0);
