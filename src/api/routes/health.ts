import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deliveryStatus } from '../../delivery/status';
import type { ResolvedApiDeps } from '../deps';
import { OPERATIONAL_ROUTE } from '../hardening';

type Check = { status: 'up' } | { status: 'down'; error: string };

async function probe(fn: () => Promise<unknown>, timeoutMs = 2000): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: 'up' };
  } catch (err) {
    return { status: 'down', error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** What the database knows of the relay and the consumers (reported, not a readiness gate). */
async function deliveryReport(deps: ResolvedApiDeps) {
  const status = await deliveryStatus(deps.pool, deps.transport, deps.consumers);
  const consumers = Object.fromEntries(
    status.consumers
      .filter((c) => deps.consumers.some((known) => known.name === c.name))
      .map((c) => [c.name, { instances: c.instances, partitionsOwned: c.partitionsOwned, partitions: c.partitions }]),
  );
  return { transport: status.transport, ...(status.relay ? { relay: status.relay } : {}), consumers };
}

const check = z.union([
  z.object({ status: z.literal('up') }),
  z.object({ status: z.literal('down'), error: z.string() }),
]);
const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  checks: z.object({ postgres: check, temporal: check }),
  delivery: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      'Transport, relay (active, standbys, backlog, oldest undelivered age) and per consumer instances and partitions',
    ),
});

const probeSchema = z.object({ status: z.enum(['live', 'ready', 'draining']) });

export function healthRoutes(app: FastifyInstance, deps: ResolvedApiDeps): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  // Orchestrator probes, the same paths as the roles without an API (src/processes/probe-server.ts).
  // Neither touches PostgreSQL or Temporal: a dependency's outage must not restart every replica.
  typed.get(
    '/health/live',
    {
      config: OPERATIONAL_ROUTE,
      schema: {
        tags: ['operations'],
        summary: 'Liveness: 200 while the process serves requests',
        response: { 200: probeSchema },
      },
    },
    async () => ({ status: 'live' as const }),
  );
  typed.get(
    '/health/ready',
    {
      config: OPERATIONAL_ROUTE,
      schema: {
        tags: ['operations'],
        summary: 'Readiness: 503 while draining after SIGTERM, so a load balancer stops routing here first',
        response: { 200: probeSchema, 503: probeSchema },
      },
    },
    async (_request, reply) =>
      deps.draining?.() ? reply.status(503).send({ status: 'draining' }) : reply.send({ status: 'ready' }),
  );
  const route = {
    config: OPERATIONAL_ROUTE,
    schema: {
      tags: ['operations'],
      summary: 'Reachability of PostgreSQL and Temporal (503 when one is down), and a delivery report',
      response: { 200: healthSchema, 503: healthSchema },
    },
  };
  app.withTypeProvider<ZodTypeProvider>().get('/health', route, async (_request, reply) => {
    const [postgres, temporal] = await Promise.all([
      probe(() => deps.pool.query('SELECT 1')),
      probe(() => deps.temporal.workflowService.getSystemInfo({})),
    ]);
    const up = postgres.status === 'up' && temporal.status === 'up';
    const delivery = up ? await deliveryReport(deps).catch((err: Error) => ({ error: err.message })) : undefined;
    return reply
      .status(up ? 200 : 503)
      .send({ status: up ? 'ok' : 'degraded', checks: { postgres, temporal }, ...(delivery ? { delivery } : {}) });
  });
}
