import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOf as auditActor } from '../audit';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  bulkResolve,
  DeadLetterNotFoundError,
  DeadLetterStateError,
  discardDeadLetter,
  listDeadLetters,
  replayDeadLetter,
  showDeadLetter,
} from '../../delivery/dead-letters';
import type { ResolvedApiDeps } from '../deps';
import { ConflictError, NotFoundError } from '../errors';
import { actionResultSchema, deadLetterDetailSchema, freeText, deadLetterSchema, problems } from '../schemas';

const idParams = z.object({ id: z.coerce.number().int().positive('must be a positive integer') });
const REASONS = [
  'handler_failed',
  'malformed',
  'unknown_type',
  'unknown_version',
  'invalid_payload',
  'parked',
] as const;
const name = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII');
const listQuery = z.object({
  consumer: name.optional(),
  eventType: name.optional(),
  streamId: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII')
    .optional()
    .describe('Only this stream (e.g. `order-<orderId>`)'),
  reason: z.enum(REASONS).optional(),
  status: z.enum(['open', 'parked', 'replayed', 'discarded', 'unresolved', 'all']).default('unresolved'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const bulkBody = z
  .object({
    consumer: name.optional(),
    eventType: name.optional(),
    reason: z.enum(REASONS).optional(),
    from: z.iso
      .datetime({ offset: true, message: 'must be an ISO 8601 date-time' })
      .optional()
      .describe('First failed at or after'),
    to: z.iso
      .datetime({ offset: true, message: 'must be an ISO 8601 date-time' })
      .optional()
      .describe('First failed before'),
    dryRun: z.boolean().default(false).describe('Only count what would be taken'),
    note: freeText(500).optional().describe('Why (recorded)'),
  })
  .describe('Which open dead letters to take: every field given must match');
export const bulkResultSchema = z.object({
  dryRun: z.boolean(),
  matched: z.number().int().describe('Open dead letters the filter matched'),
  parkedBehind: z.number().int().describe('Parked events of their streams, released as each is resolved'),
  counts: z.object({
    applied: z.number().int(),
    duplicate: z.number().int(),
    failed: z.number().int(),
    discarded: z.number().int(),
    skipped: z.number().int(),
    released: z.number().int(),
  }),
  results: z.array(
    z.object({
      id: z.number().int(),
      outcome: z.enum(['applied', 'duplicate', 'failed', 'discarded', 'skipped', 'matched']),
      error: z.string().optional(),
    }),
  ),
});
const discardBody = z.object({ note: freeText(500).optional() }).nullish();

/** Who acted, as dead-letter actions record it (`api:` and the audit's actor). */
const actorOf = (request: FastifyRequest): string => `api:${auditActor(request)}`;

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
      config: {
        access: 'operator',
        audit: { action: 'replay_dead_letter', targetType: 'dead_letter', targetParam: 'id' },
      },
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
      config: {
        access: 'operator',
        audit: { action: 'discard_dead_letter', targetType: 'dead_letter', targetParam: 'id' },
      },
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

  for (const action of ['replay', 'discard'] as const) {
    app.post(
      `/dead-letters/${action}`,
      {
        config: {
          access: 'operator',
          audit: { action: `${action}_dead_letters`, targetType: 'dead_letters' },
        },
        schema: {
          tags,
          summary:
            action === 'replay'
              ? 'Replay every open dead letter a filter matches, in log order (dryRun: only count them)'
              : 'Discard every open dead letter a filter matches (dryRun: only count them)',
          body: bulkBody,
          response: { 200: bulkResultSchema, ...problems(400, 401, 403, 429, 500, 503) },
        },
      },
      async (request) => {
        const { dryRun, note, ...filter } = request.body;
        const result = await bulkResolve(deps.pool, deps.consumers, action, filter, {
          actor: actorOf(request),
          dryRun,
          note,
        });
        request.auditDetail = { matched: result.matched, counts: result.counts };
        return result;
      },
    );
  }
}
