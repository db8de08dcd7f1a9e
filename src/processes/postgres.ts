import path from 'node:path';
import type { Config } from './config';
import type { Logger } from '../logger';
import { startEmbeddedPostgres } from '../store/embedded-postgres';

export interface ProvisionedPostgres {
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/** DATABASE_URL when set; otherwise an embedded PostgreSQL with its data under DATA_DIR. */
export async function provisionPostgres(config: Config, logger: Logger): Promise<ProvisionedPostgres> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: false, stop: async () => undefined };
  const dataDir = path.join(config.dataDir, 'postgres');
  logger.info({ dataDir, port: config.embeddedPgPort }, 'starting embedded PostgreSQL');
  const pg = await startEmbeddedPostgres({
    dataDir,
    port: config.embeddedPgPort,
    onLog: (line) => logger.debug({ component: 'postgres' }, line.trim()),
  });
  return { url: pg.url, embedded: true, stop: pg.stop };
}
