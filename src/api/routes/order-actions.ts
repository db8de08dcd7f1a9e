import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  getOrderSummary,
  InvalidCursorError,
  listOrderSummaries,
  type OrderSummaryWithFreshness,
} from '../../consumers/order-summary-queries';
import { SUMMARY_PHASES } from '../../consumers/order-summary';
import { RETURN_STATUSES } from '../../domain/return';
import { toEnvelope } from '../../events/envelope';
import { readStream } from '../../store/event-store';
import { listProducts } from '../../store/catalog';
import { approveUpdate, cancelOrderUpdate, rejectUpdate, statusQuery, type ReasonRequest } from '../../workflows';
import type { ApiDeps } from '../deps';
import type { Identity } from '../auth';
import { ConflictError, NotFoundError, ValidationError } from '../errors';
import { envelopeSchema, freeText, orderIdParams, orderSummarySchema, problems, sagaStatusSchema } from '../schemas';
import { workflowIdFor } from './orders';

const params = orderIdParams;
const productSchema = z.object({
  sku: z.string(),
  name: z.string(),
  priceCents: z.number().int(),
  stock: z.number().int(),
});
const actionResult = z.object({ orderId: z.uuid(), saga: sagaStatusSchema });
const ORDER_STATUSES = ['PENDING', 'AWAITING_APPROVAL', 'CONFIRMED', 'CANCELLED'] as const;
const listQuery = z.object({
  status: z.enum(ORDER_STATUSES).optional(),
  customerId: z.string().min(1).max(200).optional(),
  sagaPhase: z.enum(SUMMARY_PHASES).optional(),
  createdAfter: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
  returnStatus: z.enum(RETURN_STATUSES).optional().describe("The latest return's status"),
  cursor: z.string().min(1).max(500).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** The read model's row as the API shows it: the order's state, its saga phase, timeline and freshness. */
export const presentSummary = (s: OrderSummaryWithFreshness) => ({
  ...s.state,
  orderId: s.orderId,
  workflowId: workflowIdFor(s.orderId),
  customerId: s.customerId,
  // A summary exists from the order's first event on (order.created, order.placement_failed): never NEW.
  status: s.status as Exclude<typeof s.status, 'NEW'>,
  sagaPhase: s.sagaPhase,
  version: s.lastStreamVersion,
  timeline: s.timeline,
  createdAt: s.createdAt,
  freshness: {
    streamVersion: s.lastStreamVersion,
    position: s.lastPosition,
    lastEventAt: s.lastEventAt,
    updatedAt: s.updatedAt,
  },
});

const reasonBody = z.object({ reason: freeText(200).optional().describe('Why (recorded in the events)') }).nullish();

/** The name recorded for the caller, when it has one (an API key). */
export const actingName = (identity: Identity | undefined): string | undefined =>
  identity && identity.role !== 'anonymous' ? identity.name : undefined;

/** Turns update/workflow errors into 404 (no such order) or 409 (the saga refused, or has finished). */
export async function runUpdate<T>(
  handle: WorkflowHandle,
  orderId: string,
  call: () => Promise<T>,
  what = 'order',
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new ConflictError(err.cause?.message ?? err.message);
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    // The server answers "not found" both for an unknown workflow and for a closed one.
    const description = await handle.describe().catch((e: unknown) => {
      if (e instanceof WorkflowNotFoundError) throw new NotFoundError(`No ${what} ${orderId}`);
      throw e;
    });
    throw new ConflictError(`The ${what}'s saga has already finished (${description.status.name})`);
  }
}

/** The result if it settles within `ms`, else null (the caller answers 202; the work goes on). */
export function settleWithin<T>(result: Promise<T>, ms: number): Promise<T | null> {
  result.catch(() => undefined); // still awaited below; never an unhandled rejection after a 202
  let timer: NodeJS.Timeout | undefined;
  const stillRunning = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  return Promise.race([result, stillRunning]).finally(() => clearTimeout(timer));
}

export function orderActionRoutes(fastify: FastifyInstance, deps: ApiDeps): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/products',
    {
      config: { access: 'public' },
      schema: {
        tags: ['orders'],
        summary: 'The product catalog with price and stock',
        response: { 200: z.object({ products: z.array(productSchema) }), ...problems(429, 500) },
      },
    },
    async () => ({ products: await listProducts(deps.pool) }),
  );

  // The CQRS query side: the order-summary read model, saying which event it reflects.
  app.get(
    '/orders/:orderId',
    {
      schema: {
        tags: ['orders'],
        summary: 'One order from the read model, with how fresh it is',
        params,
        response: { 200: orderSummarySchema, ...problems(400, 404, 429, 500) },
      },
    },
    async (request) => {
      const { orderId } = request.params;
      const summary = await getOrderSummary(deps.pool, orderId);
      if (!summary) {
        throw new NotFoundError(
          `No order ${orderId} in the read model (a new order appears within moments; GET /orders/${orderId}/saga shows the live saga)`,
        );
      }
      return presentSummary(summary);
    },
  );

  app.get(
    '/orders',
    {
      schema: {
        tags: ['orders'],
        summary: 'Orders from the read model, newest first, in keyset pages',
        querystring: listQuery,
        response: {
          200: z.object({
            orders: z.array(orderSummarySchema),
            nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last'),
          }),
          ...problems(400, 429, 500),
        },
      },
    },
    async (request) => {
      try {
        const page = await listOrderSummaries(deps.pool, request.query);
        return { orders: page.orders.map(presentSummary), nextCursor: page.nextCursor };
      } catch (err) {
        if (err instanceof InvalidCursorError)
          throw new ValidationError([{ field: 'query.cursor', message: err.message }]);
        throw err;
      }
    },
  );

  app.get(
    '/orders/:orderId/events',
    {
      schema: {
        tags: ['orders'],
        summary: "The order's events, ordered by stream version",
        params,
        response: { 200: z.object({ events: z.array(envelopeSchema) }), ...problems(400, 404, 429, 500) },
      },
    },
    async (request) => {
      const { orderId } = request.params;
      const events = await readStream(deps.pool, workflowIdFor(orderId));
      if (events.length === 0) throw new NotFoundError(`No order ${orderId}`);
      return { events: events.map(toEnvelope) };
    },
  );

  app.get(
    '/orders/:orderId/saga',
    {
      schema: {
        tags: ['saga'],
        summary: "The saga's live state (step, completed steps, compensations, failure)",
        params,
        response: { 200: sagaStatusSchema, ...problems(400, 404, 429, 500) },
      },
    },
    async (request) => {
      const { orderId } = request.params;
      const handle = deps.temporal.workflow.getHandle(workflowIdFor(orderId));
      try {
        return await handle.query(statusQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new NotFoundError(`No order ${orderId}`);
        throw err;
      }
    },
  );

  // Who decides travels with the update into the saga and its events (order.approved
  // `decidedBy`, order.cancelled `requestedBy`); an open API has nobody to name.
  const decisions = [
    {
      path: 'approve',
      summary: 'Approve an order waiting for approval (operators)',
      run: (h: WorkflowHandle, _body: ReasonRequest, by: string | undefined) =>
        h.executeUpdate(approveUpdate, { args: [by ? { decidedBy: by } : {}] }),
    },
    {
      path: 'reject',
      summary: 'Reject an order waiting for approval: it is compensated (operators)',
      run: (h: WorkflowHandle, body: ReasonRequest, by: string | undefined) =>
        h.executeUpdate(rejectUpdate, { args: [by ? { ...body, requestedBy: by } : body] }),
    },
  ] as const;
  for (const decision of decisions) {
    app.post(
      `/orders/:orderId/${decision.path}`,
      {
        config: {
          access: 'operator',
          audit: { action: decision.path, targetType: 'order', targetParam: 'orderId' },
        },
        schema: {
          tags: ['saga'],
          summary: decision.summary,
          params,
          body: reasonBody,
          response: { 200: actionResult, ...problems(400, 404, 409, 429, 500) },
        },
      },
      async (request) => {
        const { orderId } = request.params;
        const body = request.body ?? {};
        const handle = deps.temporal.workflow.getHandle(workflowIdFor(orderId));
        const by = actingName(request.identity);
        return { orderId, saga: await runUpdate(handle, orderId, () => decision.run(handle, body, by)) };
      },
    );
  }

  // A cancel answers 200 once the order is cancelled, or 202 if compensation is still
  // running after `cancelWaitMs` (e.g. a compensation escalated to an operator): the
  // request is accepted either way and never held indefinitely.
  app.post(
    '/orders/:orderId/cancel',
    {
      schema: {
        tags: ['saga'],
        summary: 'Customer cancel: 200 once compensated, 202 while compensation still runs; 409 once shipped',
        params,
        body: reasonBody,
        response: { 200: actionResult, 202: actionResult, ...problems(400, 404, 409, 429, 500) },
      },
    },
    async (request, reply) => {
      const { orderId } = request.params;
      const body = request.body ?? {};
      const handle = deps.temporal.workflow.getHandle(workflowIdFor(orderId));
      const cancelled = await runUpdate(handle, orderId, async () => {
        const by = actingName(request.identity);
        const update = await handle.startUpdate(cancelOrderUpdate, {
          args: [by ? { ...body, requestedBy: by } : body],
          waitForStage: 'ACCEPTED',
        });
        return settleWithin(update.result(), deps.cancelWaitMs ?? 10_000);
      });
      if (cancelled) return reply.status(200).send({ orderId, saga: cancelled });
      return reply.status(202).send({ orderId, saga: await handle.query(statusQuery) });
    },
  );
}
