import type { Client, QueryDefinition, WorkflowExecutionInfo } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deliveryStatus } from '../../delivery/status';
import type { SagaProgress } from '../../saga/runtime';
import { listOperatorActions } from '../../store/operator-actions';
import { returnStatusQuery, statusQuery, type OrderSagaStatus } from '../../workflows';
import { OrderStatusKey, SagaPhaseKey } from '../../saga/search-attributes';
import type { ResolvedApiDeps } from '../deps';
import { queryWithin } from '../live-query';
import { problems } from '../schemas';

/**
 * What an operator reads besides orders: the sagas that need someone (parked on a step or a
 * compensation, or waiting for approval), the state of event delivery, and the audit log of
 * operator actions.
 */

const TARGET_TYPES = ['order', 'return', 'dead_letter', 'dead_letters'] as const;
export const operatorActionSchema = z.object({
  id: z.number().int(),
  actor: z.string(),
  role: z.string(),
  action: z.string(),
  targetType: z.enum(TARGET_TYPES),
  targetId: z.string(),
  reason: z.string().nullable(),
  status: z.number().int().describe('HTTP status of the answer'),
  outcome: z.enum(['applied', 'refused', 'failed']),
  detail: z.unknown(),
  actedAt: z.string(),
});

const attentionKinds = ['step_stuck', 'compensation_stuck', 'approval'] as const;
const problemSchema = z.object({ step: z.string(), error: z.string(), attempt: z.number().int() });
export const attentionItemSchema = z.object({
  kind: z.enum(attentionKinds),
  saga: z.enum(['order', 'return']),
  /** The order's or the return's id. */
  id: z.string(),
  workflowId: z.string(),
  startedAt: z.string(),
  /** The step (or compensations) parked, with the last error; empty for an approval. */
  problems: z.array(problemSchema),
  totalCents: z.number().nullable(),
  /** What an operator may do here (the routes under the order or return). */
  actions: z.array(
    z.enum(['retry_step', 'abandon_step', 'retry_compensation', 'resolve_compensation', 'approve', 'reject']),
  ),
});
type AttentionItem = z.infer<typeof attentionItemSchema>;

export const identitySchema = z.object({
  name: z.string(),
  role: z.enum(['customer', 'operator', 'anonymous']),
  /** No API keys are configured: anyone on loopback may read and act. */
  open: z.boolean(),
});

export const deliverySchema = z.object({
  transport: z.enum(['postgres', 'rabbitmq', 'nats']),
  relay: z
    .object({
      active: z.boolean(),
      standbys: z.number().int(),
      backlog: z.number().int(),
      oldestUndeliveredAgeSeconds: z.number(),
    })
    .nullable()
    .describe('Null on the Postgres-native transport (no relay)'),
  consumers: z.array(
    z.object({
      name: z.string(),
      partitions: z.number().int(),
      instances: z.number().int(),
      partitionsOwned: z.number().int(),
      lag: z.array(
        z.object({ partition: z.number().int(), lagEvents: z.number().int(), oldestAgeSeconds: z.number() }),
      ),
      deadLetters: z.object({ open: z.number().int(), parked: z.number().int() }),
    }),
  ),
  projections: z.array(z.object({ name: z.string(), lagSeconds: z.number() })),
  heldBack: z
    .object({
      events: z.number().int(),
      oldestAgeSeconds: z.number(),
      by: z
        .object({
          database: z.string().nullable(),
          pid: z.number().int().nullable(),
          applicationName: z.string().nullable(),
          preparedTransaction: z.string().nullable(),
          transactionAgeSeconds: z.number().nullable(),
        })
        .nullable()
        .describe(
          'The oldest open transaction on the PostgreSQL server, in any database; null when none is held back ' +
            "or the API's role may not see other sessions (pg_read_all_stats)",
        ),
    })
    .describe(
      'Committed events no relay, consumer or projector may read yet: a transaction that began writing ' +
        'before they committed is still open. Backlog and lag do not count them',
    ),
});

/** Running sagas parked for an operator or waiting for a decision, as Temporal's visibility finds them. */
/** This deployment's sagas (its task queue: another deployment may share the namespace) that need someone. */
const attentionQuery = (taskQueue: string) =>
  `TaskQueue=${JSON.stringify(taskQueue)} AND ExecutionStatus="Running" AND ` +
  '(SagaPhase IN ("STEP_STUCK", "COMPENSATION_STUCK") OR OrderStatus="AWAITING_APPROVAL")';

/** The live reason a saga needs attention (visibility lags by a moment: the live state decides). */
async function attentionOf(temporal: Client, wf: WorkflowExecutionInfo): Promise<AttentionItem | null> {
  const saga = wf.type === 'returnSaga' ? 'return' : wf.type === 'orderSaga' ? 'order' : null;
  if (!saga) return null;
  const query = (saga === 'order' ? statusQuery : returnStatusQuery) as QueryDefinition<SagaProgress>;
  // A saga whose worker is down cannot answer: it still needs attention, as its search
  // attributes say (without the live details), and must not hold up the list.
  const status = ((await queryWithin(temporal, wf.workflowId, query)) ?? {
    sagaPhase: wf.typedSearchAttributes.get(SagaPhaseKey),
    status: wf.typedSearchAttributes.get(OrderStatusKey),
    stuck: [],
  }) as Partial<SagaProgress & Pick<OrderSagaStatus, 'status' | 'totalCents'>>;
  const base = {
    saga,
    id: wf.workflowId.replace(/^(order|return)-/, ''),
    workflowId: wf.workflowId,
    startedAt: wf.startTime.toISOString(),
    totalCents: status.totalCents ?? null,
  } as const;
  if (status.sagaPhase === 'STEP_STUCK' && status.stuckStep) {
    return { ...base, kind: 'step_stuck', problems: [status.stuckStep], actions: ['retry_step', 'abandon_step'] };
  }
  if (status.sagaPhase === 'STEP_STUCK') {
    return { ...base, kind: 'step_stuck', problems: [], actions: ['retry_step', 'abandon_step'] };
  }
  if (status.sagaPhase === 'COMPENSATION_STUCK') {
    return {
      ...base,
      kind: 'compensation_stuck',
      problems: status.stuck ?? [],
      actions: ['retry_compensation', 'resolve_compensation'],
    };
  }
  if (status.status === 'AWAITING_APPROVAL') {
    return { ...base, kind: 'approval', problems: [], actions: ['approve', 'reject'] };
  }
  return null;
}

export function operationsRoutes(fastify: FastifyInstance, deps: ResolvedApiDeps): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ['operations'];

  app.get(
    '/identity',
    {
      config: { access: 'customer' },
      schema: {
        tags,
        summary: 'Who the presented API key is, and its role (what the console may offer)',
        response: { 200: identitySchema, ...problems(401, 429) },
      },
    },
    async (request) => ({
      name: request.identity.name,
      role: request.identity.role,
      open: (deps.apiKeys ?? []).length === 0,
    }),
  );

  app.get(
    '/attention',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Sagas that need an operator: parked on a step or a compensation, or waiting for approval',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(200) }),
        response: { 200: z.object({ items: z.array(attentionItemSchema) }), ...problems(400, 401, 429, 500, 503) },
      },
    },
    async (request) => {
      const found: WorkflowExecutionInfo[] = [];
      for await (const wf of deps.temporal.workflow.list({ query: attentionQuery(deps.taskQueue), pageSize: 100 })) {
        found.push(wf);
        if (found.length >= request.query.limit) break;
      }
      const items = await Promise.all(found.map((wf) => attentionOf(deps.temporal, wf)));
      return { items: items.filter((i): i is AttentionItem => i !== null) };
    },
  );

  app.get(
    '/delivery',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary:
          'Event delivery: transport, relay, backlog, consumer instances, lag per partition, projection lag, ' +
          'events held back by an open transaction',
        response: { 200: deliverySchema, ...problems(401, 429, 500, 503) },
      },
    },
    async () => deliveryStatus(deps.pool, deps.transport, deps.consumers),
  );

  app.get(
    '/operator-actions',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'The audit log of operator actions, newest first: who, when, what, why, and how it went',
        querystring: z.object({
          targetType: z.enum(TARGET_TYPES).optional(),
          targetId: z
            .string()
            .min(1)
            .max(500)
            .regex(/^[^\0]*$/, 'must not contain NUL')
            .optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: {
          200: z.object({ actions: z.array(operatorActionSchema) }),
          ...problems(400, 401, 429, 500, 503),
        },
      },
    },
    async (request) => ({ actions: await listOperatorActions(deps.pool, request.query) }),
  );
}
