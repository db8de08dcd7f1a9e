import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp, type ApiDeps } from '../../src/api/app';
import { CONSUMERS } from '../../src/consumers';
import { startDelivery, type Delivery } from '../../src/delivery/start';
import type { TransportSettings } from '../../src/delivery/transport-factory';
import { createLogger, type Logger } from '../../src/logger';
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
  const delivery = await startProjectDelivery(world.db, { kind: 'postgres' }, registry);
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

/**
 * The project's consumers (and, with a broker, the relay) in this process on `db`, polling
 * fast, as the API worlds and the observability tests run them.
 */
export function startProjectDelivery(
  db: { pool: ApiDeps['pool']; url: string },
  transport: TransportSettings,
  registry: Registry,
  logger: Logger = createLogger('silent'),
): Promise<Delivery> {
  return startDelivery({
    pool: db.pool,
    connectionString: db.url,
    transport,
    consumers: CONSUMERS,
    topology: CONSUMERS,
    relay: transport.kind !== 'postgres',
    logger,
    registry,
    intervals: { pollMs: 250, rebalanceMs: 250 },
  });
}
