import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runMigrations } from '../../src/store/migrations';
import { createPool, type Pool } from '../../src/store/pool';
import { testEnv } from './env';

export interface TestDatabase {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testEnv('pgAdminUrl') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database for one test file, migrated with the simulator and the production sets. */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `saga_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(testEnv('pgAdminUrl'));
  url.pathname = `/${name}`;
  // Tests hold transactions open on purpose (late commits, held-back events): no idle timeout.
  const pool = createPool(url.toString(), { max: 20, idleInTransactionTimeoutMs: 0 });
  if (options.migrate !== false) await runMigrations(pool, { simulators: true });
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
