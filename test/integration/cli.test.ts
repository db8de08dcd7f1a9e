import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

// The `saga` command as users run it: bad input gets a message and a non-zero exit, no stack trace.

const ROOT = path.resolve(__dirname, '../..');

async function saga(args: string[], env: NodeJS.ProcessEnv = {}) {
  const base = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete base[k];
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: base,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('saga CLI', () => {
  it('names an invalid variable and exits 2', async () => {
    const { code, stderr } = await saga(['migrate'], { PORT: 'eighty', DATABASE_URL: 'postgres://x@127.0.0.1:1/x' });
    expect(code).toBe(2);
    expect(stderr).toContain('PORT:');
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('says which variable a command needs', async () => {
    const { code, stderr } = await saga(['worker'], { DATABASE_URL: undefined });
    expect(code).toBe(2);
    expect(stderr).toMatch(/DATABASE_URL: is required for this command/);
  });

  it('refuses an unknown option with a non-zero exit', async () => {
    const { code, stderr } = await saga(['catalog', '--frobnicate']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/unknown option '--frobnicate'/);
  });

  it('catalog --check passes on the committed catalog and docs', async () => {
    const { code, stdout } = await saga(['catalog', '--check']);
    expect(code).toBe(0);
    expect(stdout).toContain('Event catalog is compatible and its docs are current.');
  });
});
