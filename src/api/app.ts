import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { enterCorrelation } from '../correlation/context';
import { clientProblemCode, problem, registerErrorHandler, sendProblem } from './errors';
import { registerHardening } from './hardening';
import { registerAuth } from './auth';
import type { ApiDeps, ResolvedApiDeps } from './deps';
import { registerOpenApi } from './openapi';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { metricsRoute, registerMetrics } from './metrics';
import { CONSUMERS } from '../consumers';
import { registerDeliveryGauges } from '../delivery/metrics';
import { registerSagaStateGauges } from '../telemetry/saga-metrics';
import { codecRoutes } from './routes/codec';
import { correlationRoutes } from './routes/correlations';
import { deadLetterRoutes } from './routes/dead-letters';
import { healthRoutes } from './routes/health';
import { orderRoutes } from './routes/orders';
import { productRoutes } from './routes/products';
import { returnRoutes } from './routes/returns';
import { registerRequestTracing } from './tracing';
import { registerAudit } from './audit';
import { consoleRoutes } from './console/route';
import { operationsRoutes } from './routes/operations';
import { sagaOperatorRoutes } from './routes/saga-operator';
import { SAGA_TABLES } from '../workflows/sagas';

export type { ApiDeps, ResolvedApiDeps };

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
    // While closing after SIGTERM (readiness has been 503 for SHUTDOWN_DELAY), a request that
    // still arrives on an open keep-alive connection is served, with `Connection: close`,
    // rather than refused with a 503: the process can still do the work, and a POST refused
    // that way would be the client's to retry.
    return503OnClosing: false,
    // URLs the router refuses (bad escapes, over-long ids) are problems like any other.
    frameworkErrors: (error, request, reply) => {
      const status = (error as { statusCode?: number }).statusCode ?? 400;
      const instance = request.url.split('?')[0]!.slice(0, 200);
      return sendProblem(reply, problem(clientProblemCode(status), error.message.slice(0, 300), { status, instance }));
    },
  }) as unknown as FastifyInstance;
  // Closing (after SIGTERM and SHUTDOWN_DELAY): every response from then on closes its
  // connection. Fastify does so for requests that arrive while closing; a request already in
  // flight would otherwise leave its keep-alive connection open and idle, and the close would
  // wait for the client to drop it (or for the 72 s keep-alive timeout).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) void reply.header('connection', 'close');
    return payload;
  });
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
  registerSagaStateGauges(registry, deps.temporal, SAGA_TABLES);
  registerAuth(app, deps.apiKeys ?? []);
  registerAudit(app, deps.pool, deps.logger);
  registerHardening(app, deps.pool, deps.limits);
  registerOpenApi(app);
  // Routes in a context registered after the plugins, so rate limiting and the rest see them.
  void app.register(async (routes) => {
    const r = routes as FastifyInstance;
    healthRoutes(r, deps);
    metricsRoute(r, registry, deps.extraMetrics);
    orderRoutes(r, deps);
    productRoutes(r, deps);
    returnRoutes(r, deps);
    correlationRoutes(r, deps);
    deadLetterRoutes(r, deps);
    sagaOperatorRoutes(r, deps);
    operationsRoutes(r, deps);
    consoleRoutes(r);
    codecRoutes(r, deps);
  });
  return app;
}
