import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { isExecutable } from '../util/executable';
import { goInstall } from '../util/go-install';
import { defaultCacheDir, hasGo } from './cli-binary';

/**
 * The full Temporal server (the production-like topology's, on PostgreSQL) and its schema
 * tool, built from Go modules like the CLI and cached per version outside the checkout, with
 * the PostgreSQL schema files copied beside them.
 */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const SERVER_MODULE = 'go.temporal.io/server';
/** The Web UI server of the same release train (the one the Temporal CLI v1.5.1 embeds). */
export const TEMPORAL_UI_VERSION = 'v2.42.1';
const UI_MODULE = 'github.com/temporalio/ui-server/v2';

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
  /** `schema/postgresql/v12` of the server module: `temporal/versioned`, `visibility/versioned`. */
  schemaDir: string;
  /** The Temporal Web UI server (`ui-server`), its UI embedded. */
  ui: string;
}

export class TemporalServerNotFoundError extends Error {
  override readonly name = 'TemporalServerNotFoundError';
}

/** `~/.cache/saga-orchestrator/temporal-server/<version>`. */
export function serverCacheDir(cacheRoot: string = path.dirname(defaultCacheDir())): string {
  return path.join(cacheRoot, 'temporal-server', TEMPORAL_SERVER_VERSION);
}

function cached(dir: string): TemporalServerBinaries {
  return {
    server: path.join(dir, 'bin', 'temporal-server'),
    sqlTool: path.join(dir, 'bin', 'temporal-sql-tool'),
    schemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
    ui: path.join(dir, 'bin', 'temporal-ui-server'),
  };
}

const complete = (b: TemporalServerBinaries) =>
  isExecutable(b.server) &&
  isExecutable(b.sqlTool) &&
  existsSync(path.join(b.schemaDir, 'temporal', 'versioned')) &&
  isExecutable(b.ui);

/**
 * Finds the server in the cache, or builds it with Go (a minute or two on 2 cores once the
 * modules are downloaded): `go install go.temporal.io/server/cmd/server@v1.29.1` and
 * `.../cmd/tools/sql@v1.29.1`; the schema comes from the module's source in Go's module cache.
 */
export async function resolveTemporalServer(
  options: {
    cacheDir?: string;
    onProgress?: (line: string) => void;
    /** Build what is missing with Go. Default true; false: a missing build is an error naming the command. */
    build?: boolean;
  } = {},
): Promise<TemporalServerBinaries> {
  const dir = options.cacheDir ?? serverCacheDir();
  const binaries = cached(dir);
  if (complete(binaries)) return binaries;
  if (options.build === false) {
    throw new TemporalServerNotFoundError(
      `The Temporal server ${TEMPORAL_SERVER_VERSION} is not built in ${dir}: run \`npm run temporal:server\` (builds it with Go, a few minutes once).`,
    );
  }
  if (!hasGo()) {
    throw new TemporalServerNotFoundError(
      `No Temporal server at ${binaries.server} and no \`go\` to build it (go install ${SERVER_MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}). Install Go.`,
    );
  }
  if (!isExecutable(binaries.server)) {
    await goInstall({
      pkg: `${SERVER_MODULE}/cmd/server`,
      version: TEMPORAL_SERVER_VERSION,
      binary: 'server',
      target: binaries.server,
      label: `the Temporal server ${TEMPORAL_SERVER_VERSION}`,
      onProgress: options.onProgress,
    });
  }
  if (!isExecutable(binaries.sqlTool)) {
    await goInstall({
      pkg: `${SERVER_MODULE}/cmd/tools/sql`,
      version: TEMPORAL_SERVER_VERSION,
      binary: 'sql',
      target: binaries.sqlTool,
      label: `the Temporal SQL schema tool ${TEMPORAL_SERVER_VERSION}`,
      onProgress: options.onProgress,
    });
  }
  if (!isExecutable(binaries.ui)) {
    await goInstall({
      pkg: `${UI_MODULE}/cmd/server`,
      version: TEMPORAL_UI_VERSION,
      binary: 'server',
      target: binaries.ui,
      label: `the Temporal Web UI server ${TEMPORAL_UI_VERSION}`,
      onProgress: options.onProgress,
    });
  }
  // `go install` left the module's source (with its schema files) in Go's module cache.
  const modCache = spawnSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).stdout.trim();
  const source = path.join(modCache, `${SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`, 'schema', 'postgresql', 'v12');
  if (!existsSync(source)) throw new TemporalServerNotFoundError(`The server's schema files are not at ${source}`);
  await mkdir(binaries.schemaDir, { recursive: true });
  await cp(source, binaries.schemaDir, { recursive: true });
  return binaries;
}
