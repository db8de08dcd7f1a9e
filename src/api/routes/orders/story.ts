import { type QueryDefinition } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listDeadLetters } from '../../../delivery/dead-letters';
import { notificationsOfOrder } from '../../../consumers/notifier';
import { toEnvelope } from '../../../events/envelope';
import { getOrderSummary } from '../../../consumers/order-summary-queries';
import { notStarted, type SagaProgress } from '../../../saga/runtime';
import { stepStates, type RunProgress } from '../../../saga/step-states';
import { readStream } from '../../../store/event-store';
import { listOperatorActions } from '../../../store/operator-actions';
import type { Pool } from '../../../store/pool';
import { ORDER_SAGA, RETURN_SAGA, returnStatusQuery, statusQuery } from '../../../workflows';
import type { ResolvedApiDeps } from '../../deps';
import { actsAsOperator } from '../../auth';
import { queryWithin } from '../../live-query';
import { NotFoundError } from '../../errors';
import { deadLetterSchema, envelopeSchema, orderIdParams, orderSummarySchema, problems } from '../../schemas';
import { chainSchema, correlationChain } from '../correlations';
import { notificationSchema } from '../../schemas';
import { operatorActionSchema } from '../operations';
import { presentSummary } from './read';
import { workflowIdFor } from './place';
import { returnWorkflowIdFor } from '../returns';

/**
 * The whole story of an order in one answer, for the console's order page: the read model's
 * row; one timeline of the order's events and its returns'; each saga's steps (from its table)
 * with what became of them, its compensations and the live state; the notifications sent; the
 * dead letters on its streams; the correlation chain; the operator actions taken; and where to
 * find the workflows in the Temporal UI.
 */

const SQL = {
  returnsOfOrder: `SELECT return_id FROM returns WHERE order_id = $1 ORDER BY created_at`,
} as const;

const stepSchema = z.object({
  name: z.string(),
  item: z.string(),
  activity: z.string(),
  compensation: z.string().nullable(),
  condition: z.string().nullable(),
  onDeadline: z.enum(['compensate', 'escalate']),
  state: z.enum([
    'pending',
    'running',
    'done',
    'stuck',
    'failed',
    'compensated',
    'resolved_by_hand',
    'compensation_stuck',
    'skipped',
    'not_run',
  ]),
  error: z.string().nullable(),
});
const sagaViewSchema = z.object({
  workflowId: z.string(),
  temporalUrl: z.string().nullable().describe('The workflow in the Temporal Web UI'),
  /** The live `status` query; null when the workflow cannot be asked (e.g. past retention). */
  status: z.record(z.string(), z.unknown()).nullable(),
  finished: z.boolean(),
  steps: z.array(stepSchema),
});
export const storySchema = z.object({
  orderId: z.uuid(),
  summary: orderSummarySchema.nullable().describe("Null until the read model has seen the order's first event"),
  events: z.array(envelopeSchema.extend({ streamId: z.string(), position: z.number().int() })),
  saga: sagaViewSchema,
  returns: z.array(sagaViewSchema.extend({ returnId: z.uuid() })),
  notifications: z.array(notificationSchema),
  deadLetters: z
    .array(deadLetterSchema)
    .optional()
    .describe("Operators only (failure details): absent for a customer's key"),
  correlationId: z.string().nullable(),
  correlation: chainSchema.shape.messages,
  operatorActions: z
    .array(operatorActionSchema)
    .optional()
    .describe("Operators only (who acted and why): absent for a customer's key"),
});

const FINISHED = new Set(['CONFIRMED', 'CANCELLED', 'COMPLETED']);

async function sagaView(
  deps: ResolvedApiDeps,
  workflowId: string,
  query: QueryDefinition<SagaProgress>,
  definition: { steps: readonly unknown[] },
) {
  const status = (await queryWithin(deps.temporal, workflowId, query)) as (RunProgress & { status: string }) | null;
  const finished = status ? FINISHED.has(status.status) : true;
  const steps = status
    ? stepStates(definition as Parameters<typeof stepStates>[0], status, finished)
    : stepStates(definition as Parameters<typeof stepStates>[0], notStarted(), true).map((s) => ({
        ...s,
        state: 'not_run' as const,
      }));
  return {
    workflowId,
    temporalUrl: temporalUrlOf(deps, workflowId),
    status: status as unknown as Record<string, unknown> | null,
    finished,
    steps,
  };
}

/** The workflow's page in the Temporal Web UI, when its address is configured. */
export function temporalUrlOf(deps: Pick<ResolvedApiDeps, 'temporalUi'>, workflowId: string): string | null {
  if (!deps.temporalUi) return null;
  const { url, namespace } = deps.temporalUi;
  return `${url.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

async function returnIdsOf(pool: Pool, orderId: string): Promise<string[]> {
  const { rows } = await pool.query<{ return_id: string }>(SQL.returnsOfOrder, [orderId]);
  return rows.map((r) => r.return_id);
}

export function orderStoryRoutes(fastify: FastifyInstance, deps: ResolvedApiDeps): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get(
    '/orders/:orderId/story',
    {
      config: { access: 'customer' },
      schema: {
        tags: ['operations'],
        summary:
          "An order's whole story: events, saga steps, compensations, notifications, dead letters, chain, actions",
        params: orderIdParams,
        response: { 200: storySchema, ...problems(400, 401, 404, 429, 500, 503) },
      },
    },
    async (request) => {
      const { orderId } = request.params;
      const workflowId = workflowIdFor(orderId);
      const [orderEvents, returnIds, summary] = await Promise.all([
        readStream(deps.pool, workflowId),
        returnIdsOf(deps.pool, orderId),
        getOrderSummary(deps.pool, orderId),
      ]);
      if (orderEvents.length === 0) throw new NotFoundError(`No order ${orderId}`);
      const returnStreams = await Promise.all(returnIds.map((id) => readStream(deps.pool, returnWorkflowIdFor(id))));
      const stored = [...orderEvents, ...returnStreams.flat()].sort((a, b) => a.globalPosition - b.globalPosition);
      const streams = [workflowId, ...returnIds.map(returnWorkflowIdFor)];
      const correlationId = orderEvents[0]!.metadata.correlationId ?? null;
      const operator = actsAsOperator(request.identity, deps.apiKeys);
      const [saga, returns, notifications, deadLetters, correlation, actions] = await Promise.all([
        sagaView(deps, workflowId, statusQuery as QueryDefinition<SagaProgress>, ORDER_SAGA),
        Promise.all(
          returnIds.map(async (returnId) => ({
            returnId,
            ...(await sagaView(
              deps,
              returnWorkflowIdFor(returnId),
              returnStatusQuery as QueryDefinition<SagaProgress>,
              RETURN_SAGA,
            )),
          })),
        ),
        notificationsOfOrder(deps.pool, orderId),
        operator
          ? Promise.all(streams.map((streamId) => listDeadLetters(deps.pool, { streamId, status: 'all', limit: 500 })))
          : undefined,
        correlationId ? correlationChain(deps.pool, correlationId) : Promise.resolve([]),
        operator
          ? Promise.all([
              listOperatorActions(deps.pool, { targetType: 'order', targetId: orderId }),
              ...returnIds.map((id) => listOperatorActions(deps.pool, { targetType: 'return', targetId: id })),
            ])
          : undefined,
      ]);
      return {
        orderId,
        summary: summary ? presentSummary(summary) : null,
        events: stored.map((e) => ({ ...toEnvelope(e), streamId: e.streamId, position: e.globalPosition })),
        saga,
        returns,
        notifications,
        deadLetters: deadLetters?.flat().sort((a, b) => a.globalPosition - b.globalPosition),
        correlationId,
        correlation,
        operatorActions: actions?.flat().sort((a, b) => b.id - a.id),
      };
    },
  );
}
