import { mkdtemp, writeFile, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  MIGRATIONS_DIR,
  MigrationError,
  SIMULATOR_MIGRATIONS,
  loadMigrations,
  migrate,
  runMigrations,
} from '../../src/store/migrations';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

let db: TestDatabase;
beforeEach(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterEach(async () => {
  await db.drop();
});

/** A copy of the production migrations folder holding only the files up to `last`. */
async function productionUpTo(last: number): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
  for (const m of await loadMigrations()) {
    const file = `${String(m.version).padStart(4, '0')}_${m.name}.sql`;
    if (m.version <= last) await copyFile(path.join(MIGRATIONS_DIR, file), path.join(dir, file));
  }
  return dir;
}

/** Tables named sim_* in any schema, and whether the `simulators` schema exists. */
async function simulatorFootprint(): Promise<{ simTables: string[]; simulatorsSchema: boolean }> {
  const tables = await db.pool.query<{ name: string }>(
    `SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
      WHERE table_name LIKE 'sim\\_%' ORDER BY 1`,
  );
  const schema = await db.pool.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'simulators'`);
  return { simTables: tables.rows.map((r) => r.name), simulatorsSchema: schema.rowCount === 1 };
}

describe('migrations', () => {
  it('apply every file once even when several migrators race, and are a no-op when repeated', async () => {
    const files = await loadMigrations();
    const results = await Promise.all([migrate(db.pool), migrate(db.pool), migrate(db.pool)]);
    // Exactly one racer applied everything; the others found nothing left to do.
    expect(results.map((r) => r.length).sort()).toEqual([0, 0, files.length]);
    const { rows } = await db.pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(files.map((f) => f.version));
    expect(await migrate(db.pool)).toEqual([]);
  });

  it('refuses to continue when an applied migration file was edited', async () => {
    const dir = await productionUpTo(Infinity);
    await migrate(db.pool, { dir });
    const [first] = await loadMigrations(dir);
    await writeFile(path.join(dir, `0001_${first!.name}.sql`), '-- edited\nSELECT 1;');
    await expect(migrate(db.pool, { dir })).rejects.toThrow(MigrationError);
  });

  it('rolls back a failing migration entirely', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
    await writeFile(path.join(dir, '0001_ok.sql'), 'CREATE TABLE a (id int);');
    await writeFile(path.join(dir, '0002_broken.sql'), 'CREATE TABLE b (id int); SELECT * FROM missing_table;');
    await expect(migrate(db.pool, { dir })).rejects.toThrow(/missing_table/);
    const { rows } = await db.pool.query(`SELECT to_regclass('a') AS a, to_regclass('schema_migrations') AS m`);
    expect(rows[0]).toEqual({ a: null, m: null });
  });

  it('keep a set in its own bookkeeping table, schema included, and refuse a malformed table name', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
    await writeFile(path.join(dir, '0001_one.sql'), 'CREATE TABLE extra.one (id int);');
    expect(await migrate(db.pool, { dir, table: 'extra.migrations' })).toEqual([1]);
    const { rows } = await db.pool.query(
      `SELECT to_regclass('extra.migrations') AS m, to_regclass('schema_migrations') AS p`,
    );
    expect(rows[0]).toEqual({ m: 'extra.migrations', p: null });
    await expect(migrate(db.pool, { dir, table: 'x; DROP TABLE y' })).rejects.toThrow(MigrationError);
  });

  it('give a production-only database no simulator table and no simulators schema', async () => {
    expect(await runMigrations(db.pool, { simulators: false })).toEqual({
      simulators: undefined,
      production: (await loadMigrations()).map((m) => m.version),
    });
    expect(await simulatorFootprint()).toEqual({ simTables: [], simulatorsSchema: false });
  });

  it("move the simulators' books out of public when a database of the old layout is upgraded", async () => {
    await migrate(db.pool, { dir: await productionUpTo(5) });
    await db.pool.query(
      `INSERT INTO public.sim_gateway_authorizations (authorization_id, idempotency_key, token, amount_cents, status)
       VALUES ('auth_old', 'order-1/authorizePayment', 'tok_visa', 1234, 'AUTHORIZED')`,
    );
    await db.pool.query(`INSERT INTO public.sim_gateway_attempts (idempotency_key, attempts) VALUES ('k', 2)`);

    const simulatorVersions = (await loadMigrations(SIMULATOR_MIGRATIONS.dir)).map((m) => m.version);
    const upgraded = await runMigrations(db.pool, { simulators: true });
    expect(upgraded.simulators).toEqual(simulatorVersions);
    expect(upgraded.production).toEqual((await loadMigrations()).map((m) => m.version).filter((v) => v > 5));

    const books = await db.pool.query(
      'SELECT authorization_id, idempotency_key, amount_cents, status FROM simulators.gateway_authorizations',
    );
    expect(books.rows).toEqual([
      {
        authorization_id: 'auth_old',
        idempotency_key: 'order-1/authorizePayment',
        amount_cents: 1234,
        status: 'AUTHORIZED',
      },
    ]);
    const attempts = await db.pool.query('SELECT idempotency_key, attempts FROM simulators.gateway_attempts');
    expect(attempts.rows).toEqual([{ idempotency_key: 'k', attempts: 2 }]);
    expect(await simulatorFootprint()).toEqual({ simTables: [], simulatorsSchema: true });

    // Running them again changes nothing.
    expect(await runMigrations(db.pool, { simulators: true })).toEqual({ simulators: [], production: [] });
    expect(await runMigrations(db.pool, { simulators: false })).toEqual({ simulators: undefined, production: [] });
  });

  it('give a fresh database for the simulators their own schema and tables, once', async () => {
    const results = await Promise.all([
      runMigrations(db.pool, { simulators: true }),
      runMigrations(db.pool, { simulators: true }),
    ]);
    expect(results.map((r) => r.simulators!.length).sort()).toEqual([
      0,
      (await loadMigrations(SIMULATOR_MIGRATIONS.dir)).length,
    ]);
    const { rows } = await db.pool.query(
      `SELECT to_regclass('simulators.gateway_authorizations') AS a, to_regclass('simulators.gateway_attempts') AS b`,
    );
    expect(rows[0]).toEqual({ a: 'simulators.gateway_authorizations', b: 'simulators.gateway_attempts' });
    expect((await simulatorFootprint()).simTables).toEqual([]);
    expect(await runMigrations(db.pool, { simulators: true })).toEqual({ simulators: [], production: [] });
  });
});
