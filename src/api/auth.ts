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
    /** Required on every route: one without it refuses to register (the app does not start). */
    access?: Access;
  }
}

/** A route registered without `config.access`: access fails closed, so the app refuses to start. */
export class UndeclaredAccessError extends Error {
  override readonly name = 'UndeclaredAccessError';
}

/** The interactive reference and its document (@fastify/swagger-ui's routes, which take no config). */
const isDocsRoute = (url: string) => url === '/docs' || url.startsWith('/docs/');

const digest = (s: string) => createHash('sha256').update(s).digest();

function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header) return header;
  const auth = request.headers.authorization;
  return typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
}

/**
 * Whether the caller may see what operators see (failure details, who acted and why): an
 * operator's key, or any caller of an open API (no keys configured).
 */
export const actsAsOperator = (identity: Identity, keys: readonly ApiKey[] | undefined): boolean =>
  identity.role === 'operator' || !keys?.length;

const ANONYMOUS: Identity = { name: 'anonymous', role: 'anonymous' };

/**
 * Registers the access rules: every route must declare `config.access` (checked as it is
 * registered: fails closed), the caller is identified on every request (`onRequest`, so the
 * rate limit can count by identity), and access is enforced in `preParsing`, after the rate
 * limit has counted the request (so guessing keys is limited too) and before any body is read.
 */
export function registerAuth(app: FastifyInstance, keys: readonly ApiKey[]): void {
  // Compared as digests in constant time, so response timing says nothing about a key.
  const known = keys.map((k) => ({ ...k, digest: digest(k.key) }));
  app.decorateRequest('identity', null as unknown as Identity);
  app.addHook('onRoute', (route) => {
    route.config ??= {};
    if (isDocsRoute(route.url)) route.config.access ??= 'public';
    const access = route.config.access;
    if (access !== 'public' && access !== 'customer' && access !== 'operator') {
      const methods = [route.method].flat().join(',');
      throw new UndeclaredAccessError(
        `Route ${methods} ${route.url} declares no config.access ('public', 'customer' or 'operator')`,
      );
    }
  });
  app.addHook('onRequest', async (request) => {
    const presented = known.length ? presentedKey(request) : undefined;
    const match = presented ? known.find((k) => timingSafeEqual(k.digest, digest(presented))) : undefined;
    request.identity = match ? { name: match.name, role: match.role } : ANONYMOUS;
  });
  app.addHook('preParsing', async (request, reply) => {
    if (known.length === 0) return;
    // No route matched (a 404 to come): treated as needing a key, so unknown paths say nothing to strangers.
    const access: Access = request.routeOptions.config?.access ?? 'customer';
    if (access === 'public') return;
    const presented = presentedKey(request);
    const match = request.identity.role === 'anonymous' ? undefined : request.identity;
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
