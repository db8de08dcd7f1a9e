// Type-checks the project and the console (its own JSX settings) side by side, one compiler
// per core instead of one after the other; prints the compilers' output and fails when either
// does. `--nice N` runs the compilers at a lower CPU priority (test/integration/typecheck.test.ts
// runs it so inside the suite, on the cores the other test files leave idle).
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
const PROJECTS = [['--noEmit'], ['--noEmit', '-p', 'src/api/console/app']];

/** Runs both checks; `priority` is the compilers' nice value (default 0). */
async function typecheck({ priority = 0 } = {}) {
  const results = await Promise.all(
    PROJECTS.map(
      (args) =>
        new Promise((resolve) => {
          const child = spawn(process.execPath, [tsc, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
          if (priority) os.setPriority(child.pid, priority);
          let output = '';
          child.stdout.on('data', (chunk) => (output += chunk));
          child.stderr.on('data', (chunk) => (output += chunk));
          child.once('close', (code, signal) => resolve({ ok: code === 0 && !signal, output }));
        }),
    ),
  );
  return { ok: results.every((r) => r.ok), output: results.map((r) => r.output).join('') };
}

const niceAt = process.argv.indexOf('--nice');
const priority = niceAt === -1 ? 0 : Number(process.argv[niceAt + 1]);
if (!Number.isInteger(priority) || priority < 0 || priority > 19) {
  console.error('--nice takes a whole number from 0 to 19');
  process.exit(2);
}
const { ok, output } = await typecheck({ priority });
process.stdout.write(output);
process.exit(ok ? 0 : 1);
