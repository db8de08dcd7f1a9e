import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  DeadLetterNotFoundError,
  DeadLetterStateError,
  discardDeadLetter,
  listDeadLetters,
  replayDeadLetter,
  showDeadLetter,
} from '../../consumers/dead-letters';
import { notificationsOfOrder } from '../../consumers/notifier';
import type { ResolvedApiDeps } from '../app';
import { ConflictError, NotFoundError, parseWith } from '../errors';

const idParams = z.object({ id: z.coerce.number().int().positive('must be a positive integer') });
const listQuery = z.object({
  consumer: z.string().min(1).max(100).optional(),
  eventType: z.string().min(1).max(100).optional(),
  status: z.enum(['open', 'parked', 'replayed', 'discarded', 'unresolved', 'all']).default('unresolved'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const discardBody = z.object({ note: z.string().trim().min(1).max(500).optional() }).optional();
const orderParams = z.object({ orderId: z.uuid('must be a UUID') });

/** Who acted: the `X-Actor` header until API keys name the caller. */
function actorOf(request: FastifyRequest): string {
  const header = request.headers['x-actor'];
  const given = typeof header === 'string' ? header.trim() : '';
  return given && given.length <= 100 ? `api:${given}` : `api:${request.ip}`;
}

async function mapErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof DeadLetterNotFoundError) throw new NotFoundError(err.message);
    if (err instanceof DeadLetterStateError) throw new ConflictError(err.message);
    throw err;
  }
}

/** Dead-letter tooling (list, show, replay, discard) and the notifier's output per order. */
export function deadLetterRoutes(app: FastifyInstance, deps: ResolvedApiDeps): void {
  app.get('/dead-letters', async (request) => {
    const q = parseWith(listQuery, request.query, 'query');
    return { deadLetters: await listDeadLetters(deps.pool, q) };
  });

  app.get('/dead-letters/:id', async (request) => {
    const { id } = parseWith(idParams, request.params, 'params');
    return mapErrors(() => showDeadLetter(deps.pool, id));
  });

  app.post('/dead-letters/:id/replay', async (request) => {
    const { id } = parseWith(idParams, request.params, 'params');
    return mapErrors(() => replayDeadLetter(deps.pool, deps.consumers, id, actorOf(request)));
  });

  app.post('/dead-letters/:id/discard', async (request) => {
    const { id } = parseWith(idParams, request.params, 'params');
    const body = parseWith(discardBody, request.body ?? undefined);
    return mapErrors(() => discardDeadLetter(deps.pool, deps.consumers, id, actorOf(request), body?.note));
  });

  app.get('/orders/:orderId/notifications', async (request) => {
    const { orderId } = parseWith(orderParams, request.params, 'params');
    return { notifications: await notificationsOfOrder(deps.pool, orderId) };
  });
}
