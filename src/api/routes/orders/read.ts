import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  getOrderSummary,
  InvalidCursorError,
  listOrderSummaries,
  type OrderSummaryWithFreshness,
} from '../../../consumers/order-summary-queries';
import { SUMMARY_PHASES } from '../../../consumers/order-summary';
import { RETURN_STATUSES } from '../../../domain/return';
import { toEnvelope } from '../../../events/envelope';
import { readStream } from '../../../store/event-store';
import { statusQuery } from '../../../workflows';
import { notificationsOfOrder } from '../../../consumers/notifier';
import type { ApiDeps } from '../../deps';
import { NotFoundError, ValidationError } from '../../errors';
import {
  envelopeSchema,
  notificationSchema,
  orderIdParams,
  orderSummarySchema,
  problems,
  sagaStatusSchema,
} from '../../schemas';
import { workflowIdFor } from './place';

const params = orderIdParams;
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

/** The query side of orders: the read model, the event stream, the live saga, the notifications. */
export function orderReadRoutes(fastify: FastifyInstance, deps: ApiDeps): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  // The CQRS query side: the order-summary read model, saying which event it reflects.
  app.get(
    '/orders/:orderId',
    {
      config: { access: 'customer' },
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
      config: { access: 'customer' },
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
      config: { access: 'customer' },
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
      config: { access: 'customer' },
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

  app.get(
    '/orders/:orderId/notifications',
    {
      config: { access: 'customer' },
      schema: {
        tags: ['orders'],
        summary: 'What the notifier told the customer about this order, once per event',
        params: orderIdParams,
        response: { 200: z.object({ notifications: z.array(notificationSchema) }), ...problems(400, 429, 500) },
      },
    },
    async (request) => ({ notifications: await notificationsOfOrder(deps.pool, request.params.orderId) }),
  );
}
