import type { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { enterCorrelation } from '../correlation/context';
import type { Logger } from '../logger';
import type { Pool } from '../store/pool';
import { problem, registerErrorHandler, sendProblem } from './errors';
import { registerHardening, type ApiLimits } from './hardening';
import { registerAuth, type ApiKey } from './auth';
import { registerOpenApi } from './openapi';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { metricsRoute, registerMetrics } from './metrics';
import { CONSUMERS } from '../consumers';
import type { ConsumerDefinition } from '../consumers/consumer';
import { registerDeliveryGauges } from '../delivery/metrics';
import { registerSagaStateGauges } from '../telemetry/saga-metrics';
import type { TransportKind } from '../transports/transport';
import type { Registry } from 'prom-client';
import type { OrderSagaInput } from '../workflows';
import { correlationRoutes } from './routes/correlations';
import { deadLetterRoutes } from './routes/dead-letters';
import { healthRoutes } from './routes/health';
import { orderActionRoutes } from './routes/order-actions';
import { orderRoutes } from './routes/orders';
import { returnRoutes } from './routes/returns';
import { registerRequestTracing } from './tracing';
import { registerAudit } from './audit';
import { consoleRoutes } from './console/route';
import { operationsRoutes } from './routes/operations';
import { orderStoryRoutes } from './routes/order-story';
import { ordersLiveRoute } from './routes/orders-live';
import { sagaOperatorRoutes } from './routes/saga-operator';

export interface ApiDeps {
  pool: Pool;
  temporal: Client;
  taskQueue: string;
  /** Saga settings passed to every new order. */
  orders: {
    approvalThresholdCents: number;
    approvalTimeout: string;
    /** Per-step deadline overrides for new orders (step name → duration). Default: the saga table's. */
    stepDeadlines?: OrderSagaInput['stepDeadlines'];
  };
  /** Return saga settings: how long a return waits for the goods. Default 14 days. */
  returns?: { goodsTimeout: string };
  /** How long POST /orders/:id/cancel (and a return's cancel) waits for compensation before answering 202. Default 10 s. */
  cancelWaitMs?: number;
  logger?: Logger;
  /** Consumers whose dead letters can be replayed from here. Default: all of the project's. */
  consumers?: readonly ConsumerDefinition[];
  /** The delivery transport, for the relay figures on /metrics and /health. Default postgres. */
  transport?: TransportKind;
  /** Metrics registry shared with in-process delivery (its counters). Default: a new one. */
  registry?: Registry;
  /** Rate limit, load shedding, JSON depth (see ApiLimits for the defaults). */
  limits?: ApiLimits;
  /** Who may call: none configured means an open API (keep it on loopback). */
  apiKeys?: readonly ApiKey[];
  /** X-Forwarded-For from these proxies names the client (fastify `trustProxy`). Default false. */
  trustProxy?: boolean | string;
  /** More Prometheus text for GET /metrics (the SDK's worker metrics in `npm start`). Default none. */
  extraMetrics?: () => Promise<string>;
  /** The Temporal Web UI, for links to workflows (the console, an order's story). Default none. */
  temporalUi?: { url: string; namespace: string };
  /** Whether the process drains after SIGTERM: /health/ready then answers 503. Default never. */
  draining?: () => boolean;
}

export type ResolvedApiDeps = ApiDeps & { consumers: readonly ConsumerDefinition[]; transport: TransportKind };

/** Builds the HTTP API without listening (tests use `app.inject()`). */
export function buildApp(options: ApiDeps): FastifyInstance {
  const deps: ResolvedApiDeps = {
    ...options,
    consumers: options.consumers ?? CONSUMERS,
    transport: options.transport ?? 'postgres',
  };
  const app = Fastify({
    loggerInstance: deps.logger?.child({ component: 'api' }),
    bodyLimit: 256 * 1024,
    trustProxy: deps.trustProxy ?? false,
    // A request that has not been received whole within this time is answered 408.
    requestTimeout: 30_000,
    // URLs the router refuses (bad escapes, over-long ids) are problems like any other.
    frameworkErrors: (error, request, reply) => {
      const status = (error as { statusCode?: number }).statusCode ?? 400;
      const instance = request.url.split('?')[0]!.slice(0, 200);
      return sendProblem(reply, problem('bad_request', error.message.slice(0, 300), { status, instance }));
    },
  }) as unknown as FastifyInstance;
  // One schema source: zod validates requests and responses and feeds the OpenAPI document.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  registerRequestTracing(app);
  // Take or create the correlation id; it is answered back and made ambient for the request,
  // so logs, Temporal calls and (through the saga) every event carry it.
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers['x-correlation-id'];
    // Visible ASCII only: the id is echoed in a response header and written to logs and events.
    const given = typeof header === 'string' && /^[\x21-\x7e]{1,200}$/.test(header.trim()) ? header.trim() : undefined;
    const correlationId = given ?? randomUUID();
    enterCorrelation({ correlationId });
    void reply.header('x-correlation-id', correlationId);
  });
  const registry = registerMetrics(app, deps.registry);
  registerDeliveryGauges(registry, deps.pool, deps.transport);
  registerSagaStateGauges(registry, deps.temporal);
  registerAuth(app, deps.apiKeys ?? []);
  registerAudit(app, deps.pool, deps.logger);
  registerHardening(app, deps.limits);
  registerOpenApi(app);
  // Routes in a context registered after the plugins, so rate limiting and the rest see them.
  void app.register(async (routes) => {
    const r = routes as FastifyInstance;
    healthRoutes(r, deps);
    metricsRoute(r, registry, deps.extraMetrics);
    orderRoutes(r, deps);
    orderActionRoutes(r, deps);
    returnRoutes(r, deps);
    correlationRoutes(r, deps);
    deadLetterRoutes(r, deps);
    sagaOperatorRoutes(r, deps);
    operationsRoutes(r, deps);
    orderStoryRoutes(r, deps);
    ordersLiveRoute(r, deps);
    consoleRoutes(r);
  });
  return app;
}
