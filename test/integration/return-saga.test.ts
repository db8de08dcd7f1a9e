import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { readStream } from '../../src/store/event-store';
import { waitFor } from '../../src/util/wait';
import { returnStatusQuery, type ReturnSagaResult, type ReturnSagaStatus } from '../../src/workflows';
import { recordHistory } from '../helpers/histories';
import { stockOf } from '../helpers/orders';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../helpers/api-world';

// The second saga on the toolkit: returns of confirmed orders, driven through the API,
// against the real Temporal server and PostgreSQL.

let world: ApiWorld;
let app: FastifyInstance;

beforeAll(async () => {
  world = await startApiWorld({ returns: { goodsTimeout: '1 hour' } });
  app = world.app;
});
afterAll(async () => stopApiWorld(world));

const SKU = 'SKU-0003';

async function confirmedOrder(): Promise<{ orderId: string; customerId: string }> {
  const customerId = `cust-${randomUUID().slice(0, 8)}`;
  const res = await app.inject({
    method: 'POST',
    url: '/orders',
    payload: {
      customerId,
      items: [{ sku: SKU, quantity: 2 }],
      payment: { token: 'tok_visa' },
      shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
    },
  });
  expect(res.statusCode).toBe(202);
  const { orderId, workflowId } = res.json<{ orderId: string; workflowId: string }>();
  expect(await world.temporal.client.workflow.getHandle(workflowId).result()).toMatchObject({ status: 'CONFIRMED' });
  return { orderId, customerId };
}

async function openReturn(api: FastifyInstance, orderId: string, headers: Record<string, string> = {}) {
  const res = await api.inject({
    method: 'POST',
    url: `/orders/${orderId}/returns`,
    headers,
    payload: { reason: 'does not fit' },
  });
  expect(res.statusCode).toBe(202);
  return res.json<{ returnId: string; workflowId: string }>();
}

const sagaOf = async (returnId: string) =>
  (await app.inject({ method: 'GET', url: `/returns/${returnId}/saga` })).json<ReturnSagaStatus>();

const waitForReturnStatus = (returnId: string, status: ReturnSagaStatus['status']) =>
  waitFor(async () => ((await sagaOf(returnId)).status === status ? sagaOf(returnId) : undefined), {
    timeoutMs: 20_000,
    description: `return ${returnId} to be ${status}`,
  });

const result = (workflowId: string) =>
  world.temporal.client.workflow.getHandle(workflowId).result() as Promise<ReturnSagaResult>;

const returnEvents = async (returnId: string) =>
  (await readStream(world.db.pool, `return-${returnId}`)).map((e) => e.eventType);

async function gatewayStatus(orderId: string): Promise<string> {
  const { rows } = await world.db.pool.query<{ status: string }>(
    `SELECT status FROM simulators.gateway_authorizations WHERE idempotency_key = $1`,
    [`order-${orderId}/authorize-payment`],
  );
  return rows[0]!.status;
}

/** The order's row in the read model, every column. */
const summaryRow = async (orderId: string) =>
  (await world.db.pool.query('SELECT * FROM order_summary WHERE order_id = $1', [orderId])).rows[0] as
    Record<string, unknown> | undefined;

/** Whether `consumer` has taken effect for the event (its inbox row). */
const inboxHas = async (consumer: string, eventId: string) =>
  ((await world.db.pool.query('SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2', [consumer, eventId]))
    .rowCount ?? 0) > 0;

/** GET /orders/:id once the read model shows the return in `status`. */
const readModelReturn = (orderId: string, status: string) =>
  waitFor(
    async () => {
      const res = await app.inject({ method: 'GET', url: `/orders/${orderId}` });
      const body = res.json<{ returnStatus?: string | null }>();
      return res.statusCode === 200 && body.returnStatus === status ? body : undefined;
    },
    { timeoutMs: 30_000, description: `the read model of ${orderId} to show the return ${status}` },
  );

describe('return saga', () => {
  it('happy path: pickup, goods received, refund, restock, completed; visible in the read model', async () => {
    const stockBefore = await stockOf(world.db.pool, SKU);
    const { orderId } = await confirmedOrder();
    expect(await stockOf(world.db.pool, SKU)).toBe(stockBefore - 2);

    const { returnId, workflowId } = await openReturn(app, orderId);
    expect(workflowId).toBe(`return-${returnId}`);
    const waiting = await waitForReturnStatus(returnId, 'AWAITING_GOODS');
    expect(waiting.trackingId).toMatch(/^TRK-/);
    expect(waiting.completedSteps).toEqual(['openReturn', 'schedulePickup']);

    const received = await app.inject({ method: 'POST', url: `/returns/${returnId}/receive`, payload: {} });
    expect(received.statusCode).toBe(200);
    expect(await result(workflowId)).toEqual({ returnId, status: 'COMPLETED' });

    expect(await returnEvents(returnId)).toEqual([
      'return.opened',
      'return.pickup_scheduled',
      'return.goods_received',
      'return.refunded',
      'return.restocked',
      'return.completed',
    ]);
    expect(await stockOf(world.db.pool, SKU)).toBe(stockBefore);
    expect(await gatewayStatus(orderId)).toBe('REFUNDED');
    const summary = await readModelReturn(orderId, 'COMPLETED');
    expect(summary).toMatchObject({ status: 'CONFIRMED', returnId, refundedCents: waiting.amountCents });
    expect(waiting.amountCents).toBeGreaterThan(0);

    // In the Temporal UI: found by its search attributes, with its final status.
    const listed = await waitFor(
      async () => {
        const ids: string[] = [];
        const query = `ReturnId="${returnId}" AND OrderId="${orderId}" AND ReturnStatus="COMPLETED"`;
        for await (const wf of world.temporal.client.workflow.list({ query })) ids.push(wf.workflowId);
        return ids.length ? ids : undefined;
      },
      { timeoutMs: 20_000, description: 'visibility to list the completed return' },
    );
    expect(listed).toEqual([workflowId]);

    // Once the goods are in, the customer can no longer cancel; the finished saga refuses too.
    const late = await app.inject({ method: 'POST', url: `/returns/${returnId}/cancel`, payload: {} });
    expect(late.statusCode).toBe(409);
    await recordHistory('return-completed', world.temporal.client.workflow.getHandle(workflowId));
  });

  it('customer cancel while the goods are awaited: the pickup is cancelled, nothing refunded or restocked', async () => {
    const { orderId } = await confirmedOrder();
    const stockAfterOrder = await stockOf(world.db.pool, SKU);
    const { returnId, workflowId } = await openReturn(app, orderId);
    await waitForReturnStatus(returnId, 'AWAITING_GOODS');

    const res = await app.inject({
      method: 'POST',
      url: `/returns/${returnId}/cancel`,
      payload: { reason: 'kept it' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ saga: { status: 'CANCELLED', failure: { reason: 'kept it' } } });
    expect(await result(workflowId)).toMatchObject({
      status: 'CANCELLED',
      reason: 'kept it',
      failedStep: 'receiveGoods',
    });
    expect(await returnEvents(returnId)).toEqual([
      'return.opened',
      'return.pickup_scheduled',
      'return.pickup_cancelled',
      'return.cancelled',
    ]);
    expect(await stockOf(world.db.pool, SKU)).toBe(stockAfterOrder);
    expect(await gatewayStatus(orderId)).toBe('CAPTURED');
    await readModelReturn(orderId, 'CANCELLED');
    // The goods can no longer be received for a cancelled return.
    const receive = await app.inject({ method: 'POST', url: `/returns/${returnId}/receive`, payload: {} });
    expect(receive.statusCode).toBe(409);
    await recordHistory('return-cancelled', world.temporal.client.workflow.getHandle(workflowId));

    // A cancelled return leaves the order returnable again.
    const again = await openReturn(app, orderId);
    await waitForReturnStatus(again.returnId, 'AWAITING_GOODS');
    await app.inject({ method: 'POST', url: `/returns/${again.returnId}/cancel`, payload: {} });
    expect(await result(again.workflowId)).toMatchObject({ status: 'CANCELLED' });
  });

  it('failure: goods that never arrive cancel the pickup and the return', async () => {
    const shortWait = buildApp({
      pool: world.db.pool,
      temporal: world.temporal.client,
      taskQueue: world.temporal.taskQueue,
      orders: { approvalThresholdCents: 100_000, approvalTimeout: '1h' },
      returns: { goodsTimeout: '2 seconds' },
    });
    try {
      const { orderId } = await confirmedOrder();
      const { returnId, workflowId } = await openReturn(shortWait, orderId);
      expect(await result(workflowId)).toMatchObject({
        status: 'CANCELLED',
        reason: 'goods_not_received',
        failedStep: 'receiveGoods',
      });
      expect(await returnEvents(returnId)).toEqual([
        'return.opened',
        'return.pickup_scheduled',
        'return.pickup_cancelled',
        'return.cancelled',
      ]);
      expect(await gatewayStatus(orderId)).toBe('CAPTURED');
      await recordHistory('return-goods-timeout', world.temporal.client.workflow.getHandle(workflowId));
    } finally {
      await shortWait.close();
    }
  });

  it('failure: a second open return of the same order is refused by the saga and ends with return.not_opened', async () => {
    const { orderId, customerId } = await confirmedOrder();
    const first = await openReturn(app, orderId);
    await waitForReturnStatus(first.returnId, 'AWAITING_GOODS');
    // The read model shows the first return; nothing else happens to the order until it ends.
    await readModelReturn(orderId, 'PICKUP_SCHEDULED');
    const rowBefore = await summaryRow(orderId);
    expect(rowBefore).toMatchObject({ return_id: first.returnId, return_status: 'PICKUP_SCHEDULED' });

    const second = await openReturn(app, orderId);
    const handle = world.temporal.client.workflow.getHandle(second.workflowId);
    expect(await result(second.workflowId)).toEqual({
      returnId: second.returnId,
      status: 'CANCELLED',
      reason: 'ReturnNotAllowed',
      failedStep: 'openReturn',
    });
    expect(await handle.query(returnStatusQuery)).toMatchObject({
      status: 'CANCELLED',
      completedSteps: [],
      failure: { reason: 'ReturnNotAllowed', failedStep: 'openReturn' },
    });

    // Exactly one terminal event, naming the order and the customer; no returns row was invented.
    const events = await readStream(world.db.pool, `return-${second.returnId}`);
    expect(events.map((e) => [e.eventType, e.streamVersion])).toEqual([['return.not_opened', 1]]);
    expect(events[0]!.payload).toEqual({
      returnId: second.returnId,
      orderId,
      customerId,
      reason: 'ReturnNotAllowed',
      failedStep: 'openReturn',
      requestedBy: null,
    });
    const returnRows = await world.db.pool.query('SELECT 1 FROM returns WHERE return_id = $1', [second.returnId]);
    expect(returnRows.rowCount).toBe(0);
    const listed = await app.inject({ method: 'GET', url: `/returns/${second.returnId}/events` });
    expect(listed.statusCode).toBe(200);
    expect(listed.json<{ events: { eventType: string }[] }>().events.map((e) => e.eventType)).toEqual([
      'return.not_opened',
    ]);

    // The read model took it (no dead letter) and still shows the first return: the row is unchanged.
    await waitFor(async () => ((await inboxHas('order-summary', events[0]!.eventId)) ? true : undefined), {
      timeoutMs: 30_000,
      description: 'the read model to take return.not_opened',
    });
    const deadLetters = await world.db.pool.query('SELECT 1 FROM dead_letters WHERE event_id = $1', [
      events[0]!.eventId,
    ]);
    expect(deadLetters.rowCount).toBe(0);
    expect(await summaryRow(orderId)).toEqual(rowBefore);
    await recordHistory('return-not-opened', handle);

    await app.inject({ method: 'POST', url: `/returns/${first.returnId}/cancel`, payload: {} });
    expect(await result(first.workflowId)).toMatchObject({ status: 'CANCELLED' });
  });

  it('the same Idempotency-Key opens one return', async () => {
    const { orderId } = await confirmedOrder();
    const key = { 'idempotency-key': `ret-${randomUUID()}` };
    const a = await openReturn(app, orderId, key);
    const b = await openReturn(app, orderId, key);
    expect(b.returnId).toBe(a.returnId);
    await waitForReturnStatus(a.returnId, 'AWAITING_GOODS');
    await app.inject({ method: 'POST', url: `/returns/${a.returnId}/cancel`, payload: {} });
    expect(await result(a.workflowId)).toMatchObject({ status: 'CANCELLED' });
  });

  it('refuses bad requests with problems: unknown order 404, unconfirmed order 409, missing reason 400', async () => {
    const unknown = await app.inject({
      method: 'POST',
      url: `/orders/${randomUUID()}/returns`,
      payload: { reason: 'x' },
    });
    expect(unknown.statusCode).toBe(404);

    const pending = await app.inject({
      method: 'POST',
      url: '/orders',
      payload: {
        customerId: 'cust-big',
        items: [{ sku: 'SKU-0010', quantity: 11 }],
        payment: { token: 'tok_visa' },
        shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
      },
    });
    const { orderId } = pending.json<{ orderId: string }>();
    await waitFor(async () => ((await readStream(world.db.pool, `order-${orderId}`)).length > 0 ? true : undefined), {
      timeoutMs: 20_000,
      description: 'the order to be created',
    });
    const notConfirmed = await app.inject({
      method: 'POST',
      url: `/orders/${orderId}/returns`,
      payload: { reason: 'x' },
    });
    expect(notConfirmed.statusCode).toBe(409);
    expect(notConfirmed.json()).toMatchObject({ code: 'conflict' });

    const noReason = await app.inject({ method: 'POST', url: `/orders/${orderId}/returns`, payload: {} });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json()).toMatchObject({ code: 'validation_failed' });

    const unknownReturn = await app.inject({ method: 'GET', url: `/returns/${randomUUID()}/saga` });
    expect(unknownReturn.statusCode).toBe(404);
    await app.inject({ method: 'POST', url: `/orders/${orderId}/reject`, payload: {} });
  });
});
