import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import { problem, sendProblem, ValidationError } from './errors';
import { registerStorableInput } from './storable-input';
import type { Pool } from '../store/pool';
import { postgresRateLimitStore } from './rate-limit-store';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false`: never shed under load (probes and /metrics: see `OPERATIONAL_ROUTE`). */
    shed?: boolean;
  }
}

/**
 * The config of probes and /metrics: public, not rate limited and never shed under load, so a
 * prober or scraper beside busy clients neither gets 429 nor restarts (liveness) or loses sight
 * of (metrics) a replica that is merely busy; the API's own routes shed with 503 meanwhile.
 */
export const OPERATIONAL_ROUTE = { access: 'public', rateLimit: false, shed: false } as const;

/** Protective limits of the HTTP API; every one has a default that suits one machine. */
export interface ApiLimits {
  /**
   * Requests per minute per API key's identity (or per client address without a known key),
   * counted in PostgreSQL across every API replica; probes and /metrics are not counted
   * (`config.rateLimit: false`). `false` turns it off. Default 600.
   */
  rateLimitPerMinute?: number | false;
  /**
   * Event-loop delay above which requests are shed with 503 + Retry-After (not probes and
   * /metrics: `OPERATIONAL_ROUTE`). 0 turns shedding off. Default 1000 ms.
   */
  maxEventLoopDelayMs?: number;
  /** Deepest nesting accepted in a JSON body. Default 20. */
  maxJsonDepth?: number;
}

/** How deep a parsed JSON value nests (a scalar is 0). */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v && typeof v === 'object') {
      deepest = Math.max(deepest, d + 1);
      for (const child of Object.values(v)) stack.push([child, d + 1]);
    }
  }
  return deepest;
}

/**
 * Security headers, rate limiting, load shedding and a JSON nesting limit, registered on the
 * root (queued in order, not awaited) before the routes' context so the plugins see every route.
 */
export function registerHardening(app: FastifyInstance, pool: Pool, limits: ApiLimits = {}): void {
  void app.register(helmet, {
    // The interactive API reference loads its own scripts and styles.
    contentSecurityPolicy: false,
  });
  if (limits.rateLimitPerMinute !== false) {
    void app.register(rateLimit, {
      max: limits.rateLimitPerMinute ?? 600,
      timeWindow: '1 minute',
      store: postgresRateLimitStore(pool),
      // Per identity (the name of the key presented: auth identified it in onRequest, which
      // runs before the limit's own hook), else per client address: never by a raw header,
      // so made-up keys share their sender's budget. Refusals of bad keys come after the
      // count (auth enforces in preParsing), so guessing keys is limited too.
      keyGenerator: (request) =>
        request.identity && request.identity.role !== 'anonymous' ? `id:${request.identity.name}` : `ip:${request.ip}`,
    });
  }
  void app.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs ?? 1000,
    retryAfter: 10,
    pressureHandler: (request, reply, type, value) => {
      if (request.routeOptions.config?.shed === false) return; // served as usual
      void reply.header('retry-after', '10');
      void sendProblem(
        reply,
        problem('unavailable', `The server is under load (${type}: ${value}); retry after 10 s`, {
          instance: request.url.split('?')[0],
        }),
      );
    },
  });
  const maxDepth = limits.maxJsonDepth ?? 20;
  app.addHook('preValidation', async (request) => {
    if (request.body !== undefined && jsonDepth(request.body) > maxDepth) {
      throw new ValidationError([{ field: '(body)', message: `nests deeper than ${maxDepth} levels` }]);
    }
  });
  registerStorableInput(app);
}
