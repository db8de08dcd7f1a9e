import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
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
import { ConflictError, NotFoundError } from '../errors';
import { actionResultSchema, deadLetterDetailSchema, deadLetterSchema, orderIdParams, problems } from '../schemas';

const idParams = z.object({ id: z.coerce.number().int().positive('must be a positive integer') });
const listQuery = z.object({
  consumer: z.string().min(1).max(100).optional(),
  eventType: z.string().min(1).max(100).optional(),
  status: z.enum(['open', 'parked', 'replayed', 'discarded', 'unresolved', 'all']).default('unresolved'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const discardBody = z.object({ note: z.string().trim().min(1).max(500).optional() }).nullish();
const notificationSchema = z.object({
  id: z.number().int(),
  eventId: z.string(),
  orderId: z.string(),
  customerId: z.string(),
  kind: z.enum(['order_confirmed', 'order_cancelled', 'approval_needed']),
  message: z.string(),
  createdAt: z.string(),
});

/** Who acted: the API key's name; with an open API, the `X-Actor` header or the client address. */
function actorOf(request: FastifyRequest): string {
  if (request.identity.role !== 'anonymous') return `api:${request.identity.name}`;
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
export function deadLetterRoutes(fastify: FastifyInstance, deps: ResolvedApiDeps): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ['delivery'];

  app.get(
    '/dead-letters',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Dead letters (unresolved ones by default)',
        querystring: listQuery,
        response: { 200: z.object({ deadLetters: z.array(deadLetterSchema) }), ...problems(400, 429, 500) },
      },
    },
    async (request) => ({ deadLetters: await listDeadLetters(deps.pool, request.query) }),
  );

  app.get(
    '/dead-letters/:id',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'One dead letter: the event as delivered, error, stack, attempts and every action taken',
        params: idParams,
        response: { 200: deadLetterDetailSchema, ...problems(400, 404, 429, 500) },
      },
    },
    async (request) => mapErrors(() => showDeadLetter(deps.pool, request.params.id)),
  );

  app.post(
    '/dead-letters/:id/replay',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: "Re-deliver to that consumer only (inbox-deduplicated); releases its stream's parked events",
        params: idParams,
        response: { 200: actionResultSchema, ...problems(400, 404, 409, 429, 500) },
      },
    },
    async (request) =>
      mapErrors(() => replayDeadLetter(deps.pool, deps.consumers, request.params.id, actorOf(request))),
  );

  app.post(
    '/dead-letters/:id/discard',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: "Resolve without applying; releases its stream's parked events",
        params: idParams,
        body: discardBody,
        response: { 200: actionResultSchema, ...problems(400, 404, 409, 429, 500) },
      },
    },
    async (request) =>
      mapErrors(() =>
        discardDeadLetter(deps.pool, deps.consumers, request.params.id, actorOf(request), request.body?.note),
      ),
  );

  app.get(
    '/orders/:orderId/notifications',
    {
      schema: {
        tags,
        summary: 'What the notifier told the customer about this order, once per event',
        params: orderIdParams,
        response: { 200: z.object({ notifications: z.array(notificationSchema) }), ...problems(400, 429, 500) },
      },
    },
    async (request) => ({ notifications: await notificationsOfOrder(deps.pool, request.params.orderId) }),
  );
}
