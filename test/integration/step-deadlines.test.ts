import type { WorkflowHandle } from '@temporalio/client';
import { TransientError } from '../../src/domain/errors';
import type { PaymentGateway } from '../../src/ports/payment-gateway';
import { simulatedActivityDeps } from '../../src/processes/activity-deps';
import { abandonStepSignal, retryStepSignal } from '../../src/saga/saga';
import { seedCatalog } from '../../src/store/catalog';
import { waitFor } from '../../src/util/wait';
import { statusQuery, type OrderSagaStatus } from '../../src/workflows';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { recordHistory } from '../helpers/histories';
import { eventTypes, heldAtGateway, orderInput, SAGA_EVENTS, startOrder, stockOf } from '../helpers/orders';
import { connectTestTemporal, type TestTemporal } from '../helpers/temporal';

// Forward steps have deadlines: an outage of the payment gateway that outlasts one either
// compensates the order or parks it for an operator, as the saga's table says per step.

let db: TestDatabase;
let temporal: TestTemporal;
/** Gateway operations that fail (as an outage would) while listed here. */
const outage = new Set<'authorize' | 'capture'>();

/** The simulated gateway behind a switch: the real simulator, unreachable while its operation is "down". */
function gatewayWithOutages(gateway: PaymentGateway): PaymentGateway {
  const down = (op: 'authorize' | 'capture') => {
    if (outage.has(op)) throw new TransientError(`payment gateway unreachable (${op})`);
  };
  return {
    authorize: async (request) => (down('authorize'), gateway.authorize(request)),
    capture: async (id) => (down('capture'), gateway.capture(id)),
    void: (id) => gateway.void(id),
    refund: (id) => gateway.refund(id),
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  await seedCatalog(db.pool);
  temporal = await connectTestTemporal();
  const deps = simulatedActivityDeps(db.pool);
  await temporal.startWorker({ ...deps, paymentGateway: gatewayWithOutages(deps.paymentGateway) });
});
afterAll(async () => {
  await temporal?.close();
  await db?.drop();
});
afterEach(() => outage.clear());

const SHORT = '3 seconds';

async function waitForStuckStep(handle: WorkflowHandle): Promise<OrderSagaStatus> {
  return waitFor(
    async () => {
      const s = await handle.query(statusQuery);
      return s.sagaPhase === 'STEP_STUCK' ? s : undefined;
    },
    { timeoutMs: 30_000, description: 'the saga to report STEP_STUCK' },
  );
}

async function findByVisibility(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of temporal.client.workflow.list({ query })) ids.push(wf.workflowId);
  return ids;
}

describe('forward-step deadlines', () => {
  // A deadline passes either during an attempt (a timeout) or between attempts (the server
  // will not start one after it, and fails with the last error): both count as the deadline.
  it.each([SHORT, '1 second'])(
    'compensate: an authorization outage past its deadline (%s) releases the stock and cancels the order',
    async (deadline) => {
      const stockBefore = await stockOf(db.pool, 'SKU-0001');
      outage.add('authorize');
      const input = orderInput({ stepDeadlines: { authorizePayment: deadline } });
      const handle = await startOrder(temporal.client, temporal.taskQueue, input);

      expect(await handle.result()).toMatchObject({
        status: 'CANCELLED',
        reason: 'step_deadline_exceeded',
        failedStep: 'authorizePayment',
      });
      expect(await eventTypes(db.pool, input.orderId)).toEqual([...SAGA_EVENTS.DECLINED]);
      expect(await stockOf(db.pool, 'SKU-0001')).toBe(stockBefore);
      expect(await heldAtGateway(db.pool, input.orderId)).toBe(0);
      if (deadline === SHORT) await recordHistory('deadline-compensated', handle);
    },
  );

  it('a short outage inside the deadline is only retried: the order confirms', async () => {
    outage.add('authorize');
    const input = orderInput({ stepDeadlines: { authorizePayment: '20 seconds' } });
    const handle = await startOrder(temporal.client, temporal.taskQueue, input);
    // The step is being retried (not failed) while the gateway is down.
    await waitFor(
      async () => {
        const d = await handle.describe();
        return d.raw.pendingActivities?.some((a) => (a.attempt ?? 0) >= 2) ? true : undefined;
      },
      { timeoutMs: 15_000, description: 'authorizePayment to be retried' },
    );
    outage.clear();
    expect(await handle.result()).toMatchObject({ status: 'CONFIRMED' });
    expect(await eventTypes(db.pool, input.orderId)).toEqual([...SAGA_EVENTS.CONFIRMED]);
  });

  it('escalate: a capture outage past its deadline parks the saga for an operator; retryStep confirms once the gateway is back', async () => {
    outage.add('capture');
    const input = orderInput({ stepDeadlines: { capturePayment: SHORT } });
    const handle = await startOrder(temporal.client, temporal.taskQueue, input);

    const stuck = await waitForStuckStep(handle);
    expect(stuck.stuckStep).toMatchObject({ step: 'capturePayment', attempt: 1 });
    expect(stuck.status).toBe('PENDING');
    const found = await waitFor(
      async () => {
        const ids = await findByVisibility(`SagaPhase="STEP_STUCK" AND OrderId="${input.orderId}"`);
        return ids.length ? ids : undefined;
      },
      { timeoutMs: 20_000, description: 'visibility to list the stuck saga' },
    );
    expect(found).toEqual([`order-${input.orderId}`]);
    // Nothing was undone while it waits: the shipment stands, the authorization is held.
    expect(await eventTypes(db.pool, input.orderId)).toEqual(SAGA_EVENTS.CONFIRMED.slice(0, 4));
    // The Temporal UI's current details tell the operator what to do.
    const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toContain('**Step stuck**');
    expect(meta.currentDetails).toContain('retryStep');

    outage.clear();
    await handle.signal(retryStepSignal);
    expect(await handle.result()).toMatchObject({ status: 'CONFIRMED' });
    expect(await eventTypes(db.pool, input.orderId)).toEqual([...SAGA_EVENTS.CONFIRMED]);
    expect((await handle.query(statusQuery)).stuckStep).toBeNull();
    await recordHistory('deadline-escalated-retried', handle);
  });

  it('escalate: abandonStep compensates everything and cancels with the deadline as the reason', async () => {
    const stockBefore = await stockOf(db.pool, 'SKU-0001');
    outage.add('capture');
    const input = orderInput({ stepDeadlines: { capturePayment: SHORT } });
    const handle = await startOrder(temporal.client, temporal.taskQueue, input);
    await waitForStuckStep(handle);

    await handle.signal(abandonStepSignal, { note: 'gateway down for the day' });
    expect(await handle.result()).toMatchObject({
      status: 'CANCELLED',
      reason: 'step_deadline_exceeded',
      failedStep: 'capturePayment',
    });
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
    expect(await stockOf(db.pool, 'SKU-0001')).toBe(stockBefore);
    expect(await heldAtGateway(db.pool, input.orderId)).toBe(0);
    await recordHistory('deadline-escalated-abandoned', handle);
  });
});
