import { randomUUID } from 'node:crypto';
import { ORDER_TERMINAL_EVENTS } from '../domain/order';
import { RETURN_TERMINAL_EVENTS } from '../domain/return';
import type { SagaDefinition } from '../saga/definition';
import {
  ORDER_SAGA,
  RETURN_SAGA,
  statusQuery,
  returnStatusQuery,
  type OrderSagaInput,
  type OrderSagaResult,
  type ReturnSagaInput,
} from '../workflows';
import { acceptedUpdate, type Check, type ExploreTarget, type Run, type TargetContext } from './target';

/** The explorer's targets for the project's own sagas. */

const SQL = {
  // What the adapters' books hold for one order: payment authorizations, reservations, shipment.
  books: `SELECT
      (SELECT count(*)::int FROM simulators.gateway_authorizations WHERE idempotency_key LIKE 'order-' || $1 || '/%') AS authorizations,
      (SELECT string_agg(status, ',' ORDER BY status) FROM simulators.gateway_authorizations
        WHERE idempotency_key LIKE 'order-' || $1 || '/%') AS payment,
      (SELECT string_agg(DISTINCT status, ',') FROM reservations WHERE order_id = $1::uuid) AS reservations,
      (SELECT status FROM shipments WHERE order_id = $1::uuid) AS shipment,
      (SELECT count(*)::int FROM shipments WHERE order_id = $1::uuid) AS shipments`,
  returnRow: `SELECT status, amount_cents, refunded_cents FROM returns WHERE return_id = $1::uuid`,
  lastEvent: `SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1`,
} as const;

const ADDRESS = { line1: '1 Explorer Way', city: 'Berlin', postalCode: '10115', country: 'DE' };

function orderInput(deadlines: Record<string, string>, approvalThresholdCents: number): OrderSagaInput {
  return {
    orderId: randomUUID(),
    customerId: `explore-${randomUUID().slice(0, 8)}`,
    items: [{ sku: 'SKU-0001', quantity: 1 }],
    paymentToken: 'tok_visa',
    shippingAddress: ADDRESS,
    correlationId: randomUUID(),
    approvalThresholdCents,
    approvalTimeout: '1 hour',
    stepDeadlines: deadlines,
  };
}

async function startOrder(
  ctx: TargetContext,
  input: OrderSagaInput,
  beforeStart: (workflowId: string) => void = () => undefined,
): Promise<Run> {
  const workflowId = `order-${input.orderId}`;
  beforeStart(workflowId);
  const handle = await ctx.client.workflow.start('orderSaga', { workflowId, taskQueue: ctx.taskQueue, args: [input] });
  return { workflowId, handle, resource: `orders/${input.orderId}`, streams: [workflowId], orderIds: [input.orderId] };
}

/** Order books: one authorization, captured only for a confirmed order; stock held and shipped only then. */
async function orderBooks(ctx: TargetContext, orderId: string, confirmed: boolean): Promise<Check> {
  const { rows } = await ctx.pool.query(SQL.books, [orderId]);
  const b = rows[0] as {
    authorizations: number;
    payment: string | null;
    reservations: string | null;
    shipment: string | null;
    shipments: number;
  };
  const problems: string[] = [];
  if (b.authorizations > 1) problems.push(`${b.authorizations} authorizations`);
  if (confirmed) {
    if (!['CAPTURED', 'REFUNDED'].includes(b.payment ?? '')) problems.push(`payment ${b.payment ?? 'none'}`);
    if (b.reservations !== 'RESERVED') problems.push(`reservations ${b.reservations ?? 'none'}`);
    if (b.shipment !== 'SCHEDULED') problems.push(`shipment ${b.shipment ?? 'none'}`);
  } else {
    if (b.payment === 'CAPTURED' || b.payment === 'AUTHORIZED') problems.push(`payment still ${b.payment}`);
    if (b.reservations?.includes('RESERVED')) problems.push('stock still reserved');
    if (b.shipment === 'SCHEDULED') problems.push('shipment still scheduled');
  }
  return {
    name: "adapters' books match the outcome",
    ok: problems.length === 0,
    detail: problems.length
      ? problems.join(', ')
      : `${confirmed ? 'confirmed' : 'cancelled'}: payment ${b.payment ?? 'none'}, stock ${b.reservations ?? 'none'}, shipment ${b.shipment ?? 'none'}`,
  };
}

const lastEventOf = async (ctx: TargetContext, stream: string) =>
  (await ctx.pool.query<{ event_type: string }>(SQL.lastEvent, [stream])).rows[0]?.event_type ?? null;

export const ORDER_TARGET: ExploreTarget = {
  saga: ORDER_SAGA,
  terminalEvents: ORDER_TERMINAL_EVENTS,
  // Threshold 0: every run passes the approval steps, so they are explored too.
  start: (ctx, deadlines, beforeStart) => startOrder(ctx, orderInput(deadlines, 0), beforeStart),
  async drive(_ctx, run) {
    const status = await run.handle.query(statusQuery);
    if (status.status === 'AWAITING_APPROVAL' && !status.cancelRequested) {
      await acceptedUpdate(run.handle, 'approve', { decidedBy: 'explorer' });
    }
  },
  cancel: (_ctx, run) =>
    acceptedUpdate(run.handle, 'cancelOrder', { reason: 'explored_cancel', requestedBy: 'explorer' }),
  async checks(ctx, run) {
    const orderId = run.orderIds[0]!;
    return [await orderBooks(ctx, orderId, (await lastEventOf(ctx, run.workflowId)) === 'order.confirmed')];
  },
};

export const RETURN_TARGET: ExploreTarget = {
  saga: RETURN_SAGA,
  terminalEvents: RETURN_TERMINAL_EVENTS,
  async start(ctx, deadlines, beforeStart) {
    // A return needs a confirmed order of the same customer: placed first, with no faults.
    const order = orderInput({}, 1_000_000);
    const placed = await startOrder(ctx, order);
    const result = (await placed.handle.result()) as OrderSagaResult;
    if (result.status !== 'CONFIRMED') throw new Error(`explore: the order for a return ended ${result.status}`);
    const input: ReturnSagaInput = {
      returnId: randomUUID(),
      orderId: order.orderId,
      customerId: order.customerId,
      reason: 'explored return',
      correlationId: randomUUID(),
      goodsTimeout: '1 hour',
      stepDeadlines: deadlines,
    };
    const workflowId = `return-${input.returnId}`;
    beforeStart(workflowId);
    const handle = await ctx.client.workflow.start('returnSaga', {
      workflowId,
      taskQueue: ctx.taskQueue,
      args: [input],
    });
    return {
      workflowId,
      handle,
      resource: `returns/${input.returnId}`,
      streams: [workflowId, placed.workflowId],
      orderIds: [order.orderId],
    };
  },
  async drive(_ctx, run) {
    const status = await run.handle.query(returnStatusQuery);
    if (status.status === 'AWAITING_GOODS' && !status.cancelRequested) {
      await acceptedUpdate(run.handle, 'receiveGoods', { by: 'explorer' });
    }
  },
  cancel: (_ctx, run) => acceptedUpdate(run.handle, 'cancelReturn', { reason: 'explored_cancel', by: 'explorer' }),
  async checks(ctx, run) {
    const returnId = run.workflowId.slice('return-'.length);
    const { rows } = await ctx.pool.query(SQL.returnRow, [returnId]);
    const r = rows[0] as { status: string; amount_cents: number; refunded_cents: number } | undefined;
    const completed = (await lastEventOf(ctx, run.workflowId)) === 'return.completed';
    const problems: string[] = [];
    if (r && r.refunded_cents > r.amount_cents) problems.push(`refunded ${r.refunded_cents} of ${r.amount_cents}`);
    if (completed && r?.refunded_cents !== r?.amount_cents) problems.push('completed without the full refund');
    if (!completed && r && r.refunded_cents > 0 && r.status === 'CANCELLED') problems.push('cancelled after a refund');
    return [
      {
        name: 'the refund matches the outcome',
        ok: problems.length === 0,
        detail: problems.length
          ? problems.join(', ')
          : `${r?.status ?? 'no return row'}, refunded ${r?.refunded_cents ?? 0}`,
      },
      // The order stays confirmed and its books intact: a return refunds, it does not cancel.
      await orderBooks(ctx, run.orderIds[0]!, true),
    ];
  },
};

/** The sagas `saga explore` knows by name. */
export const TARGETS: Record<string, ExploreTarget> = { orderSaga: ORDER_TARGET, returnSaga: RETURN_TARGET };
