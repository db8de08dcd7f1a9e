import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { OPERATIONAL_ROUTE } from './hardening';

/** Prometheus metrics of one API process, served at GET /metrics. */
export function registerMetrics(app: FastifyInstance, registry: Registry = new Registry()): Registry {
  collectDefaultMetrics({ register: registry, prefix: 'saga_api_' });
  const duration = new Histogram({
    name: 'saga_api_http_request_duration_seconds',
    help: 'HTTP request duration by route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const ordersPlaced = new Counter({
    name: 'saga_api_orders_placed_total',
    help: 'Orders accepted by POST /orders (new sagas started; idempotent repeats excluded)',
    registers: [registry],
  });
  app.decorate('ordersPlaced', ordersPlaced);
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL, keeps label cardinality bounded.
    const route = request.routeOptions.url ?? 'unmatched';
    duration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  return registry;
}

/** GET /metrics (registered with the other routes, so the OpenAPI document lists it). */
export function metricsRoute(app: FastifyInstance, registry: Registry, extra?: () => Promise<string>): void {
  app.get(
    '/metrics',
    {
      config: OPERATIONAL_ROUTE,
      schema: {
        tags: ['operations'],
        summary: 'Prometheus text exposition',
        produces: ['text/plain'],
        response: { 200: z.string().describe('Metrics in the Prometheus text format') },
      },
    },
    async (_request, reply) => {
      // The Temporal SDK's own metrics, when this process runs a worker too (`npm start`).
      const [ours, more] = await Promise.all([registry.metrics(), extra?.().catch(() => '') ?? '']);
      return reply.header('content-type', registry.contentType).send(more ? `${ours}\n${more}` : ours);
    },
  );
}

declare module 'fastify' {
  interface FastifyInstance {
    ordersPlaced: Counter;
  }
}
