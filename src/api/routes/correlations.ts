import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { toEnvelope, type EventEnvelope } from '../../events/envelope';
import { readCorrelation } from '../../store/correlations';
import type { ApiDeps } from '../app';
import { NotFoundError, parseWith } from '../errors';

type ChainMessage =
  | { kind: 'command'; id: string; causationId: string | null; at: string }
  | ({ kind: 'event'; id: string } & EventEnvelope);

const params = z.object({ correlationId: z.string().trim().min(1).max(200) });

/**
 * The whole chain of a correlation id, in causal order: each command followed by the events it
 * appended; every message names its cause (`causationId`), back to the first command, which
 * names the request.
 */
export function correlationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/correlations/:correlationId', async (request) => {
    const { correlationId } = parseWith(params, request.params, 'params');
    const { commands, events } = await readCorrelation(deps.pool, correlationId);
    if (commands.length === 0 && events.length === 0)
      throw new NotFoundError(`No messages with correlation id ${correlationId}`);
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
    return { correlationId, messages };
  });
}
