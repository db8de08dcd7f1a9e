import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import Long from 'long';
import pg from 'pg';
import { stringify } from 'yaml';
import { createDatabaseIfMissing } from '../store/embedded-postgres';
import { waitFor } from '../util/wait';
import { stopChild } from './dev-server';
import { dynamicConfigYaml, TEMPORAL_DYNAMIC_CONFIG } from './dynamic-config';
import { ensureSearchAttributes } from './search-attribute-registry';
import type { TemporalServerBinaries } from './server-binary';

/**
 * The real Temporal server on PostgreSQL, on this machine without Docker: its schema
 * installed with its own tool, a configuration derived from the server's
 * `config/development-postgres12.yaml` (our ports and database names), the namespace and the
 * project's search attributes registered.
 */

export interface TemporalServerOptions {
  binaries: TemporalServerBinaries;
  /** PostgreSQL the server keeps its state in (an admin URL: databases are created). */
  postgresUrl: string;
  /** Databases of the server's store and its visibility. Default temporal, temporal_visibility. */
  databases?: { main: string; visibility: string };
  /** Folder for its configuration and log. */
  dataDir: string;
  /**
   * gRPC frontend port; the other services use the next ports up (frontend+1 … +8), all below
   * 32768 (the server stores membership ports as smallint). Default 7233.
   */
  port?: number;
  namespace?: string;
  /**
   * Dynamic config values, written to `<dataDir>/config/dynamicconfig.yaml` and named in the
   * server's configuration (`dynamicConfigClient`). Default `TEMPORAL_DYNAMIC_CONFIG` (what the
   * dev server runs too); `{}` runs the server's own defaults.
   */
  dynamicConfig?: Readonly<Record<string, unknown>>;
}

export interface RunningTemporalServer {
  address: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

const run = promisify(execFile);

/** Creates the two databases if missing and brings their schema to the newest version (idempotent). */
export async function installServerSchema(options: TemporalServerOptions): Promise<void> {
  const url = new URL(options.postgresUrl);
  const databases = options.databases ?? { main: 'temporal', visibility: 'temporal_visibility' };
  for (const [name, dir] of [
    [databases.main, 'temporal'],
    [databases.visibility, 'visibility'],
  ] as const) {
    const base = [
      '--plugin',
      'postgres12',
      '--ep',
      url.hostname,
      '-p',
      url.port || '5432',
      '-u',
      decodeURIComponent(url.username || 'postgres'),
      ...(url.password ? ['--pw', decodeURIComponent(url.password)] : []),
      '--db',
      name,
    ];
    await createDatabaseIfMissing(options.postgresUrl, name);
    if (!(await hasSchemaVersion(options.postgresUrl, name)))
      await run(options.binaries.sqlTool, [...base, 'setup-schema', '-v', '0.0']);
    await run(options.binaries.sqlTool, [
      ...base,
      'update-schema',
      '-d',
      path.join(options.binaries.schemaDir, dir, 'versioned'),
    ]);
  }
}

/** Whether the server's schema tool has set up `database` (its `schema_version` table exists). */
async function hasSchemaVersion(url: string, database: string): Promise<boolean> {
  const u = new URL(url);
  u.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    return (await client.query(`SELECT to_regclass('schema_version') AS t`)).rows[0].t !== null;
  } finally {
    await client.end();
  }
}

/** Where the server's dynamic config file goes (absolute: the server resolves it from its working directory). */
export const dynamicConfigPath = (options: Pick<TemporalServerOptions, 'dataDir'>): string =>
  path.resolve(options.dataDir, 'config', 'dynamicconfig.yaml');

/** The server's configuration: development-postgres12.yaml with our ports, databases, credentials and dynamic config. */
export function serverConfig(options: TemporalServerOptions): string {
  const url = new URL(options.postgresUrl);
  const port = options.port ?? 7233;
  const databases = options.databases ?? { main: 'temporal', visibility: 'temporal_visibility' };
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${url.hostname}:${url.port || '5432'}`,
      connectProtocol: 'tcp',
      user: decodeURIComponent(url.username || 'postgres'),
      password: decodeURIComponent(url.password),
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = (grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra },
  });
  return stringify({
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: 4,
      datastores: {
        'postgres-default': store(databases.main, 20),
        'postgres-visibility': store(databases.visibility, 4),
      },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: {
      frontend: service(port, port + 1, { httpPort: port + 2 }),
      history: service(port + 3, port + 4),
      matching: service(port + 5, port + 6),
      worker: service(port + 7, port + 8),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${port}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    // Read at start and polled: an edited file applies within the interval, without a restart.
    ...(Object.keys(options.dynamicConfig ?? TEMPORAL_DYNAMIC_CONFIG).length
      ? { dynamicConfigClient: { filepath: dynamicConfigPath(options), pollInterval: '60s' } }
      : {}),
  });
}

/** Installs the schema, starts the server, registers the namespace and search attributes. */
export async function startTemporalServer(options: TemporalServerOptions): Promise<RunningTemporalServer> {
  const port = options.port ?? 7233;
  const namespace = options.namespace ?? 'default';
  const address = `127.0.0.1:${port}`;
  if (port + 8 > 32_767) throw new RangeError(`Temporal server ports ${port}…${port + 8} must stay below 32768`);
  await installServerSchema(options);
  const configDir = path.join(options.dataDir, 'config');
  await mkdir(configDir, { recursive: true });
  await writeFile(dynamicConfigPath(options), dynamicConfigYaml(options.dynamicConfig ?? TEMPORAL_DYNAMIC_CONFIG));
  await writeFile(path.join(configDir, 'development.yaml'), serverConfig(options));
  const log = createWriteStream(path.join(options.dataDir, 'temporal-server.log'), { flags: 'a' });
  const child = spawn(
    options.binaries.server,
    ['--root', options.dataDir, '--config', 'config', '--env', 'development', 'start'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-3000);
    log.write(chunk);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `the Temporal server exited (${signal ?? `code ${code}`}) during start-up:\n${tail}`;
    log.end();
  });
  try {
    const connection = await waitFor(
      async () => {
        if (exited) throw new Error(exited);
        return Connection.connect({ address, connectTimeout: 1000 }).catch(() => undefined);
      },
      { timeoutMs: 90_000, intervalMs: 500, description: `the Temporal server at ${address}` },
    );
    try {
      await registerNamespace(connection, namespace);
    } finally {
      await connection.close();
    }
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { address, pid: child.pid, stop: () => stopChild(child) };
}

/** The namespace (if missing) and the project's search attributes (those missing), waiting until both are visible. */
async function registerNamespace(connection: Connection, namespace: string): Promise<void> {
  await waitFor(
    async () => {
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return true;
      } catch {
        await connection.workflowService
          .registerNamespace({
            namespace,
            workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(3 * 24 * 3600) },
          })
          .catch(() => undefined);
        return undefined;
      }
    },
    { timeoutMs: 60_000, intervalMs: 500, description: `namespace ${namespace}` },
  );
  // A new namespace reaches every service a moment after it is described: retry until then.
  await waitFor(
    async () => ((await ensureSearchAttributes(connection, namespace).catch(() => false)) ? true : undefined),
    {
      timeoutMs: 60_000,
      intervalMs: 500,
      description: 'the search attributes',
    },
  );
}
