import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { withTransaction, type Pool } from './pool';

/** The project's migrations folder (numbered SQL files). */
export const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');

/** Arbitrary but fixed key: every migrator of this project serialises on it. */
const MIGRATION_LOCK_KEY = 7_233_001;

const SQL = {
  createTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`,
  lock: `SELECT pg_advisory_xact_lock($1)`,
  applied: `SELECT version, name, checksum FROM schema_migrations ORDER BY version`,
  record: `INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`,
} as const;

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_PATTERN.exec(file);
    if (!match) throw new MigrationError(`Migration file name ${file} must look like 0001_name.sql`);
    const sql = await readFile(path.join(dir, file), 'utf8');
    migrations.push({
      version: Number(match[1]),
      name: match[2]!,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw new MigrationError(`Two migrations share version ${migrations[i]!.version}`);
    }
  }
  return migrations;
}

/**
 * Applies pending migrations in version order inside one transaction holding an advisory
 * lock, so concurrent runs serialise and repeated runs are no-ops. An applied migration whose
 * file changed is refused rather than silently diverging. Returns the versions applied now.
 */
export async function migrate(pool: Pool, dir: string = MIGRATIONS_DIR): Promise<number[]> {
  const migrations = await loadMigrations(dir);
  return withTransaction(pool, async (tx) => {
    await tx.query(SQL.lock, [MIGRATION_LOCK_KEY]);
    await tx.query(SQL.createTable);
    const { rows } = await tx.query<{ version: number; name: string; checksum: string }>(SQL.applied);
    const applied = new Map(rows.map((r) => [r.version, r]));
    const appliedNow: number[] = [];
    for (const m of migrations) {
      const done = applied.get(m.version);
      if (done) {
        if (done.checksum !== m.checksum) {
          throw new MigrationError(
            `Migration ${m.version}_${m.name} was changed after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      await tx.query(m.sql);
      await tx.query(SQL.record, [m.version, m.name, m.checksum]);
      appliedNow.push(m.version);
    }
    return appliedNow;
  });
}
