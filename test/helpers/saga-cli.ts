import path from 'node:path';

/**
 * How the tests run the `saga` command: `node dist/cli.js`, the build users run (`npx saga`),
 * made current from src/ before any test file runs (test/helpers/dist-setup.ts). One process,
 * so a signal reaches the role itself, and it starts in about half the time of tsx.
 */
export const SAGA_CLI = path.resolve(__dirname, '../../dist/cli.js');

/** The command and arguments that run `saga <args>`. */
export const sagaCommand = (...args: string[]): [string, string[]] => [process.execPath, [SAGA_CLI, ...args]];
