import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { loadOrder } from '../../activities/order-command';
import { toEnvelope } from '../../events/envelope';
import { readStream } from '../../store/event-store';
import { listProducts } from '../../store/catalog';
import { approveUpdate, cancelOrderUpdate, rejectUpdate, statusQuery, type OrderSagaStatus } from '../../workflows';
import type { ApiDeps } from '../app';
import { ConflictError, NotFoundError, parseWith } from '../errors';
import { workflowIdFor } from './orders';

const params = z.object({ orderId: z.uuid('must be a UUID') });
const reasonBody = z.object({ reason: z.string().trim().min(1).max(200).optional() }).optional();

/** Turns update/workflow errors into 404 (no such order) or 409 (the saga refused, or has finished). */
async function runUpdate(handle: WorkflowHandle, orderId: string, call: () => Promise<OrderSagaStatus>) {
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

  app.get('/orders/:orderId', async (request) => {
    const { orderId } = parseWith(params, request.params, 'params');
    const { state, version } = await loadOrder(deps.pool, orderId);
    if (version === 0) throw new NotFoundError(`No order ${orderId}`);
    return { ...state, orderId, workflowId: workflowIdFor(orderId), version };
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

  const actions = [
    { path: 'cancel', update: cancelOrderUpdate, withReason: true },
    { path: 'approve', update: approveUpdate, withReason: false },
    { path: 'reject', update: rejectUpdate, withReason: true },
  ] as const;
  for (const action of actions) {
    app.post(`/orders/:orderId/${action.path}`, async (request) => {
      const { orderId } = parseWith(params, request.params, 'params');
      const body = parseWith(reasonBody, request.body ?? undefined) ?? {};
      const handle = deps.temporal.workflow.getHandle(workflowIdFor(orderId));
      const saga = await runUpdate(handle, orderId, () =>
        action.path === 'approve'
          ? handle.executeUpdate(approveUpdate)
          : handle.executeUpdate(action.update as typeof cancelOrderUpdate, { args: [body] }),
      );
      return { orderId, saga };
    });
  }
}
