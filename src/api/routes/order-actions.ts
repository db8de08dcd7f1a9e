import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  getOrderSummary,
  InvalidCursorError,
  listOrderSummaries,
  type OrderSummaryWithFreshness,
} from '../../projections/order-summary-queries';
import { SUMMARY_PHASES } from '../../projections/order-summary';
import { toEnvelope } from '../../events/envelope';
import { readStream } from '../../store/event-store';
import { listProducts } from '../../store/catalog';
import { approveUpdate, cancelOrderUpdate, rejectUpdate, statusQuery, type ReasonRequest } from '../../workflows';
import type { ApiDeps } from '../app';
import { ConflictError, NotFoundError, parseWith, ValidationError } from '../errors';
import { workflowIdFor } from './orders';

const params = z.object({ orderId: z.uuid('must be a UUID') });
const ORDER_STATUSES = ['PENDING', 'AWAITING_APPROVAL', 'CONFIRMED', 'CANCELLED'] as const;
const listQuery = z.object({
  status: z.enum(ORDER_STATUSES).optional(),
  customerId: z.string().min(1).max(200).optional(),
  sagaPhase: z.enum(SUMMARY_PHASES).optional(),
  createdAfter: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
  cursor: z.string().min(1).max(500).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** The read model's row as the API shows it: the order's state, its saga phase, timeline and freshness. */
const presentSummary = (s: OrderSummaryWithFreshness) => ({
  ...s.state,
  orderId: s.orderId,
  workflowId: workflowIdFor(s.orderId),
  status: s.status,
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

const reasonBody = z.object({ reason: z.string().trim().min(1).max(200).optional() }).optional();

/** Turns update/workflow errors into 404 (no such order) or 409 (the saga refused, or has finished). */
async function runUpdate<T>(handle: WorkflowHandle, orderId: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new ConflictError(err.cause?.message ?? err.message);
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    // The server answers "not found" both for an unknown workflow and for a closed one.
    const description = await handle.describe().catch((e: unknown) => {
      if (e instanceof WorkflowNotFoundError) throw new NotFoundError(`No order ${orderId}`);
      throw e;
    });
    throw new ConflictError(`The order's saga has already finished (${description.status.name})`);
  }
}

export function orderActionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/products', async () => ({ products: await listProducts(deps.pool) }));

  // The CQRS query side: the order-summary read model, saying which event it reflects.
  app.get('/orders/:orderId', async (request) => {
    const { orderId } = parseWith(params, request.params, 'params');
    const summary = await getOrderSummary(deps.pool, orderId);
    if (!summary) {
      throw new NotFoundError(
        `No order ${orderId} in the read model (a new order appears within moments; GET /orders/${orderId}/saga shows the live saga)`,
      );
    }
    return presentSummary(summary);
  });

  app.get('/orders', async (request) => {
    const q = parseWith(listQuery, request.query, 'query');
    try {
      const page = await listOrderSummaries(deps.pool, q);
      return { orders: page.orders.map(presentSummary), nextCursor: page.nextCursor };
    } catch (err) {
      if (err instanceof InvalidCursorError)
        throw new ValidationError([{ field: 'query.cursor', message: err.message }]);
      throw err;
    }
  });

  app.get('/orders/:orderId/events', async (request) => {
    const { orderId } = parseWith(params, request.params, 'params');
    const events = await readStream(deps.pool, workflowIdFor(orderId));
    if (events.length === 0) throw new NotFoundError(`No order ${orderId}`);
    return { events: events.map(toEnvelope) };
  });

  app.get('/orders/:orderId/saga', async (request) => {
    const { orderId } = parseWith(params, request.params, 'params');
    const handle = deps.temporal.workflow.getHandle(workflowIdFor(orderId));
    try {
      return await handle.query(statusQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new NotFoundError(`No order ${orderId}`);
      throw err;
    }
  });

  const decisions = [
    { path: 'approve', run: (h: WorkflowHandle) => h.executeUpdate(approveUpdate) },
    {
      path: 'reject',
      run: (h: WorkflowHandle, body: ReasonRequest) => h.executeUpdate(rejectUpdate, { args: [body] }),
    },
  ] as const;
  for (const decision of decisions) {
    app.post(`/orders/:orderId/${decision.path}`, async (request) => {
      const { orderId } = parseWith(params, request.params, 'params');
      const body = parseWith(reasonBody, request.body ?? undefined) ?? {};
      const handle = deps.temporal.workflow.getHandle(workflowIdFor(orderId));
      return { orderId, saga: await runUpdate(handle, orderId, () => decision.run(handle, body)) };
    });
  }

  // A cancel answers 200 once the order is cancelled, or 202 if compensation is still
  // running after `cancelWaitMs` (e.g. a compensation escalated to an operator): the
  // request is accepted either way and never held indefinitely.
  app.post('/orders/:orderId/cancel', async (request, reply) => {
    const { orderId } = parseWith(params, request.params, 'params');
    const body = parseWith(reasonBody, request.body ?? undefined) ?? {};
    const handle = deps.temporal.workflow.getHandle(workflowIdFor(orderId));
    const cancelled = await runUpdate(handle, orderId, async () => {
      const update = await handle.startUpdate(cancelOrderUpdate, { args: [body], waitForStage: 'ACCEPTED' });
      const result = update.result();
      result.catch(() => undefined); // still awaited below; never an unhandled rejection after a 202
      let timer: NodeJS.Timeout | undefined;
      const stillRunning = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), deps.cancelWaitMs ?? 10_000);
      });
      return Promise.race([result, stillRunning]).finally(() => clearTimeout(timer));
    });
    if (cancelled) return reply.status(200).send({ orderId, saga: cancelled });
    return reply.status(202).send({ orderId, saga: await handle.query(statusQuery) });
  });
}
