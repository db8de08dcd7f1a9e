import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp, type ApiDeps } from '../../src/api/app';
import { CONSUMERS } from '../../src/consumers';
import { startDelivery, type Delivery } from '../../src/delivery/start';
import { createLogger } from '../../src/logger';
import { startSagaWorld, stopSagaWorld, type SagaWorld } from './saga-world';

/** A saga world with the HTTP API on top and the project's consumers (read model, notifier) running. */
export interface ApiWorld extends SagaWorld {
  app: FastifyInstance;
  delivery: Delivery;
}

export async function startApiWorld(
  api: Partial<Omit<ApiDeps, 'pool' | 'temporal' | 'taskQueue'>> = {},
): Promise<ApiWorld> {
  const world = await startSagaWorld();
  const registry = new Registry();
  const delivery = await startDelivery({
    pool: world.db.pool,
    connectionString: world.db.url,
    transport: { kind: 'postgres' },
    consumers: CONSUMERS,
    topology: CONSUMERS,
    relay: false,
    logger: createLogger('silent'),
    registry,
    intervals: { pollMs: 250, rebalanceMs: 250 },
  });
  const app = buildApp({
    pool: world.db.pool,
    temporal: world.temporal.client,
    taskQueue: world.temporal.taskQueue,
    orders: { approvalThresholdCents: 100_000, approvalTimeout: '1h' },
    registry,
    ...api,
  });
  return { ...world, app, delivery };
}

export async function stopApiWorld(world: ApiWorld | undefined): Promise<void> {
  await world?.app.close();
  await world?.delivery.stop();
  await stopSagaWorld(world);
}
