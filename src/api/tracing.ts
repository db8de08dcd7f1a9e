import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { tracer, tracingEnabled } from '../telemetry/tracing';

/**
 * A SERVER span per HTTP request, continuing an incoming `traceparent`; the route handler runs
 * with it active, so the Temporal client's spans (workflow start, update) and everything after
 * them belong to the request's trace. Registered only while tracing is on.
 */
const spans = new WeakMap<FastifyRequest, Span>();

export function registerRequestTracing(app: FastifyInstance): void {
  if (!tracingEnabled()) return;
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url ?? request.url.split('?')[0];
    spans.set(
      request,
      tracer().startSpan(
        `${request.method} ${route}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': request.method,
            'http.route': route,
            'url.path': request.url.split('?')[0],
            ...(request.headers['x-correlation-id']
              ? { 'saga.correlation_id': String(request.headers['x-correlation-id']) }
              : {}),
          },
        },
        propagation.extract(ROOT_CONTEXT, request.headers),
      ),
    );
  });
  app.addHook('onRoute', (route) => {
    const handler = route.handler as RouteHandlerMethod;
    route.handler = function traced(this: FastifyInstance, request, reply) {
      const span = spans.get(request);
      return span
        ? context.with(trace.setSpan(context.active(), span), () => handler.call(this, request, reply))
        : handler.call(this, request, reply);
    };
  });
  app.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request);
    if (!span) return;
    span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
}
