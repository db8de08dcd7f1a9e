import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../logger';
import type { Pool } from '../store/pool';
import { registerErrorHandler } from './errors';
import { healthRoutes } from './routes/health';
import { orderActionRoutes } from './routes/order-actions';
import { orderRoutes } from './routes/orders';

export interface ApiDeps {
  pool: Pool;
  temporal: Client;
  taskQueue: string;
  /** Saga settings passed to every new order. */
  orders: { approvalThresholdCents: number; approvalTimeout: string };
  logger?: Logger;
}

/** Builds the HTTP API without listening (tests use `app.inject()`). */
export function buildApp(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger?.child({ component: 'api' }),
    bodyLimit: 256 * 1024,
  }) as unknown as FastifyInstance;
  registerErrorHandler(app);
  healthRoutes(app, deps);
  orderRoutes(app, deps);
  orderActionRoutes(app, deps);
  return app;
}
