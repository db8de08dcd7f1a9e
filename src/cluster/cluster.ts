import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { stringify } from 'yaml';
import { loadConfig } from '../processes/config';
import type { Logger } from '../logger';
import { clientApiUrl } from '../processes/dev-lock';
import { devPayloadKeyFile, ensurePayloadKeyFile } from '../processes/payload-keys';
import { assertPortsFree } from '../processes/ports';
import { needsSimulatorMigrations } from '../processes/simulator-migrations';
import { seedCatalog } from '../store/catalog';
import { postmasterPid, startEmbeddedPostgres } from '../store/embedded-postgres';
import { runMigrations } from '../store/migrations';
import { createPool } from '../store/pool';
import { resolveTemporalServer, type TemporalServerBinaries } from '../temporal/server-binary';
import { startTemporalServer, type RunningTemporalServer } from '../temporal/server-cluster';
import { isAlive } from '../util/process-alive';
import { descendantPids, signalIfAlive } from '../util/process-tree';
import { waitFor } from '../util/wait';
import { shippedWorkflowBundle, writeWorkflowBundle } from '../worker';
import { startFrontDoor, type FrontDoor } from './front-door';
import { ManagedProcess } from './managed-process';
import { DEFAULT_SHAPE, processSpecs, type ClusterShape } from './topology';

export interface ClusterOptions {
  /**
   * The roles' environment (broker URLs, TRANSPORT, API_KEYS, adapters …), also read here for
   * the cluster's own settings. Default process.env. The cluster sets DATABASE_URL,
   * TEMPORAL_ADDRESS, PORT, HOST, HEALTH_PORT and WORKFLOW_BUNDLE itself.
   */
  env?: NodeJS.ProcessEnv;
  /** Configuration, logs, workflow bundle and (embedded) PostgreSQL data. Default `<DATA_DIR>/cluster`. */
  dataDir?: string;
  /** Replicas per role. Default 2 of each. */
  shape?: Partial<ClusterShape>;
  /** Front door of the API replicas. Default PORT (3000); replicas and probes take the ports above it. */
  apiPort?: number;
  /** Temporal frontend port (the server's other services take the next 8). Default 7233. */
  temporalPort?: number;
  /** Embedded PostgreSQL port when DATABASE_URL is unset. Default 54339 (`saga dev` keeps 54329). */
  postgresPort?: number;
  /** Temporal Web UI port; 0: no UI. Default TEMPORAL_UI_PORT (8233). */
  uiPort?: number;
  /** The Temporal server's database; its visibility store is `<name>_visibility`. Default `temporal`. */
  temporalDatabase?: string;
  /** Server binaries; default: resolved (built with Go into the cache when missing). */
  binaries?: TemporalServerBinaries;
  /** Command that runs `saga`. Default: this process's runtime on src/cli.ts (tsx) or dist/cli.js. */
  sagaCommand?: [string, ...string[]];
  logger: Logger;
}

/** A part of the cluster that can be crashed and brought back (the chaos suite does). */
export interface Restartable {
  /** SIGKILL: no chance to clean up. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

/**
 * A part that can hang and come back (the chaos suite freezes them): SIGSTOP, then SIGCONT.
 * Unlike a kill, its connections stay open and whatever it holds stays held meanwhile.
 */
export interface Pausable {
  pause(): Promise<void>;
  /** Resolves once the part answers again. */
  resume(): Promise<void>;
}

export interface Cluster {
  urls: { api: string; temporal: string; temporalUi: string | undefined; postgres: string };
  processes: ManagedProcess[];
  /** The application PostgreSQL (also the Temporal server's store), when embedded. */
  postgres: (Restartable & Pausable & { url: string }) | undefined;
  temporal: Restartable & Pausable & { address: string };
  frontDoor: FrontDoor;
  dataDir: string;
  stop(): Promise<void>;
}

const ROOT = path.resolve(__dirname, '../..');

function defaultSagaCommand(): [string, ...string[]] {
  const entry = require.resolve('../cli');
  // Under tsx or jest the entry is TypeScript: run it the way `npm run saga` does.
  return entry.endsWith('.ts') ? [process.execPath, '--import', 'tsx', entry] : [process.execPath, entry];
}

/** The Web UI server's configuration: our server and namespace, loopback only. */
function uiConfig(o: { temporalAddress: string; port: number; namespace: string; codecEndpoint: string }): string {
  return stringify({
    temporalGrpcAddress: o.temporalAddress,
    host: '127.0.0.1',
    port: o.port,
    enableUi: true,
    defaultNamespace: o.namespace,
    notifyOnNewVersion: false,
    cors: { cookieInsecure: true, allowOrigins: [`http://127.0.0.1:${o.port}`, `http://localhost:${o.port}`] },
    // Payloads are encrypted: the browser asks the API's codec route to decode them (operators only).
    codec: { endpoint: o.codecEndpoint, passAccessToken: false, includeCredentials: false },
  });
}

/**
 * The production-like topology on one machine: PostgreSQL (DATABASE_URL or embedded), the
 * real Temporal server on it, migrations, then every role of ours as its own supervised
 * process (2 workers, 2 API replicas behind one port, an active relay and a standby, 2
 * consumer instances by default). Everything is stopped by `stop()`, in reverse order, and
 * also when start-up fails half-way.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const env = options.env ?? process.env;
  const config = loadConfig(env);
  const { logger } = options;
  const dataDir = path.resolve(options.dataDir ?? path.join(config.dataDir, 'cluster'));
  const logDir = path.join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const shape = { ...DEFAULT_SHAPE, ...options.shape };
  const apiPort = options.apiPort ?? config.api.port;
  const temporalPort = options.temporalPort ?? 7233;
  const postgresPort = options.postgresPort ?? 54339;
  const uiPort = options.uiPort ?? config.temporal.uiPort;
  const specs = processSpecs({ shape, transport: config.transport, apiPort });

  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((err: unknown) => logger.error({ err }, 'error while stopping'));
    }
  };
  try {
    await assertPortsFree([
      { port: apiPort, host: config.api.host, variable: 'PORT', what: 'HTTP API front door' },
      ...specs.map((s) => ({
        port: Number(new URL(s.readyUrl).port),
        host: '127.0.0.1',
        variable: 'PORT',
        what: `${s.name} (ports above the front door)`,
      })),
      ...Array.from({ length: 9 }, (_, i) => ({
        port: temporalPort + i,
        host: '127.0.0.1',
        variable: '--temporal-port',
        what: `Temporal server (frontend ${temporalPort} and the 8 ports above)`,
      })),
      ...(config.databaseUrl
        ? []
        : [{ port: postgresPort, host: '127.0.0.1', variable: '--postgres-port', what: 'embedded PostgreSQL' }]),
      ...(uiPort ? [{ port: uiPort, host: '127.0.0.1', variable: 'TEMPORAL_UI_PORT', what: 'Temporal Web UI' }] : []),
    ]);

    // PostgreSQL: the application's database and the Temporal server's two.
    let postgres: Cluster['postgres'];
    let databaseUrl: string;
    if (config.databaseUrl) {
      databaseUrl = config.databaseUrl;
    } else {
      const pgDir = path.join(dataDir, 'postgres');
      let running = await startEmbeddedPostgres({ dataDir: pgDir, port: postgresPort });
      databaseUrl = running.url;
      let stopped = false;
      // The postmaster and its server processes while paused, postmaster first.
      let paused: number[] = [];
      const thaw = () => {
        for (const pid of paused.splice(0).reverse()) signalIfAlive(pid, 'SIGCONT');
      };
      cleanups.push(async () => {
        stopped = true;
        thaw(); // a frozen postmaster would never answer the shutdown
        await running.stop();
      });
      postgres = {
        url: running.url,
        async kill() {
          const pid = postmasterPid(pgDir);
          if (pid === undefined || !isAlive(pid)) return;
          process.kill(pid, 'SIGKILL');
          thaw();
          // Its server processes notice the postmaster is gone and exit; a new one needs them gone.
          await waitFor(() => !isAlive(pid), { timeoutMs: 30_000, description: 'PostgreSQL to die' });
        },
        async pause() {
          const pid = postmasterPid(pgDir);
          if (pid === undefined || !isAlive(pid) || paused.length) return;
          // The postmaster first, so it forks no one new; then every backend and auxiliary
          // process: each serves its connection on its own, so a stopped postmaster alone
          // would leave existing connections working.
          signalIfAlive(pid, 'SIGSTOP');
          paused = [pid];
          for (const child of descendantPids(pid)) {
            signalIfAlive(child, 'SIGSTOP');
            paused.push(child);
          }
        },
        async resume() {
          if (!paused.length) return;
          thaw();
          await waitFor(
            async () => {
              const client = new pg.Client({ connectionString: running.url, connectionTimeoutMillis: 2000 });
              client.on('error', () => undefined);
              try {
                await client.connect();
                await client.query('SELECT 1');
                return true;
              } catch {
                return undefined;
              } finally {
                await client.end().catch(() => undefined);
              }
            },
            { timeoutMs: 60_000, intervalMs: 250, description: 'PostgreSQL to answer again' },
          );
        },
        async start() {
          if (stopped) return;
          running = await waitFor(
            () => startEmbeddedPostgres({ dataDir: pgDir, port: postgresPort }).catch(() => undefined),
            { timeoutMs: 60_000, intervalMs: 1000, description: 'PostgreSQL to restart' },
          );
        },
      };
    }
    logger.info({ postgres: databaseUrl.replace(/\/\/([^:/@]+):[^@]+@/, '//$1:***@') }, 'PostgreSQL ready');

    const binaries = options.binaries ?? (await resolveTemporalServer({ onProgress: (line) => logger.info(line) }));
    // With an OTLP endpoint the roles trace, and the workers' bundle carries the workflow
    // interceptors; else the bundle the build ships, when it fits (`shippedWorkflowBundle`).
    const tracing = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
    const shipped = tracing ? undefined : shippedWorkflowBundle();
    const bundle = shipped ?? path.join(dataDir, 'workflow-bundle.js');
    const bundled = shipped ? Promise.resolve() : writeWorkflowBundle(bundle, { tracing });
    const serverOptions = {
      binaries,
      postgresUrl: databaseUrl,
      dataDir: path.join(dataDir, 'temporal'),
      port: temporalPort,
      namespace: config.temporal.namespace,
      databases: {
        main: options.temporalDatabase ?? 'temporal',
        visibility: `${options.temporalDatabase ?? 'temporal'}_visibility`,
      },
    };
    await mkdir(serverOptions.dataDir, { recursive: true });
    let server: RunningTemporalServer = await startTemporalServer(serverOptions);
    let serverPaused: number | undefined;
    const thawServer = () => {
      if (serverPaused !== undefined) signalIfAlive(serverPaused, 'SIGCONT');
      serverPaused = undefined;
    };
    cleanups.push(() => {
      thawServer();
      return server.stop();
    });
    logger.info({ address: server.address }, 'Temporal server ready');

    const pool = createPool(databaseUrl);
    try {
      await runMigrations(pool, { simulators: needsSimulatorMigrations(config.adapters) });
      await seedCatalog(pool);
    } finally {
      await pool.end();
    }
    await bundled;

    const roleEnv: NodeJS.ProcessEnv = {
      ...env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: server.address,
      WORKFLOW_BUNDLE: bundle,
      // Encryption on by default: without configured keys, the local key file `saga dev` and the
      // commands beside it use (made once, kept); in a cluster folder of its own, one there.
      ...(config.payloadKeys.keys || config.payloadKeys.file
        ? {}
        : {
            PAYLOAD_KEY_FILE: ensurePayloadKeyFile(
              options.dataDir ? path.join(dataDir, 'payload-keys') : devPayloadKeyFile(config.dataDir),
            ).file,
          }),
    };
    if (uiPort) {
      // The API replicas link the console's orders to their workflows in this UI.
      roleEnv.TEMPORAL_UI_URL = `http://127.0.0.1:${uiPort}`;
      const uiDir = path.join(dataDir, 'temporal-ui');
      await mkdir(path.join(uiDir, 'config'), { recursive: true });
      await writeFile(
        path.join(uiDir, 'config', 'development.yaml'),
        uiConfig({
          temporalAddress: server.address,
          port: uiPort,
          namespace: config.temporal.namespace,
          codecEndpoint: config.temporal.codecEndpoint ?? `${clientApiUrl(config.api.host, apiPort)}/codec`,
        }),
      );
      specs.push({
        name: 'temporal-ui',
        role: 'temporal-ui',
        program: binaries.ui,
        args: ['--root', uiDir, '--config', 'config', '--env', 'development', 'start'],
        env: {},
        readyUrl: `http://127.0.0.1:${uiPort}/`,
      });
    }
    const processes = specs.map(
      (spec) =>
        new ManagedProcess(spec, {
          command: options.sagaCommand ?? defaultSagaCommand(),
          cwd: ROOT,
          env: roleEnv,
          logDir,
          onEvent: (e) =>
            e.event === 'exited' ? logger.warn(e, 'process exited; restarting it') : logger.debug(e, 'process started'),
        }),
    );
    for (const p of processes) {
      cleanups.push(() => p.stop());
      p.start();
    }
    await Promise.all(processes.map((p) => p.waitReady()));
    const frontDoor = await startFrontDoor({
      port: apiPort,
      host: config.api.host,
      backends: specs.filter((s) => s.role === 'api').map((s) => Number(s.env.PORT)),
    });
    cleanups.push(() => frontDoor.close());

    return {
      urls: {
        api: frontDoor.url,
        temporal: server.address,
        temporalUi: uiPort ? `http://127.0.0.1:${uiPort}` : undefined,
        postgres: databaseUrl,
      },
      processes,
      postgres,
      temporal: {
        address: server.address,
        async kill() {
          if (server.pid === undefined || !isAlive(server.pid)) return;
          const pid = server.pid;
          process.kill(pid, 'SIGKILL');
          thawServer();
          await waitFor(() => !isAlive(pid), { timeoutMs: 30_000, description: 'the Temporal server to die' });
        },
        async start() {
          // As a supervisor restarts it: its database may itself be down (two faults at once),
          // so it is tried again until PostgreSQL answers and the server is up.
          let last: unknown;
          server = await waitFor(
            () =>
              startTemporalServer(serverOptions).catch((err: unknown) => {
                last = err;
                return undefined;
              }),
            { timeoutMs: 120_000, intervalMs: 1000, description: 'the Temporal server to restart' },
          ).catch((err: unknown) => {
            throw last instanceof Error ? new Error(`${(err as Error).message}: ${last.message}`) : err;
          });
        },
        async pause() {
          if (server.pid === undefined || !isAlive(server.pid) || serverPaused !== undefined) return;
          // One process serves frontend, history, matching and worker: all of it stops.
          signalIfAlive(server.pid, 'SIGSTOP');
          serverPaused = server.pid;
        },
        async resume() {
          if (serverPaused === undefined) return;
          thawServer();
          await waitFor(
            async () => {
              const connection = await Connection.connect({ address: server.address, connectTimeout: 2000 }).catch(
                () => undefined,
              );
              if (!connection) return undefined;
              try {
                await connection.withDeadline(Date.now() + 3000, () => connection.workflowService.getSystemInfo({}));
                return true;
              } catch {
                return undefined;
              } finally {
                await connection.close().catch(() => undefined);
              }
            },
            { timeoutMs: 60_000, intervalMs: 250, description: 'the Temporal server to answer again' },
          );
        },
      },
      frontDoor,
      dataDir,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
