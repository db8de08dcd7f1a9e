import type { WorkflowHandle } from '@temporalio/client';
import { buildApp } from '../../src/api/app';
import { readStream } from '../../src/store/event-store';
import { waitFor } from '../../src/util/wait';
import { markCompensationResolvedSignal, retryCompensationSignal } from '../../src/saga/saga';
import { statusQuery } from '../../src/workflows';
import type { TestDatabase } from '../helpers/database';
import { recordHistory } from '../helpers/histories';
import { eventTypes, orderInput, startOrder, stockOf, SAGA_EVENTS, waitForSagaStatus } from '../helpers/orders';
import { startSagaWorld, stopSagaWorld, type SagaWorld } from '../helpers/saga-world';
import type { TestTemporal } from '../helpers/temporal';

// A compensation that keeps failing must surface to an operator, never be swallowed.

let world: SagaWorld;
let db: TestDatabase;
let temporal: TestTemporal;

beforeAll(async () => {
  world = await startSagaWorld();
  ({ db, temporal } = world);
});
afterAll(() => stopSagaWorld(world));

/** A real database fault: releasing a reservation fails until the trigger is dropped. */
const breakRelease = () =>
  db.pool.query(`
    CREATE OR REPLACE FUNCTION fail_release() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'reservations are read-only during maintenance'; END $$;
    CREATE TRIGGER fail_release BEFORE UPDATE ON reservations FOR EACH ROW EXECUTE FUNCTION fail_release();`);
const repairRelease = () => db.pool.query('DROP TRIGGER IF EXISTS fail_release ON reservations');

async function startStuckOrder(): Promise<{ orderId: string; handle: WorkflowHandle }> {
  await breakRelease();
  // A declined card makes the saga compensate the reservation, which now fails every time.
  const input = orderInput({ paymentToken: 'tok_chargeDeclined' });
  const handle = await startOrder(temporal.client, temporal.taskQueue, input);
  const stuck = await waitFor(
    async () => {
      const s = await handle.query(statusQuery);
      return s.sagaPhase === 'COMPENSATION_STUCK' ? s : undefined;
    },
    { timeoutMs: 30_000, description: 'the saga to report COMPENSATION_STUCK' },
  );
  expect(stuck.stuck).toEqual([
    { step: 'reserveInventory', attempt: 1, error: expect.stringContaining('reservations are read-only') },
  ]);
  return { orderId: input.orderId, handle };
}

async function findByVisibility(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of temporal.client.workflow.list({ query })) ids.push(wf.workflowId);
  return ids;
}

describe('compensation escalation', () => {
  afterEach(repairRelease);

  it('shows SagaPhase=COMPENSATION_STUCK in visibility, and completes after the operator retries once the fault is gone', async () => {
    const stockBefore = await stockOf(db.pool, 'SKU-0001');
    const { orderId, handle } = await startStuckOrder();

    const query = `SagaPhase="COMPENSATION_STUCK" AND OrderId="${orderId}"`;
    const found = await waitFor(
      async () => ((await findByVisibility(query)).length ? findByVisibility(query) : undefined),
      {
        timeoutMs: 20_000,
        description: 'visibility to list the stuck saga',
      },
    );
    expect(found).toEqual([`order-${orderId}`]);
    // Still stuck, nothing was swallowed: no release, no cancellation yet.
    expect(await eventTypes(db.pool, orderId)).toEqual(['order.created', 'inventory.reserved']);

    await repairRelease();
    await handle.signal(retryCompensationSignal);
    expect(await handle.result()).toMatchObject({ status: 'CANCELLED', reason: 'PaymentDeclined' });
    expect(await eventTypes(db.pool, orderId)).toEqual([...SAGA_EVENTS.DECLINED]);
    expect(await stockOf(db.pool, 'SKU-0001')).toBe(stockBefore);
    const done = await handle.query(statusQuery);
    expect(done).toMatchObject({ sagaPhase: 'COMPENSATED', stuck: [] });
    expect(done.compensations).toEqual([
      { step: 'authorizePayment', status: 'compensated' },
      { step: 'reserveInventory', status: 'compensated' },
    ]);
    await recordHistory('compensation-stuck-then-retried', handle);
  });

  it('a retry while the fault persists gets stuck again rather than giving up', async () => {
    const { orderId, handle } = await startStuckOrder();
    await handle.signal(retryCompensationSignal);
    await waitFor(
      async () => {
        const s = await handle.query(statusQuery);
        return s.sagaPhase === 'COMPENSATION_STUCK' && s.stuck[0]?.attempt === 2;
      },
      { timeoutMs: 30_000, description: 'the second escalation' },
    );
    await repairRelease();
    await handle.signal(retryCompensationSignal);
    expect(await handle.result()).toMatchObject({ status: 'CANCELLED' });
    expect(await eventTypes(db.pool, orderId)).toContain('inventory.released');
  });

  it('markCompensationResolved: the operator undid it by hand; the order is cancelled and says so', async () => {
    const { orderId, handle } = await startStuckOrder();
    await handle.signal(markCompensationResolvedSignal, { note: 'released in the WMS by hand' });
    expect(await handle.result()).toMatchObject({ status: 'CANCELLED' });
    const events = await readStream(db.pool, `order-${orderId}`);
    expect(events.map((e) => e.eventType)).toEqual(['order.created', 'inventory.reserved', 'order.cancelled']);
    expect(events.at(-1)!.payload).toMatchObject({ manuallyResolved: ['reserveInventory'] });
    await recordHistory('compensation-resolved-by-hand', handle);
  });

  it('POST /orders/:id/cancel answers 202 instead of hanging while a compensation is stuck', async () => {
    const app = buildApp({
      pool: db.pool,
      temporal: temporal.client,
      taskQueue: temporal.taskQueue,
      orders: { approvalThresholdCents: 100_000, approvalTimeout: '1 hour' },
      cancelWaitMs: 500,
    });
    try {
      // Above the threshold, the order waits for approval: a cancel is accepted there.
      const input = orderInput({ items: [{ sku: 'SKU-0010', quantity: 11 }] });
      const handle = await startOrder(temporal.client, temporal.taskQueue, input);
      await waitForSagaStatus(handle, 'AWAITING_APPROVAL');
      await breakRelease();
      const res = await app.inject({ method: 'POST', url: `/orders/${input.orderId}/cancel` });
      expect(res.statusCode).toBe(202);
      expect(res.json().saga).toMatchObject({ status: 'CANCELLING', cancelRequested: true });

      await waitFor(async () => (await handle.query(statusQuery)).sagaPhase === 'COMPENSATION_STUCK', {
        timeoutMs: 30_000,
        description: 'the stuck release',
      });
      await repairRelease();
      await handle.signal(retryCompensationSignal);
      expect(await handle.result()).toMatchObject({ status: 'CANCELLED', reason: 'cancelled_by_customer' });
    } finally {
      await app.close();
    }
  });
});
