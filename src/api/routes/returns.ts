import { createHash, randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { currentCorrelation } from '../../correlation/context';
import { toEnvelope } from '../../events/envelope';
import { readStream } from '../../store/event-store';
import { CustomerIdKey, OrderIdKey, ReturnIdKey, ReturnStatusKey, SagaPhaseKey } from '../../saga/search-attributes';
import {
  cancelReturnUpdate,
  receiveGoodsUpdate,
  returnStatusQuery,
  type ReturnActorRequest,
  type ReturnSagaInput,
} from '../../workflows';
import type { ApiDeps } from '../deps';
import { ConflictError, NotFoundError } from '../errors';
import { startOnce } from '../start-once';
import {
  envelopeSchema,
  framedStatusFields,
  freeText,
  idempotencyKeyHeader,
  orderIdParams,
  problems,
} from '../schemas';
import { actingName, runUpdate, settleWithin } from './updates';
import { orderIdForIdempotencyKey, workflowIdFor } from './orders/place';

export const returnWorkflowIdFor = (returnId: string) => `return-${returnId}`;

const returnIdParams = z.object({ returnId: z.uuid('must be a UUID').describe('The return id (a UUID)') });

const openReturnBody = z.object({
  reason: z.string().trim().min(1).max(200).describe('Why the customer returns the order'),
});
const headers = z.looseObject({
  'idempotency-key': idempotencyKeyHeader('return'),
});
const opened = z.object({
  returnId: z.uuid(),
  orderId: z.uuid(),
  workflowId: z.string().describe('The Temporal workflow id, `return-<returnId>`'),
  correlationId: z.string(),
});
export const returnStatusSchema = z
  .object({
    returnId: z.string(),
    orderId: z.string(),
    ...framedStatusFields,
    amountCents: z.number().nullable(),
    trackingId: z.string().nullable(),
  })
  .describe("The live state of the return's saga (its `status` query)");
const actionResult = z.object({ returnId: z.uuid(), saga: returnStatusSchema });
const actorBody = z.object({ reason: freeText(200).optional().describe('Why (recorded in the events)') }).nullish();

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** What the order's own stream says (not the read model, which may lag): its customer and whether it is confirmed. */
async function orderForReturn(deps: ApiDeps, orderId: string): Promise<{ customerId: string }> {
  const events = await readStream(deps.pool, workflowIdFor(orderId));
  if (events.length === 0) throw new NotFoundError(`No order ${orderId}`);
  const types = events.map((e) => e.eventType);
  if (!types.includes('order.confirmed')) {
    throw new ConflictError(`Only a confirmed order can be returned; order ${orderId} is not confirmed`);
  }
  return { customerId: String(events[0]!.payload.customerId) };
}

/** Order returns: opened for a confirmed order, run by the returnSaga workflow. */
export function returnRoutes(fastify: FastifyInstance, deps: ApiDeps): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const goodsTimeout = deps.returns?.goodsTimeout ?? '14 days';

  app.post(
    '/orders/:orderId/returns',
    {
      config: { access: 'customer' },
      schema: {
        tags: ['returns'],
        summary: 'Return a confirmed order: starts its return saga (pickup, goods received, refund, restock)',
        params: orderIdParams,
        headers,
        body: openReturnBody,
        response: { 202: opened, ...problems(400, 404, 409, 429, 500) },
      },
    },
    async (request, reply) => {
      const { orderId } = request.params;
      const { customerId } = await orderForReturn(deps, orderId);
      const correlationId = currentCorrelation()?.correlationId ?? randomUUID();
      const key = request.headers['idempotency-key'];
      const returnId = key ? orderIdForIdempotencyKey(`return:${orderId}`, key) : randomUUID();
      const workflowId = returnWorkflowIdFor(returnId);
      const requestHash = sha256(JSON.stringify({ orderId, ...request.body }));
      const input: ReturnSagaInput = {
        returnId,
        orderId,
        customerId,
        reason: request.body.reason,
        correlationId,
        goodsTimeout,
      };
      const start = await startOnce(
        deps.temporal,
        'returnSaga',
        {
          workflowId,
          taskQueue: deps.taskQueue,
          args: [input],
          staticSummary: `Return of order ${orderId} for ${customerId}: ${request.body.reason}`,
          typedSearchAttributes: [
            { key: ReturnIdKey, value: returnId },
            { key: OrderIdKey, value: orderId },
            { key: CustomerIdKey, value: customerId },
            { key: ReturnStatusKey, value: 'OPENING' },
            { key: SagaPhaseKey, value: 'RUNNING' },
          ],
        },
        { correlationId, requestHash },
      );
      return reply
        .status(202)
        .header('x-correlation-id', start.correlationId)
        .send({ returnId, orderId, workflowId, correlationId: start.correlationId });
    },
  );

  app.get(
    '/returns/:returnId/saga',
    {
      config: { access: 'customer' },
      schema: {
        tags: ['returns'],
        summary: "The return saga's live state (step, completed steps, compensations, failure)",
        params: returnIdParams,
        response: { 200: returnStatusSchema, ...problems(400, 404, 429, 500) },
      },
    },
    async (request) => {
      const { returnId } = request.params;
      try {
        return await deps.temporal.workflow.getHandle(returnWorkflowIdFor(returnId)).query(returnStatusQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new NotFoundError(`No return ${returnId}`);
        throw err;
      }
    },
  );

  app.get(
    '/returns/:returnId/events',
    {
      config: { access: 'customer' },
      schema: {
        tags: ['returns'],
        summary: "The return's events, ordered by stream version",
        params: returnIdParams,
        response: { 200: z.object({ events: z.array(envelopeSchema) }), ...problems(400, 404, 429, 500) },
      },
    },
    async (request) => {
      const { returnId } = request.params;
      const events = await readStream(deps.pool, returnWorkflowIdFor(returnId));
      if (events.length === 0) throw new NotFoundError(`No return ${returnId}`);
      return { events: events.map(toEnvelope) };
    },
  );

  app.post(
    '/returns/:returnId/receive',
    {
      config: { access: 'operator', audit: { action: 'receive_goods', targetType: 'return', targetParam: 'returnId' } },
      schema: {
        tags: ['returns'],
        summary: 'Warehouse: the returned goods arrived; the refund and restock follow (operators)',
        params: returnIdParams,
        body: actorBody,
        response: { 200: actionResult, ...problems(400, 404, 409, 429, 500) },
      },
    },
    async (request) => {
      const { returnId } = request.params;
      const handle = deps.temporal.workflow.getHandle(returnWorkflowIdFor(returnId));
      const by = actingName(request.identity);
      const args: [ReturnActorRequest] = [by ? { by } : {}];
      const saga = await runUpdate(
        handle,
        returnId,
        () => handle.executeUpdate(receiveGoodsUpdate, { args }),
        'return',
      );
      return { returnId, saga };
    },
  );

  app.post(
    '/returns/:returnId/cancel',
    {
      config: { access: 'customer' },
      schema: {
        tags: ['returns'],
        summary: 'Customer cancel of a return: 200 once cancelled, 202 while it still runs; 409 once goods arrived',
        params: returnIdParams,
        body: actorBody,
        response: { 200: actionResult, 202: actionResult, ...problems(400, 404, 409, 429, 500) },
      },
    },
    async (request, reply) => {
      const { returnId } = request.params;
      const handle = deps.temporal.workflow.getHandle(returnWorkflowIdFor(returnId));
      const by = actingName(request.identity);
      const args: [ReturnActorRequest] = [{ ...(request.body ?? {}), ...(by ? { by } : {}) }];
      const cancelled = await runUpdate(
        handle,
        returnId,
        async () => {
          const update = await handle.startUpdate(cancelReturnUpdate, { args, waitForStage: 'ACCEPTED' });
          return settleWithin(update.result(), deps.cancelWaitMs ?? 10_000);
        },
        'return',
      );
      if (cancelled) return reply.status(200).send({ returnId, saga: cancelled });
      return reply.status(202).send({ returnId, saga: await handle.query(returnStatusQuery) });
    },
  );
}
