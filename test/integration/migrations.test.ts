import { mkdtemp, writeFile, copyFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MIGRATIONS_DIR, MigrationError, loadMigrations, migrate } from '../../src/store/migrations';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

let db: TestDatabase;
beforeEach(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterEach(async () => {
  await db.drop();
});

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
    const dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
    for (const f of await readdir(MIGRATIONS_DIR)) await copyFile(path.join(MIGRATIONS_DIR, f), path.join(dir, f));
    await migrate(db.pool, dir);
    const [first] = (await readdir(dir)).sort();
    await writeFile(path.join(dir, first!), '-- edited\nSELECT 1;');
    await expect(migrate(db.pool, dir)).rejects.toThrow(MigrationError);
  });

  it('rolls back a failing migration entirely', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
    await writeFile(path.join(dir, '0001_ok.sql'), 'CREATE TABLE a (id int);');
    await writeFile(path.join(dir, '0002_broken.sql'), 'CREATE TABLE b (id int); SELECT * FROM missing_table;');
    await expect(migrate(db.pool, dir)).rejects.toThrow(/missing_table/);
    const { rows } = await db.pool.query(`SELECT to_regclass('a') AS a, to_regclass('schema_migrations') AS m`);
    expect(rows[0]).toEqual({ a: null, m: null });
  });
});
