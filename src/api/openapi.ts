import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { Access } from './auth';
import { problemSchema } from './errors';

/** What each problem status means, with the problem codes it carries (`code` in the document). */
export const PROBLEM_RESPONSES: Record<number, string> = {
  400:
    'Problem document: validation_failed (a field is invalid, or holds text PostgreSQL cannot store: NUL, ' +
    'an unpaired UTF-16 surrogate; `fieldErrors` names it) or bad_request (an unreadable body or URL)',
  401: 'Problem document: unauthorized (no API key, or an unknown one; only when API keys are configured)',
  403: "Problem document: forbidden (the key's role may not do this: operators only)",
  404: 'Problem document: not_found',
  409: 'Problem document: conflict (the current state does not allow it)',
  413: 'Problem document: payload_too_large (the body is over 256 KiB)',
  414: 'Problem document: uri_too_long (a path parameter is longer than 100 characters)',
  415: 'Problem document: unsupported_media_type (send the body as application/json)',
  429: 'Problem document: rate_limited (the caller spent its requests of the minute; see Retry-After)',
  500: 'Problem document: internal or unreadable_event (quote the correlation id)',
  503:
    'Problem document: unavailable (the process is under load, or PostgreSQL or Temporal is unreachable; ' +
    'see Retry-After) or timeout',
};

interface RouteFacts {
  url: string;
  methods: string[];
  access: Access;
  rateLimited: boolean;
}

/** The problem statuses any route like this one may answer, whatever its handler does. */
export function standardProblemStatuses(route: RouteFacts): number[] {
  const withBody = route.methods.some((m) => ['POST', 'PUT', 'PATCH'].includes(m));
  return [
    // A malformed URL escape or header text that cannot be stored: on every route.
    400,
    ...(route.access === 'public' ? [] : [401]),
    ...(route.access === 'operator' ? [403] : []),
    ...(withBody ? [413, 415] : []),
    ...(route.url.includes(':') ? [414] : []),
    ...(route.rateLimited ? [429] : []),
    500,
    // Load shedding (@fastify/under-pressure) applies to every route.
    503,
  ];
}

type Responses = Record<string, unknown>;

/**
 * The route's responses as documented: its own, and a problem response (application/problem+json,
 * described by PROBLEM_RESPONSES) for every problem status it declares or may give; where a route
 * answers a status with a body of its own too (GET /health's 503), both media types are listed.
 */
export function documentedResponses(route: RouteFacts, declared: Responses = {}): Responses {
  const out: Responses = {};
  const problemStatuses = new Set(standardProblemStatuses(route));
  for (const [status, schema] of Object.entries(declared)) {
    if (schema === problemSchema) problemStatuses.add(Number(status));
    else out[status] = schema;
  }
  for (const status of [...problemStatuses].sort((a, b) => a - b)) {
    const own = out[status] as z.ZodType | undefined;
    out[status] = {
      description: own
        ? `${own.description ?? 'The answer'}; or a ${lowerFirst(PROBLEM_RESPONSES[status]!)}`
        : PROBLEM_RESPONSES[status],
      content: {
        ...(own ? { 'application/json': { schema: own } } : {}),
        'application/problem+json': { schema: problemSchema },
      },
    };
  }
  return out;
}

const lowerFirst = (s: string) => s[0]!.toLowerCase() + s.slice(1);

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
      const config = (args.route?.config ?? {}) as { access?: Access; rateLimit?: unknown };
      const access = config.access ?? 'customer';
      const facts: RouteFacts = {
        url: args.url,
        methods: [args.route?.method ?? 'GET'].flat().map(String),
        access,
        rateLimited: config.rateLimit !== false,
      };
      const schema = (args.schema ?? {}) as { response?: Responses };
      const transformed = jsonSchemaTransform({
        ...args,
        schema: { ...schema, response: documentedResponses(facts, schema.response) },
      } as typeof args);
      if (access === 'public') return transformed;
      return { ...transformed, schema: { ...transformed.schema, security: [{ apiKey: [] }] } } as typeof transformed;
    },
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });
}
