import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKey, Role } from '../identities';
import { problem, sendProblem } from './errors';

export type { ApiKey, Role };

/**
 * API keys and roles. Keys come from configuration (`API_KEYS`), each with a name and a role;
 * a `customer` may place, read and cancel orders, an `operator` may also approve, reject and act
 * on dead letters. With no keys configured the API is open (and `saga dev`/`saga api` listen on
 * 127.0.0.1 only). The acting identity is on `request.identity`.
 */

/** What a route needs: nothing, any key, or an operator's key. */
export type Access = 'public' | 'customer' | 'operator';
export interface Identity {
  name: string;
  role: Role | 'anonymous';
}

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity;
  }
  interface FastifyContextConfig {
    /** Default `customer` (a key is needed whenever keys are configured). */
    access?: Access;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header) return header;
  const auth = request.headers.authorization;
  return typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
}

export function registerAuth(app: FastifyInstance, keys: readonly ApiKey[]): void {
  // Compared as digests in constant time, so response timing says nothing about a key.
  const known = keys.map((k) => ({ ...k, digest: digest(k.key) }));
  app.decorateRequest('identity', null as unknown as Identity);
  app.addHook('onRequest', async (request, reply) => {
    if (known.length === 0) {
      request.identity = { name: 'anonymous', role: 'anonymous' };
      return;
    }
    const access: Access = request.url.startsWith('/docs')
      ? 'public'
      : (request.routeOptions.config?.access ?? 'customer');
    const presented = presentedKey(request);
    const match = presented ? known.find((k) => timingSafeEqual(k.digest, digest(presented))) : undefined;
    request.identity = match ? { name: match.name, role: match.role } : { name: 'anonymous', role: 'anonymous' };
    if (access === 'public') return;
    const instance = request.url.split('?')[0];
    if (!match) {
      void reply.header('www-authenticate', 'ApiKey header="X-API-Key"');
      return sendProblem(
        reply,
        problem('unauthorized', presented ? 'The API key is not known' : 'Send an API key in the X-API-Key header', {
          instance,
        }),
      );
    }
    if (access === 'operator' && match.role !== 'operator') {
      return sendProblem(
        reply,
        problem('forbidden', `${match.name} (${match.role}) may not do this: operators only`, { instance }),
      );
    }
  });
}
