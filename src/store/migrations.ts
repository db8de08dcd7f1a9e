import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { withTransaction, type Pool, type Tx } from './pool';

/** The project's migrations folder (numbered SQL files). */
export const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');

/** Arbitrary but fixed key: every migrator of this project serialises on it. */
const MIGRATION_LOCK_KEY = 7_233_001;

/**
 * A folder of numbered SQL files and the table recording which of them are applied. Each
 * option has a default, so `{}` is the production set.
 */
export interface MigrationSet {
  /** Folder of `0001_name.sql` files (sub-folders are ignored). Default: `migrations/`. */
  dir?: string;
  /**
   * Bookkeeping table, optionally schema-qualified (`schema.table`: the schema is created with
   * it). Lower-case letters, digits and `_` only. Default: `schema_migrations`.
   */
  table?: string;
  /**
   * Advisory lock held while the set is applied. Default: 7233001, shared by every set of this
   * project, so a simulator migrator and a production migrator never interleave.
   */
  lockKey?: number;
}

/** The application's own schema: what every database gets, production included. */
export const PRODUCTION_MIGRATIONS: Readonly<Required<MigrationSet>> = Object.freeze({
  dir: MIGRATIONS_DIR,
  table: 'schema_migrations',
  lockKey: MIGRATION_LOCK_KEY,
});

/**
 * The simulators' books (schema `simulators`), only for databases whose adapters are the
 * simulators. Applied before the production set: its first migration copies the books out of
 * the `public.sim_gateway_*` tables that production migration 0006 drops.
 */
export const SIMULATOR_MIGRATIONS: Readonly<Required<MigrationSet>> = Object.freeze({
  dir: path.join(MIGRATIONS_DIR, 'simulators'),
  table: 'simulators.schema_migrations',
  lockKey: MIGRATION_LOCK_KEY,
});

const TABLE_NAME = /^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/;

const LOCK_SQL = `SELECT pg_advisory_xact_lock($1)`;

/** The bookkeeping SQL of one set (its table name is checked against TABLE_NAME first). */
const sqlFor = (table: string) =>
  ({
    createSchema: (schema: string) => `CREATE SCHEMA IF NOT EXISTS ${schema}`,
    createTable: `CREATE TABLE IF NOT EXISTS ${table} (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`,
    applied: `SELECT version, name, checksum FROM ${table} ORDER BY version`,
    record: `INSERT INTO ${table} (version, name, checksum) VALUES ($1, $2, $3)`,
  }) as const;

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
  const entries = await readdir(dir, { withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && e.name.endsWith('.sql'))
    .map((e) => e.name)
    .sort();
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

function resolveSet(set: MigrationSet): Required<MigrationSet> {
  const resolved = {
    dir: set.dir ?? PRODUCTION_MIGRATIONS.dir,
    table: set.table ?? PRODUCTION_MIGRATIONS.table,
    lockKey: set.lockKey ?? PRODUCTION_MIGRATIONS.lockKey,
  };
  if (!TABLE_NAME.test(resolved.table)) {
    throw new MigrationError(`Migration table "${resolved.table}" must look like name or schema.name`);
  }
  return resolved;
}

/** Applies one set's pending migrations on `tx`, which holds the set's lock. */
async function applySet(tx: Tx, set: Required<MigrationSet>, migrations: Migration[]): Promise<number[]> {
  const SQL = sqlFor(set.table);
  const [schema, table] = set.table.split('.', 2);
  if (table) await tx.query(SQL.createSchema(schema!));
  await tx.query(SQL.createTable);
  const { rows } = await tx.query<{ version: number; name: string; checksum: string }>(SQL.applied);
  const applied = new Map(rows.map((r) => [r.version, r]));
  const appliedNow: number[] = [];
  for (const m of migrations) {
    const done = applied.get(m.version);
    if (done) {
      if (done.checksum !== m.checksum) {
        throw new MigrationError(
          `Migration ${m.version}_${m.name} (${set.table}) was changed after it was applied; add a new migration instead`,
        );
      }
      continue;
    }
    await tx.query(m.sql);
    await tx.query(SQL.record, [m.version, m.name, m.checksum]);
    appliedNow.push(m.version);
  }
  return appliedNow;
}

/**
 * Applies the pending migrations of several sets, in the order given, in one transaction
 * holding their advisory locks (taken in ascending key order, so migrators never deadlock).
 * Either every set is brought up to date or nothing changes. Returns the versions applied now,
 * per set.
 */
export async function migrateSets(pool: Pool, sets: readonly MigrationSet[]): Promise<number[][]> {
  const resolved = sets.map(resolveSet);
  const loaded = await Promise.all(resolved.map((s) => loadMigrations(s.dir)));
  return withTransaction(pool, async (tx) => {
    for (const key of [...new Set(resolved.map((s) => s.lockKey))].sort((a, b) => a - b)) {
      await tx.query(LOCK_SQL, [key]);
    }
    const appliedNow: number[][] = [];
    for (const [i, set] of resolved.entries()) appliedNow.push(await applySet(tx, set, loaded[i]!));
    return appliedNow;
  });
}

/**
 * Applies pending migrations of one set (default: production) in version order inside one
 * transaction holding an advisory lock, so concurrent runs serialise and repeated runs are
 * no-ops. An applied migration whose file changed is refused rather than silently diverging.
 * Returns the versions applied now.
 */
export async function migrate(pool: Pool, set: MigrationSet = PRODUCTION_MIGRATIONS): Promise<number[]> {
  const [applied] = await migrateSets(pool, [set]);
  return applied!;
}

export interface MigrationReport {
  /** Simulator migrations applied now; `undefined` when the simulator set was not asked for. */
  simulators: number[] | undefined;
  /** Production migrations applied now. */
  production: number[];
}

/**
 * What every entry point calls: the production set, preceded by the simulator set when the
 * database serves the simulators (`simulators: true`; see `needsSimulatorMigrations`). Both in
 * one transaction, so the simulators' books are copied and the old tables dropped together.
 */
export async function runMigrations(pool: Pool, options: { simulators: boolean }): Promise<MigrationReport> {
  if (!options.simulators) return { simulators: undefined, production: await migrate(pool) };
  const [simulators, production] = await migrateSets(pool, [SIMULATOR_MIGRATIONS, PRODUCTION_MIGRATIONS]);
  return { simulators: simulators!, production: production! };
}
