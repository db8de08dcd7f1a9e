import { simulatedActivityDeps } from '../../src/processes/activity-deps';
import { seedCatalog } from '../../src/store/catalog';
import { createTestDatabase, type TestDatabase } from './database';
import { connectTestTemporal, type TestTemporal } from './temporal';

/** What a saga test file needs: a fresh, migrated, seeded database and a worker on its own task queue. */
export interface SagaWorld {
  db: TestDatabase;
  temporal: TestTemporal;
}

export async function startSagaWorld(): Promise<SagaWorld> {
  const db = await createTestDatabase();
  await seedCatalog(db.pool);
  const temporal = await connectTestTemporal();
  await temporal.startWorker(simulatedActivityDeps(db.pool));
  return { db, temporal };
}

export async function stopSagaWorld(world: SagaWorld | undefined): Promise<void> {
  await world?.temporal.close();
  await world?.db.drop();
}
