import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { toEnvelope, type EventEnvelope } from '../../events/envelope';
import { readCorrelation } from '../../store/correlations';
import type { ApiDeps } from '../deps';
import { NotFoundError } from '../errors';
import { envelopeSchema, problems } from '../schemas';

type ChainMessage =
  | { kind: 'command'; id: string; causationId: string | null; at: string }
  | ({ kind: 'event'; id: string } & EventEnvelope);

const params = z.object({ correlationId: z.string().trim().min(1).max(200) });
export const chainSchema = z.object({
  correlationId: z.string(),
  messages: z.array(
    z.union([
      z.object({ kind: z.literal('command'), id: z.string(), causationId: z.string().nullable(), at: z.string() }),
      envelopeSchema.extend({ kind: z.literal('event'), id: z.string() }),
    ]),
  ),
});

/**
 * The whole chain of a correlation id, in causal order: each command followed by the events it
 * appended; every message names its cause (`causationId`), back to the first command, which
 * names the request. Empty when nothing carries the id.
 */
export async function correlationChain(pool: ApiDeps['pool'], correlationId: string): Promise<ChainMessage[]> {
  const { commands, events } = await readCorrelation(pool, correlationId);
  const envelopes = events.map(toEnvelope);
  const messages: ChainMessage[] = [];
  const placed = new Set<string>();
  for (const c of commands) {
    messages.push({ kind: 'command', id: c.commandId, causationId: c.causationId, at: c.processedAt.toISOString() });
    for (const e of envelopes.filter((x) => x.causationId === c.commandId)) {
      messages.push({ kind: 'event', id: e.eventId, ...e });
      placed.add(e.eventId);
    }
  }
  // Events caused by something outside this chain's commands (e.g. consumers) come last, in log order.
  for (const e of envelopes) if (!placed.has(e.eventId)) messages.push({ kind: 'event', id: e.eventId, ...e });
  return messages;
}

export function correlationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/correlations/:correlationId',
    {
      config: { access: 'customer' },
      schema: {
        tags: ['operations'],
        summary: 'The whole chain of a correlation id: each command and the events it appended',
        params,
        response: { 200: chainSchema, ...problems(400, 404, 429, 500) },
      },
    },
    async (request) => {
      const { correlationId } = request.params;
      const messages = await correlationChain(deps.pool, correlationId);
      if (messages.length === 0) throw new NotFoundError(`No messages with correlation id ${correlationId}`);
      return { correlationId, messages };
    },
  );
}
