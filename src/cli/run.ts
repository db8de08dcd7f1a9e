/** What every `saga` command shares: its error handling, usage errors and option parsers. */
import { ConfigError, loadConfig, type Config } from '../processes/config';
import { createLogger, type Logger } from '../logger';
import type { UnknownSagaError } from './explore-command';
import type { AlreadyRunningError } from '../processes/dev-lock';
import type { PortInUseError } from '../processes/ports';
import type { MigrationError } from '../store/migrations';
import type { EmbeddedPostgresUnavailableError } from '../store/embedded-postgres';
import { createPool } from '../store/pool';
import type { TemporalCliNotFoundError } from '../temporal/cli-binary';
import type { DevServerStartError } from '../temporal/dev-server';
import type { UnknownConsumerError } from '../consumers';
import { installPluginsFromEnv, type PluginError } from '../processes/plugins';
import type { HistoryReaderError } from '../processes/replay';
import { describeNoStack, lookupLocalStack } from './local-stack';

/** The command line asks for something impossible (bad argument, wrong transport). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Errors that describe a user-fixable situation: printed as a message, not a stack trace. */
type ExpectedError =
  | ConfigError
  | AlreadyRunningError
  | PortInUseError
  | MigrationError
  | TemporalCliNotFoundError
  | DevServerStartError
  | EmbeddedPostgresUnavailableError
  | UsageError
  | UnknownConsumerError
  | UnknownSagaError
  | PluginError
  | HistoryReaderError;
/**
 * Known by name (each class's literal `name`, every one listed, checked by the compiler), so
 * this module, which every command loads, loads none of the modules that throw them: a
 * command loads only what it runs (`saga migrate` does not load the worker or the explorer).
 */
const EXPECTED_ERRORS: Record<ExpectedError['name'], true> = {
  ConfigError: true,
  AlreadyRunningError: true,
  PortInUseError: true,
  MigrationError: true,
  TemporalCliNotFoundError: true,
  DevServerStartError: true,
  EmbeddedPostgresUnavailableError: true,
  UsageError: true,
  UnknownConsumerError: true,
  UnknownSagaError: true,
  PluginError: true,
  HistoryReaderError: true,
};
const isExpected = (err: unknown): err is ExpectedError =>
  err instanceof Error && Object.hasOwn(EXPECTED_ERRORS, err.name);

/**
 * DATABASE_URL, else the database of the `npm start` running with this DATA_DIR (its lock
 * file records it), for the commands an operator runs beside it (migrate, seed, rebuild).
 */
export function databaseUrlOrLocalStack(config: Config): string {
  if (config.databaseUrl) return config.databaseUrl;
  const local = lookupLocalStack(config.dataDir);
  if (local.state === 'running') {
    process.stderr.write(`Using the database of the running \`npm start\` (pid ${local.pid}).\n`);
    return local.stack.databaseUrl;
  }
  throw new ConfigError([
    {
      variable: 'DATABASE_URL',
      message: `is required for this command: only \`saga dev\` embeds PostgreSQL, and ${describeNoStack(local)}`,
    },
  ]);
}

export async function run(action: (config: Config, logger: Logger) => Promise<void>): Promise<void> {
  try {
    // Plugins first: the configuration names their adapters, the roles run their sagas and consumers.
    installPluginsFromEnv();
    const config = loadConfig();
    await action(config, createLogger(config.logLevel, undefined, { personalData: config.logPersonalData }));
  } catch (err) {
    if (isExpected(err)) {
      process.stderr.write(`saga: ${(err as Error).message}\n`);
      process.exit(2);
    }
    process.stderr.write(`saga: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  }
}

export const count = (name: string) => (value: string) => {
  if (!/^\d{1,2}$/.test(value)) throw new UsageError(`${name} must be a whole number, not "${value}"`);
  return Number(value);
};
export const portOption = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new UsageError(`${name} must be a port (1..65535)`);
  return n;
};

export async function withPool<T>(config: Config, fn: (pool: ReturnType<typeof createPool>) => Promise<T>): Promise<T> {
  const pool = createPool(databaseUrlOrLocalStack(config));
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}
