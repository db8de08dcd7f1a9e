import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { Connection } from '@temporalio/client';
import type { ResolvedTemporalCli } from './cli-binary';
import { SEARCH_ATTRIBUTES, searchAttributeCliArgs } from '../saga/search-attributes';
import { waitFor } from '../util/wait';
import { TEMPORAL_DYNAMIC_CONFIG } from './dynamic-config';

export interface DevServerOptions {
  cli: ResolvedTemporalCli;
  /** Interface to bind. Default 127.0.0.1. */
  ip?: string;
  /** gRPC frontend port. Default 7233. */
  port?: number;
  /** Web UI port; `undefined` runs headless. Default: headless. */
  uiPort?: number;
  /**
   * The codec server the Web UI asks to decode payloads (`…/codec`, answering `/decode`).
   * Default: none (the UI shows payloads as stored).
   */
  uiCodecEndpoint?: string;
  /** SQLite file so state survives restarts; `undefined` keeps state in memory. */
  dbFilename?: string;
  /**
   * SQLite pragmas for a file-backed server. Default WAL with `synchronous=normal`: commits
   * no longer wait for an fsync of the whole database each (several times faster under load);
   * a killed server (process crash) loses nothing, only a power loss can drop the last
   * moments, which a dev server can afford. `{}` keeps SQLite's own defaults.
   */
  sqlitePragmas?: Record<string, string>;
  /**
   * Server dynamic config values (`--dynamic-config-value KEY=JSON`), over
   * `DEV_SERVER_DYNAMIC_CONFIG`. Default: that set; `{}` runs the server's own defaults.
   */
  dynamicConfig?: Record<string, unknown>;
  /** Namespace created at start. Default 'default'. */
  namespace?: string;
  /** File receiving the server's own output. Default: discarded. */
  logFile?: string;
  /** How long to wait for the frontend to answer. Default 90 s (first start migrates SQLite). */
  startupTimeoutMs?: number;
  /**
   * Run the server in its own process group, so a terminal's Ctrl-C reaches only the parent,
   * which then stops things in order (`saga dev`). Default false: the server shares the
   * parent's group and goes down with it.
   */
  detached?: boolean;
}

export interface RunningDevServer {
  address: string;
  uiUrl: string | undefined;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** The file-backed dev server's default SQLite settings (see `sqlitePragmas`). */
export const FAST_SQLITE_PRAGMAS: Readonly<Record<string, string>> = { journal_mode: 'wal', synchronous: 'normal' };

/** The dev server's dynamic config (see `dynamicConfig`): the project's set, `TEMPORAL_DYNAMIC_CONFIG`. */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, unknown>> = TEMPORAL_DYNAMIC_CONFIG;

export class DevServerStartError extends Error {
  override readonly name = 'DevServerStartError';
}

/** Resolves once the frontend answers and the namespace exists. */
async function waitUntilServing(
  address: string,
  namespace: string,
  timeoutMs: number,
  exited: () => string | undefined,
) {
  await waitFor(
    async () => {
      const why = exited();
      if (why) throw new DevServerStartError(why);
      const connection = await Connection.connect({ address, connectTimeout: 1000 }).catch(() => undefined);
      if (!connection) return false;
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return true;
      } catch {
        return false;
      } finally {
        await connection.close();
      }
    },
    { timeoutMs, intervalMs: 250, description: `Temporal dev server at ${address}` },
  );
}

/** Terminates a child gracefully, escalating to SIGKILL if it lingers. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts `temporal server start-dev` with the project's search attributes registered.
 * Used by `saga dev` (SQLite file + Web UI) and by the test suite (in memory, headless).
 */
export async function startDevServer(options: DevServerOptions): Promise<RunningDevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port ?? 7233;
  const namespace = options.namespace ?? 'default';
  const address = `${ip}:${port}`;
  const uiUrl = options.uiPort ? `http://${ip === '0.0.0.0' ? 'localhost' : ip}:${options.uiPort}` : undefined;
  const timeoutMs = options.startupTimeoutMs ?? 90_000;

  if (options.cli.source === 'sdk-download' || !options.cli.path) {
    // Last resort: the SDK downloads and supervises the CLI itself (needs the internet).
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'cached-download', version: 'v1.5.1' },
        ip,
        port,
        namespace,
        dbFilename: options.dbFilename,
        ui: options.uiPort !== undefined,
        uiPort: options.uiPort,
        searchAttributes: SEARCH_ATTRIBUTES,
      },
    });
    return { address, uiUrl, pid: undefined, stop: () => env.teardown() };
  }

  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--namespace', namespace];
  args.push(...searchAttributeCliArgs());
  if (options.uiPort) {
    args.push('--ui-port', String(options.uiPort));
    if (options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  } else args.push('--headless');
  if (options.dbFilename) {
    args.push('--db-filename', options.dbFilename);
    for (const [pragma, value] of Object.entries(options.sqlitePragmas ?? FAST_SQLITE_PRAGMAS))
      args.push('--sqlite-pragma', `${pragma}=${value}`);
  }
  for (const [key, value] of Object.entries(options.dynamicConfig ?? DEV_SERVER_DYNAMIC_CONFIG))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  args.push('--log-level', 'warn');

  const child = spawn(options.cli.path, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let output = '';
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  const capture = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
    log?.write(chunk);
  };
  child.stdout!.on('data', capture);
  child.stderr!.on('data', capture);
  let exitReason: string | undefined;
  child.once('error', (err) => (exitReason = `could not start ${options.cli.path}: ${err.message}`));
  child.once('exit', (code, signal) => {
    exitReason = `the Temporal dev server exited (${signal ?? `code ${code}`}) during start-up:\n${output}`;
    log?.end();
  });

  try {
    await waitUntilServing(address, namespace, timeoutMs, () => exitReason);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { address, uiUrl, pid: child.pid, stop: () => stopChild(child) };
}
