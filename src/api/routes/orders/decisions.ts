import type { WorkflowHandle } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { approveUpdate, cancelOrderUpdate, rejectUpdate, statusQuery, type ReasonRequest } from '../../../workflows';
import type { ApiDeps } from '../../deps';
import { freeText, orderIdParams, problems, sagaStatusSchema } from '../../schemas';
import { actingName, runUpdate, settleWithin } from '../updates';
import { workflowIdFor } from './place';

const params = orderIdParams;
const actionResult = z.object({ orderId: z.uuid(), saga: sagaStatusSchema });
const reasonBody = z.object({ reason: freeText(200).optional().describe('Why (recorded in the events)') }).nullish();

/** What operators and customers decide about an order: approve, reject, cancel (Temporal updates). */
export function orderDecisionRoutes(fastify: FastifyInstance, deps: ApiDeps): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

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
      config: { access: 'customer' },
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
