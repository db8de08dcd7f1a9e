import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp, type ApiDeps } from '../../src/api/app';
import { CONSUMERS } from '../../src/consumers';
import { startDelivery, type Delivery } from '../../src/delivery/start';
import type { TransportSettings } from '../../src/delivery/transport-factory';
import { createLogger, type Logger } from '../../src/logger';
import { recordResponses, undeclaredResponses, type ObservedResponse } from './openapi-responses';
import { startSagaWorld, stopSagaWorld, type SagaWorld } from './saga-world';

/** A saga world with the HTTP API on top and the project's consumers (read model, notifier) running. */
export interface ApiWorld extends SagaWorld {
  app: FastifyInstance;
  delivery: Delivery;
  /** Every answer `app.inject` got: stopApiWorld fails when the OpenAPI document does not declare one. */
  observed: ObservedResponse[];
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
  const observed = recordResponses(app);
  return { ...world, app, delivery, observed };
}

/** Stops the world; fails (after stopping) when an answer the tests saw is not in the OpenAPI document. */
export async function stopApiWorld(world: ApiWorld | undefined): Promise<void> {
  let undeclared: string[] = [];
  let failure: unknown;
  try {
    undeclared = world ? await undeclaredResponses(world.app, world.observed) : [];
  } catch (err) {
    failure = err;
  }
  await world?.app.close();
  await world?.delivery.stop();
  await stopSagaWorld(world);
  if (failure) throw failure;
  if (undeclared.length) {
    throw new Error(`Answers the OpenAPI document does not declare:\n${undeclared.slice(0, 20).join('\n')}`);
  }
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
