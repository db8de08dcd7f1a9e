import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

// The project (sources, tests, bench, chaos) and the console type-check, as `npm run typecheck`
// checks them. Run inside the suite rather than before it, at a lower CPU priority: the two
// compilers take the cores the other files leave idle while they wait on servers, instead of
// holding up the whole suite for their 15–20 s.

const ROOT = path.resolve(__dirname, '../..');

it('type-checks the project and the console without an error', async () => {
  const result = await promisify(execFile)(process.execPath, ['scripts/typecheck.mjs', '--nice', '10'], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    ({ stdout }) => ({ code: 0, diagnostics: stdout }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({
      code: err.code,
      diagnostics: `${err.stdout ?? ''}${err.stderr ?? ''}`,
    }),
  );
  expect(result).toEqual({ code: 0, diagnostics: '' });
}, 600_000);
