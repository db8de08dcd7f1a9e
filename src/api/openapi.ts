import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/**
 * The OpenAPI 3.1 document, generated from the routes' zod schemas, served at GET /docs/json,
 * and an interactive reference at GET /docs. Registered before the routes so it sees them all.
 */
export function registerOpenApi(app: FastifyInstance): void {
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Saga orchestrator API',
        version: (require('../../package.json') as { version: string }).version,
        description:
          'Place orders (each runs as a durable saga on Temporal), watch them through the read model and the live saga, ' +
          'decide approvals, cancel, and operate dead letters. Errors are RFC 9457 problem documents.',
      },
      components: {
        securitySchemes: {
          apiKey: {
            type: 'apiKey',
            in: 'header',
            name: 'X-API-Key',
            description: 'A key from API_KEYS (customer or operator role); not needed when the API runs without keys',
          },
        },
      },
      tags: [
        { name: 'orders', description: 'Placing and reading orders' },
        { name: 'saga', description: 'Driving a running saga' },
        { name: 'returns', description: 'Returning a confirmed order (the return saga)' },
        { name: 'delivery', description: 'Dead letters and notifications' },
        { name: 'operations', description: 'Health, metrics, correlation chains' },
      ],
    },
    transform: (args) => {
      const transformed = jsonSchemaTransform(args);
      const access = (args.route?.config as { access?: string } | undefined)?.access ?? 'customer';
      if (access === 'public') return transformed;
      // Routes that need a key say so, with the problems a missing or too weak key gets.
      const schema = transformed.schema as { security?: unknown; response?: Record<string, unknown> };
      const problemResponse = schema.response?.['400'] ?? schema.response?.['404'];
      return {
        ...transformed,
        schema: {
          ...schema,
          security: [{ apiKey: [] }],
          response: {
            ...schema.response,
            ...(problemResponse
              ? { 401: problemResponse, ...(access === 'operator' ? { 403: problemResponse } : {}) }
              : {}),
          },
        },
      } as typeof transformed;
    },
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });
}
