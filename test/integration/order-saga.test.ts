import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ConsumerDefinition } from '../../src/delivery/consumer';
import { notificationsOfOrder, notifier } from '../../src/consumers/notifier';
import { processDelivery } from '../../src/delivery/deliver';
import { START_OF_LOG } from '../../src/delivery/contract';
import { readCommitted, untilCommittedReadable } from '../../src/delivery/reader';
import { orderSummaryProjector } from '../../src/consumers/order-summary';
import { getOrderSummary } from '../../src/consumers/order-summary-queries';
import { readStream } from '../../src/store/event-store';
import { partitionOf } from '../../src/delivery/transports/codec';
import { waitFor } from '../../src/util/wait';
import { approveUpdate, cancelOrderUpdate, rejectUpdate, statusQuery } from '../../src/workflows';
import type { TestDatabase } from '../helpers/database';
import { recordHistory } from '../helpers/histories';
import {
  eventTypes,
  heldAtGateway,
  orderInput,
  startOrder,
  stockOf,
  SAGA_EVENTS,
  waitForSagaStatus,
} from '../helpers/orders';
import { startSagaWorld, stopSagaWorld, type SagaWorld } from '../helpers/saga-world';
import type { TestTemporal } from '../helpers/temporal';

let world: SagaWorld;
let db: TestDatabase;
let temporal: TestTemporal;

beforeAll(async () => {
  world = await startSagaWorld();
  ({ db, temporal } = world);
});
afterAll(() => stopSagaWorld(world));

const start = (overrides: Parameters<typeof orderInput>[0] = {}) => {
  const input = orderInput(overrides);
  return startOrder(temporal.client, temporal.taskQueue, input).then((handle) => ({ input, handle }));
};

/** An order above the approval threshold: 11 × SKU-0010 at 99.99 = 1099.89. */
const bigOrder = { items: [{ sku: 'SKU-0010', quantity: 11 }], approvalThresholdCents: 100_000 };

describe('orderSaga on the real Temporal server and PostgreSQL', () => {
  it('happy path: CONFIRMED, six events with stream versions 1..6 and no gaps', async () => {
    const stockBefore = await stockOf(db.pool, 'SKU-0001');
    const { input, handle } = await start();
    expect(await handle.result()).toEqual({ orderId: input.orderId, status: 'CONFIRMED' });

    const events = await readStream(db.pool, `order-${input.orderId}`);
    expect(events.map((e) => e.eventType)).toEqual([...SAGA_EVENTS.CONFIRMED]);
    expect(events.map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events[1]!.payload).toEqual({
      orderId: input.orderId,
      lines: [{ sku: 'SKU-0001', quantity: 2, unitPriceCents: 999 }],
      totalCents: 1998,
    });
    expect(await stockOf(db.pool, 'SKU-0001')).toBe(stockBefore - 2);
    const status = await handle.query(statusQuery);
    expect(status).toMatchObject({ status: 'CONFIRMED', sagaPhase: 'COMPLETED', compensations: [], failure: null });
    expect(status.completedSteps).toEqual([
      'createOrder',
      'reserveInventory',
      'authorizePayment',
      'scheduleShipment',
      'capturePayment',
      'confirmOrder',
    ]);
    await recordHistory('happy-path', handle);
  });

  it('declined card: releases the inventory and cancels; stock and gateway balances are restored', async () => {
    const stockBefore = await stockOf(db.pool, 'SKU-0001');
    const { input, handle } = await start({ paymentToken: 'tok_chargeDeclined' });
    expect(await handle.result()).toEqual({
      orderId: input.orderId,
      status: 'CANCELLED',
      reason: 'PaymentDeclined',
      failedStep: 'authorizePayment',
    });
    expect(await eventTypes(db.pool, input.orderId)).toEqual([...SAGA_EVENTS.DECLINED]);
    expect(await stockOf(db.pool, 'SKU-0001')).toBe(stockBefore);
    expect(await heldAtGateway(db.pool, input.orderId)).toBe(0);
    const cancelled = (await readStream(db.pool, `order-${input.orderId}`)).at(-1)!;
    expect(cancelled.payload).toEqual({
      orderId: input.orderId,
      reason: 'PaymentDeclined',
      failedStep: 'authorizePayment',
      // The saga stopped on its own: nobody asked for it.
      requestedBy: null,
    });
    await recordHistory('declined-payment', handle);
  });

  it('sold-out SKU: nothing is reserved (not even the lines in stock) and the order is cancelled', async () => {
    const stockBefore = await stockOf(db.pool, 'SKU-0002');
    const { input, handle } = await start({
      items: [
        { sku: 'SKU-0002', quantity: 1 },
        { sku: 'SKU-SOLDOUT', quantity: 1 },
      ],
    });
    expect(await handle.result()).toMatchObject({
      status: 'CANCELLED',
      reason: 'OutOfStock',
      failedStep: 'reserveInventory',
    });
    expect(await eventTypes(db.pool, input.orderId)).toEqual(['order.created', 'order.cancelled']);
    expect(await stockOf(db.pool, 'SKU-0002')).toBe(stockBefore);
    await recordHistory('out-of-stock', handle);
  });

  it('carrier refuses postal code 00000: voids the payment, releases inventory, cancels', async () => {
    const stockBefore = await stockOf(db.pool, 'SKU-0001');
    const { input, handle } = await start({
      shippingAddress: { line1: 'Nowhere 1', city: 'Void', postalCode: '00000', country: 'DE' },
    });
    expect(await handle.result()).toMatchObject({
      status: 'CANCELLED',
      reason: 'AddressRefused',
      failedStep: 'scheduleShipment',
    });
    expect(await eventTypes(db.pool, input.orderId)).toEqual([...SAGA_EVENTS.ADDRESS_REFUSED]);
    expect(await stockOf(db.pool, 'SKU-0001')).toBe(stockBefore);
    expect(await heldAtGateway(db.pool, input.orderId)).toBe(0);
    const payment = await db.pool.query('SELECT status FROM payments WHERE order_id = $1', [input.orderId]);
    expect(payment.rows).toEqual([{ status: 'VOIDED' }]);
    await recordHistory('carrier-refusal', handle);
  });

  it('tok_processingError: succeeds after transient retries with exactly one payment.authorized', async () => {
    const { input, handle } = await start({ paymentToken: 'tok_processingError' });
    expect(await handle.result()).toMatchObject({ status: 'CONFIRMED' });
    const types = await eventTypes(db.pool, input.orderId);
    expect(types.filter((t) => t === 'payment.authorized')).toHaveLength(1);
    const attempts = await db.pool.query(
      'SELECT attempts FROM simulators.gateway_attempts WHERE idempotency_key = $1',
      [`order-${input.orderId}/authorize-payment`],
    );
    expect(attempts.rows).toEqual([{ attempts: 3 }]); // two transient failures, then success
    const authorizations = await db.pool.query(
      'SELECT count(*)::int AS n FROM simulators.gateway_authorizations WHERE idempotency_key = $1',
      [`order-${input.orderId}/authorize-payment`],
    );
    expect(authorizations.rows[0].n).toBe(1);
  });

  it('approval: an order above the threshold waits, and is confirmed once approved', async () => {
    const { input, handle } = await start(bigOrder);
    await waitForSagaStatus(handle, 'AWAITING_APPROVAL');
    const afterApprove = await handle.executeUpdate(approveUpdate, { args: [{ decidedBy: 'ops-test' }] });
    expect(afterApprove.status).not.toBe('CANCELLED');
    expect(await handle.result()).toMatchObject({ status: 'CONFIRMED' });
    expect(await eventTypes(db.pool, input.orderId)).toEqual([
      'order.created',
      'inventory.reserved',
      'payment.authorized',
      'order.approval_requested',
      'order.approved',
      'shipment.scheduled',
      'payment.captured',
      'order.confirmed',
    ]);
    const approved = (await readStream(db.pool, `order-${input.orderId}`)).find(
      (e) => e.eventType === 'order.approved',
    )!;
    expect(approved).toMatchObject({ schemaVersion: 2, payload: { orderId: input.orderId, decidedBy: 'ops-test' } });
    await recordHistory('approval-approved', handle);
  });

  it('approval rejected: compensates and cancels with the rejection reason', async () => {
    const stockBefore = await stockOf(db.pool, 'SKU-0010');
    const { input, handle } = await start(bigOrder);
    await waitForSagaStatus(handle, 'AWAITING_APPROVAL');
    await handle.executeUpdate(rejectUpdate, { args: [{ reason: 'fraud_suspected', requestedBy: 'ops-test' }] });
    expect(await handle.result()).toMatchObject({
      status: 'CANCELLED',
      reason: 'fraud_suspected',
      failedStep: 'approval',
    });
    expect(await eventTypes(db.pool, input.orderId)).toEqual([...SAGA_EVENTS.APPROVAL_CANCELLED]);
    expect(await stockOf(db.pool, 'SKU-0010')).toBe(stockBefore);
    expect(await heldAtGateway(db.pool, input.orderId)).toBe(0);
    const cancelled = (await readStream(db.pool, `order-${input.orderId}`)).at(-1)!;
    expect(cancelled).toMatchObject({
      schemaVersion: 2,
      payload: { reason: 'fraud_suspected', requestedBy: 'ops-test' },
    });
    await recordHistory('approval-rejected', handle);
  });

  it('approval timeout: the durable timer fires and the order is compensated and cancelled', async () => {
    const { input, handle } = await start({ ...bigOrder, approvalTimeout: '1 second' });
    expect(await handle.result()).toMatchObject({
      status: 'CANCELLED',
      reason: 'approval_timed_out',
      failedStep: 'approval',
    });
    expect(await eventTypes(db.pool, input.orderId)).toEqual([...SAGA_EVENTS.APPROVAL_CANCELLED]);
    await recordHistory('approval-timeout', handle);
  });

  it('external cancel (Temporal cancellation, e.g. from the UI or CLI): compensates and records the cancellation', async () => {
    const stockBefore = await stockOf(db.pool, 'SKU-0010');
    const { input, handle } = await start(bigOrder);
    await waitForSagaStatus(handle, 'AWAITING_APPROVAL');
    await handle.cancel();
    // The execution ends Canceled in Temporal (what the operator asked for), after undoing
    // every step and recording the cancellation in the order's own events.
    await expect(handle.result()).rejects.toThrow(/cancelled/i);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(await eventTypes(db.pool, input.orderId)).toEqual([...SAGA_EVENTS.APPROVAL_CANCELLED]);
    const cancelled = (await readStream(db.pool, `order-${input.orderId}`)).at(-1)!;
    // No step was running while it waited for approval, and Temporal does not say who cancelled.
    expect(cancelled.payload).toMatchObject({ reason: 'workflow_cancelled', failedStep: null, requestedBy: null });
    expect(await stockOf(db.pool, 'SKU-0010')).toBe(stockBefore);
    expect(await heldAtGateway(db.pool, input.orderId)).toBe(0);
    await recordHistory('external-cancel', handle);
  });

  it('approve and reject are refused when the order is not awaiting approval', async () => {
    const { handle } = await start();
    await handle.result();
    await expect(handle.executeUpdate(approveUpdate, { args: [{}] })).rejects.toThrow();
  });
});

describe('customer cancel (cancelOrder update) at each cancellable step', () => {
  /**
   * Holds an exclusive lock on `table` so the step that writes it blocks; sends the cancel
   * while it is blocked, waits until the saga has recorded the request, then lets go.
   */
  async function cancelWhileBlocked(table: string, step: string) {
    const locker = await db.pool.connect();
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    const { input, handle } = await start();
    try {
      await waitFor(async () => (await handle.query(statusQuery)).step === step, {
        timeoutMs: 20_000,
        description: `the saga to be in step ${step}`,
      });
      const cancelled = handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: 'customer_changed_mind' }] });
      await waitFor(async () => (await handle.query(statusQuery)).cancelRequested, {
        timeoutMs: 20_000,
        description: 'the saga to record the cancel request',
      });
      await locker.query('COMMIT');
      const status = await cancelled;
      expect(status.status).toBe('CANCELLED');
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
    }
    return { input, handle, result: await handle.result() };
  }

  it('while the order is being created: only order.created then order.cancelled', async () => {
    const { input, result } = await cancelWhileBlocked('orders', 'createOrder');
    expect(result).toMatchObject({
      status: 'CANCELLED',
      reason: 'customer_changed_mind',
      failedStep: 'reserveInventory',
    });
    expect(await eventTypes(db.pool, input.orderId)).toEqual(['order.created', 'order.cancelled']);
  });

  it('while inventory is being reserved: the reservation is released', async () => {
    const stockBefore = await stockOf(db.pool, 'SKU-0001');
    const { input, result, handle } = await cancelWhileBlocked('reservations', 'reserveInventory');
    expect(result).toMatchObject({ status: 'CANCELLED', failedStep: 'authorizePayment' });
    expect(await eventTypes(db.pool, input.orderId)).toEqual([...SAGA_EVENTS.DECLINED]);
    expect(await stockOf(db.pool, 'SKU-0001')).toBe(stockBefore);
    await recordHistory('customer-cancel', handle);
  });

  it('while payment is being authorized: the authorization is voided and inventory released', async () => {
    const { input, result } = await cancelWhileBlocked('simulators.gateway_authorizations', 'authorizePayment');
    expect(result).toMatchObject({ status: 'CANCELLED', failedStep: 'scheduleShipment' });
    expect(await eventTypes(db.pool, input.orderId)).toEqual([...SAGA_EVENTS.ADDRESS_REFUSED]);
    expect(await heldAtGateway(db.pool, input.orderId)).toBe(0);
  });

  it('while waiting for approval: compensates at once', async () => {
    const { input, handle } = await start(bigOrder);
    await waitForSagaStatus(handle, 'AWAITING_APPROVAL');
    const status = await handle.executeUpdate(cancelOrderUpdate, { args: [{}] });
    expect(status).toMatchObject({
      status: 'CANCELLED',
      failure: { reason: 'cancelled_by_customer', failedStep: 'approval' },
    });
    expect(await eventTypes(db.pool, input.orderId)).toEqual([...SAGA_EVENTS.APPROVAL_CANCELLED]);
  });

  it('while the shipment is being scheduled (accepted before it was): the shipment is cancelled too', async () => {
    const { input, result } = await cancelWhileBlocked('shipments', 'scheduleShipment');
    expect(result).toMatchObject({ status: 'CANCELLED', failedStep: 'capturePayment' });
    expect(await eventTypes(db.pool, input.orderId)).toEqual([
      'order.created',
      'inventory.reserved',
      'payment.authorized',
      'shipment.scheduled',
      'shipment.cancelled',
      'payment.voided',
      'inventory.released',
      'order.cancelled',
    ]);
  });

  it('is refused once the shipment is scheduled, with a clear reason', async () => {
    // A real fault keeps the saga in capturePayment (after scheduling) until it is removed.
    await db.pool.query(`
      CREATE FUNCTION fail_capture() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'payments table unavailable'; END $$;
      CREATE TRIGGER fail_capture BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION fail_capture();`);
    const { input, handle } = await start();
    try {
      await waitFor(async () => (await handle.query(statusQuery)).step === 'capturePayment', {
        timeoutMs: 20_000,
        description: 'the saga to reach capturePayment',
      });
      const refusal = await handle.executeUpdate(cancelOrderUpdate, { args: [{}] }).catch((e: unknown) => e);
      expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((refusal as WorkflowUpdateFailedError).cause?.message).toMatch(/shipment is already scheduled/);
    } finally {
      await db.pool.query('DROP TRIGGER fail_capture ON payments; DROP FUNCTION fail_capture();');
    }
    expect(await handle.result()).toMatchObject({ status: 'CONFIRMED' });
    expect(await eventTypes(db.pool, input.orderId)).not.toContain('order.cancelled');
  });
});

describe('an order never created (createOrder keeps failing)', () => {
  /** Delivers a stream's committed events to a consumer, as the Postgres-native transport would. */
  async function deliver(consumer: ConsumerDefinition, streamId: string): Promise<string[]> {
    // A transaction open elsewhere on the server would hold the latest events back from the reader.
    await untilCommittedReadable(db.pool);
    const events = (await readCommitted(db.pool, START_OF_LOG, 100_000)).filter((e) => e.streamId === streamId);
    const outcomes: string[] = [];
    for (const event of events) {
      const partition = partitionOf(streamId, consumer.partitions);
      outcomes.push(await processDelivery(db.pool, consumer, partition, { kind: 'event', event }));
    }
    return outcomes;
  }

  it('past its deadline: order.placement_failed as the only event, CANCELLED in the workflow and the read model, one notification', async () => {
    // A real database fault: the orders table refuses this customer's rows until it is repaired.
    const customerId = `cust-maintenance-${Date.now()}`;
    await db.pool.query(`
      CREATE FUNCTION fail_order_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'orders table is read-only during maintenance'; END $$;
      CREATE TRIGGER fail_order_insert BEFORE INSERT ON orders FOR EACH ROW
        WHEN (NEW.customer_id = '${customerId}') EXECUTE FUNCTION fail_order_insert();`);
    let started: Awaited<ReturnType<typeof start>>;
    try {
      started = await start({ customerId, stepDeadlines: { createOrder: '3 seconds' } });
      expect(await started.handle.result()).toEqual({
        orderId: started.input.orderId,
        status: 'CANCELLED',
        reason: 'step_deadline_exceeded',
        failedStep: 'createOrder',
      });
    } finally {
      await db.pool.query('DROP TRIGGER fail_order_insert ON orders; DROP FUNCTION fail_order_insert();');
    }
    const { input, handle } = started;
    const streamId = `order-${input.orderId}`;

    // Exactly one terminal event, naming the customer to tell; no orders row was invented.
    const events = await readStream(db.pool, streamId);
    expect(events.map((e) => [e.eventType, e.streamVersion])).toEqual([['order.placement_failed', 1]]);
    expect(events[0]!.payload).toEqual({
      orderId: input.orderId,
      customerId,
      reason: 'step_deadline_exceeded',
      failedStep: 'createOrder',
      requestedBy: null,
    });
    expect((await db.pool.query('SELECT 1 FROM orders WHERE order_id = $1', [input.orderId])).rowCount).toBe(0);
    expect(await handle.query(statusQuery)).toMatchObject({
      status: 'CANCELLED',
      completedSteps: [],
      failure: { reason: 'step_deadline_exceeded', failedStep: 'createOrder' },
    });

    // The read model shows the order cancelled, with why and where.
    expect(await deliver(orderSummaryProjector, streamId)).toEqual(['handled']);
    expect(await getOrderSummary(db.pool, input.orderId)).toMatchObject({
      orderId: input.orderId,
      customerId,
      status: 'CANCELLED',
      sagaPhase: 'COMPENSATED',
      state: { cancellation: { reason: 'step_deadline_exceeded', failedStep: 'createOrder' } },
      timeline: [{ type: 'order.placement_failed', version: 1 }],
    });

    // The customer is told once, even when the event is delivered again.
    expect(await deliver(notifier, streamId)).toEqual(['handled']);
    expect(await deliver(notifier, streamId)).toEqual(['duplicate']);
    expect(await notificationsOfOrder(db.pool, input.orderId)).toEqual([
      expect.objectContaining({
        customerId,
        kind: 'order_placement_failed',
        message: `Your order ${input.orderId} could not be placed: step_deadline_exceeded.`,
      }),
    ]);
    await recordHistory('placement-failed', handle);
  });
});
