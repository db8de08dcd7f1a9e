import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../src/activities';
import { DATA_REJECTED } from '../../src/activities/failures';
import { runWithCorrelation } from '../../src/correlation/context';
import { simulatedActivityDeps } from '../../src/processes/activity-deps';
import { readStream } from '../../src/store/event-store';
import { ADDRESS, eventTypes, orderInput, startOrder, stockOf } from '../helpers/orders';
import { startSagaWorld, stopSagaWorld, type SagaWorld } from '../helpers/saga-world';

// Data PostgreSQL refuses (here a NUL in a text value, SQLSTATE class 22) fails the step at
// its first attempt as a non-retryable DataRejected: the saga compensates and stops at once
// instead of retrying to the step's deadline. The API refuses such input at the door, so these
// sagas are started on the Temporal client directly.

let world: SagaWorld;

beforeAll(async () => {
  world = await startSagaWorld();
});
afterAll(() => stopSagaWorld(world));

interface ActivityRun {
  activity: string;
  /** The attempt that ended the activity (the started event records the last one). */
  attempt: number;
  failure?: { type: string | null | undefined; nonRetryable: boolean | null | undefined; message: string };
}

/** Every activity of the run, in order, with its final attempt and failure (from the history). */
async function activityRuns(handle: WorkflowHandle): Promise<ActivityRun[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const byScheduled = new Map<string, ActivityRun>();
  const runs: ActivityRun[] = [];
  for (const e of events) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      const run = { activity: e.activityTaskScheduledEventAttributes.activityType!.name!, attempt: 0 };
      byScheduled.set(id, run);
      runs.push(run);
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) byScheduled.get(String(started.scheduledEventId))!.attempt = started.attempt ?? 1;
    const failed = e.activityTaskFailedEventAttributes;
    if (failed) {
      byScheduled.get(String(failed.scheduledEventId))!.failure = {
        type: failed.failure?.applicationFailureInfo?.type,
        nonRetryable: failed.failure?.applicationFailureInfo?.nonRetryable,
        message: failed.failure?.message ?? '',
      };
    }
  }
  return runs;
}

const rejectedAtOnce = (sqlstate: string) => ({
  attempt: 1,
  failure: { type: DATA_REJECTED, nonRetryable: true, message: expect.stringContaining(`SQLSTATE ${sqlstate}`) },
});

describe('data PostgreSQL refuses fails the step at once', () => {
  it('an activity called directly throws a non-retryable DataRejected naming the SQLSTATE', async () => {
    const { createOrder } = createActivities(simulatedActivityDeps(world.db.pool));
    const orderId = randomUUID();
    const input = {
      commandId: `order-${orderId}/create-order`,
      orderId,
      customerId: 'a\u0000b',
      items: [{ sku: 'SKU-0001', quantity: 1 }],
      shippingAddress: ADDRESS,
      causationId: 'request-1',
    };
    const err = await runWithCorrelation({ correlationId: 'corr-nul' }, () => createOrder(input)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: DATA_REJECTED, nonRetryable: true });
    expect((err as ApplicationFailure).message).toMatch(/SQLSTATE 22021 character_not_in_repertoire/);
    expect((err as ApplicationFailure).details).toEqual([
      expect.objectContaining({ sqlstate: '22021', condition: 'character_not_in_repertoire' }),
    ]);
    // The failure carries no personal data (the row's values in `detail` are left out).
    expect(JSON.stringify((err as ApplicationFailure).details)).not.toContain('a\\u0000b');
    // Nothing of the command was written.
    expect(await readStream(world.db.pool, `order-${orderId}`)).toEqual([]);
  });

  it('a NUL in the shipping address: createOrder fails at attempt 1 and the saga ends with order.placement_failed', async () => {
    const input = orderInput({ shippingAddress: { ...ADDRESS, line1: 'Main St\u0000 1' } });
    const handle = await startOrder(world.temporal.client, world.temporal.taskQueue, input);
    expect(await handle.result()).toEqual({
      orderId: input.orderId,
      status: 'CANCELLED',
      reason: DATA_REJECTED,
      failedStep: 'createOrder',
    });
    const runs = await activityRuns(handle);
    expect(runs.map((r) => r.activity)).toEqual(['createOrder', 'cancelOrder']);
    // jsonb refuses \u0000: the order.created payload cannot be stored.
    expect(runs[0]).toMatchObject(rejectedAtOnce('22P05'));
    expect(runs[1]).toMatchObject({ attempt: 1 });
    expect(runs[1]!.failure).toBeUndefined();
    expect(await eventTypes(world.db.pool, input.orderId)).toEqual(['order.placement_failed']);
  });

  it('a NUL in the payment token: authorizePayment fails at attempt 1, the stock is released and the order cancelled', async () => {
    const stockBefore = await stockOf(world.db.pool, 'SKU-0001');
    const input = orderInput({ paymentToken: 'tok\u0000visa' });
    const handle = await startOrder(world.temporal.client, world.temporal.taskQueue, input);
    expect(await handle.result()).toEqual({
      orderId: input.orderId,
      status: 'CANCELLED',
      reason: DATA_REJECTED,
      failedStep: 'authorizePayment',
    });
    const runs = await activityRuns(handle);
    expect(runs.map((r) => r.activity)).toEqual([
      'createOrder',
      'reserveInventory',
      'authorizePayment',
      // Registered before the step, so it runs (and finds nothing to void).
      'voidPayment',
      'releaseInventory',
      'cancelOrder',
    ]);
    expect(runs[2]).toMatchObject(rejectedAtOnce('22021'));
    expect(await eventTypes(world.db.pool, input.orderId)).toEqual([
      'order.created',
      'inventory.reserved',
      'inventory.released',
      'order.cancelled',
    ]);
    expect(await stockOf(world.db.pool, 'SKU-0001')).toBe(stockBefore);
  });

  it('a NUL in the customer id: createOrder fails at attempt 1; the stop cannot record it either, so the run fails at once', async () => {
    // order.placement_failed names the customer, which no column or jsonb value can hold: the
    // stop is refused the same way, and the run fails with DataRejected instead of retrying.
    const input = orderInput({ customerId: 'a\u0000b' });
    const handle = await startOrder(world.temporal.client, world.temporal.taskQueue, input);
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ActivityFailure);
    expect((cause as ActivityFailure).activityType).toBe('cancelOrder');
    expect((cause as ActivityFailure).cause).toMatchObject({ type: DATA_REJECTED, nonRetryable: true });
    const runs = await activityRuns(handle);
    expect(runs.map((r) => r.activity)).toEqual(['createOrder', 'cancelOrder']);
    expect(runs[0]).toMatchObject(rejectedAtOnce('22021'));
    expect(runs[1]).toMatchObject(rejectedAtOnce('22P05'));
    expect(await eventTypes(world.db.pool, input.orderId)).toEqual([]);
  });
});
