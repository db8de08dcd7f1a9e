import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { createActivities, type ActivityDeps } from '../../src/activities';
import { buildApp } from '../../src/api/app';
import { processDelivery, readEvent } from '../../src/delivery/deliver';
import { AddressRefusedError } from '../../src/domain/errors';
import { runWithCorrelation } from '../../src/correlation/context';
import { positionOf, START_OF_LOG } from '../../src/delivery/contract';
import { readCommitted, untilCommittedReadable } from '../../src/delivery/reader';
import { orderSummaryProjector, ORDER_SUMMARY_TABLE, projectInto } from '../../src/consumers/order-summary';
import { rebuildOrderSummary } from '../../src/consumers/rebuild';
import { simulatedActivityDeps } from '../../src/processes/activity-deps';
import { seedCatalog } from '../../src/store/catalog';
import { readStream } from '../../src/store/event-store';
import { withTransaction } from '../../src/store/pool';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { ADDRESS } from '../helpers/orders';

// The order-returns activities against the real PostgreSQL, without Temporal: a confirmed
// order is placed by calling the order activities in saga order, then returned.

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await seedCatalog(db.pool);
});
afterAll(async () => {
  await db?.drop();
});

// Activities run inside the correlation their workflow sends as headers; here, set directly.
const correlated = <T>(fn: () => Promise<T>) => runWithCorrelation({ correlationId: 'corr-returns' }, fn);

/** The simulated gateway and carrier, with every call to them recorded. */
function recordingDeps(overrides: Partial<Pick<ActivityDeps, 'carrier'>> = {}) {
  const base = simulatedActivityDeps(db.pool);
  const calls = { refund: [] as string[], schedule: [] as string[], cancel: [] as string[] };
  const carrier = overrides.carrier ?? base.carrier;
  const deps: ActivityDeps = {
    pool: db.pool,
    paymentGateway: {
      ...base.paymentGateway,
      refund: async (authorizationId) => {
        calls.refund.push(authorizationId);
        return base.paymentGateway.refund(authorizationId);
      },
    },
    carrier: {
      schedule: async (request) => {
        calls.schedule.push(request.idempotencyKey);
        return carrier.schedule(request);
      },
      cancel: async (trackingId) => {
        calls.cancel.push(trackingId);
        return carrier.cancel(trackingId);
      },
    },
  };
  return { activities: createActivities(deps), calls, gateway: base.paymentGateway };
}

type Acts = ReturnType<typeof createActivities>;

const LINES = [
  { sku: 'SKU-0002', quantity: 3 },
  { sku: 'SKU-0001', quantity: 2 },
];

/** Places an order through the order activities (not recorded); `confirm: false` stops it before confirmation. */
async function placeOrder({
  customerId = 'cust-r',
  confirm = true,
}: { customerId?: string; confirm?: boolean } = {}): Promise<{
  orderId: string;
  authorizationId: string;
  totalCents: number;
}> {
  const a = createActivities(simulatedActivityDeps(db.pool));
  const orderId = randomUUID();
  const step = (name: string) => ({ commandId: `order-${orderId}/${name}`, orderId, causationId: 'request-1' });
  return correlated(async () => {
    await a.createOrder({ ...step('createOrder'), customerId, items: LINES, shippingAddress: ADDRESS });
    const { totalCents } = await a.reserveInventory(step('reserveInventory'));
    const { authorizationId } = await a.authorizePayment({ ...step('authorizePayment'), paymentToken: 'tok_visa' });
    if (confirm) {
      await a.scheduleShipment(step('scheduleShipment'));
      await a.capturePayment(step('capturePayment'));
      await a.confirmOrder(step('confirmOrder'));
    }
    return { orderId, authorizationId, totalCents };
  });
}

/** The input of a return step, with the saga's command id layout. */
const ret = (returnId: string, name: string, causationId = 'request-2') => ({
  commandId: `return-${returnId}/${name}`,
  returnId,
  causationId,
});

const stockOf = async (sku: string) =>
  (await db.pool.query<{ stock: number }>('SELECT stock FROM products WHERE sku = $1', [sku])).rows[0]!.stock;
const stocks = async () => Object.fromEntries(await Promise.all(LINES.map(async (l) => [l.sku, await stockOf(l.sku)])));
const returnEvents = async (returnId: string) => readStream(db.pool, `return-${returnId}`);
const returnRow = async (returnId: string) =>
  (
    await db.pool.query<{ status: string; tracking_id: string | null; refunded_cents: number; amount_cents: number }>(
      'SELECT status, tracking_id, refunded_cents, amount_cents FROM returns WHERE return_id = $1',
      [returnId],
    )
  ).rows[0];
const processed = async (commandId: string) =>
  (await db.pool.query('SELECT 1 FROM processed_commands WHERE command_id = $1', [commandId])).rowCount;

/** Runs a return all the way to completion. */
async function completeReturn(a: Acts, orderId: string, returnId = randomUUID()) {
  await correlated(async () => {
    await a.openReturn({ ...ret(returnId, 'openReturn'), orderId, customerId: 'cust-r', reason: 'too small' });
    await a.schedulePickup(ret(returnId, 'schedulePickup'));
    await a.receiveGoods({ ...ret(returnId, 'receiveGoods'), receivedBy: 'warehouse-1' });
    await a.refundReturn(ret(returnId, 'refundReturn'));
    await a.restockReturn(ret(returnId, 'restockReturn'));
    await a.completeReturn(ret(returnId, 'completeReturn'));
  });
  return returnId;
}

describe('return activities on the real PostgreSQL', () => {
  it('the happy sequence: events in order, the whole order refunded at the gateway and put back in stock', async () => {
    const { activities: a, calls, gateway } = recordingDeps();
    const before = await stocks();
    const { orderId, authorizationId, totalCents } = await placeOrder();
    const afterOrder = await stocks();
    expect(afterOrder).toEqual({ 'SKU-0001': before['SKU-0001']! - 2, 'SKU-0002': before['SKU-0002']! - 3 });

    const returnId = randomUUID();
    const results = await correlated(async () => {
      const opened = await a.openReturn({
        ...ret(returnId, 'openReturn'),
        orderId,
        customerId: 'cust-r',
        reason: 'too small',
      });
      const pickup = await a.schedulePickup(ret(returnId, 'schedulePickup', opened.lastEventId!));
      expect(await returnRow(returnId)).toMatchObject({ status: 'PICKUP_SCHEDULED', tracking_id: pickup.trackingId });
      const received = await a.receiveGoods({ ...ret(returnId, 'receiveGoods'), receivedBy: 'warehouse-1' });
      expect(await stocks()).toEqual(afterOrder); // nothing restocked before the refund and restock
      const refunded = await a.refundReturn(ret(returnId, 'refundReturn'));
      const restocked = await a.restockReturn(ret(returnId, 'restockReturn'));
      const completed = await a.completeReturn(ret(returnId, 'completeReturn'));
      return { opened, pickup, received, refunded, restocked, completed };
    });

    expect(results.opened).toEqual({ amountCents: totalCents, lastEventId: expect.any(String) });
    expect(results.pickup).toEqual({ trackingId: expect.stringMatching(/^TRK-/), lastEventId: expect.any(String) });
    expect(results.refunded).toEqual({ amountCents: totalCents, lastEventId: expect.any(String) });
    for (const r of Object.values(results)) expect(r.lastEventId).toEqual(expect.any(String));

    const events = await returnEvents(returnId);
    expect(events.map((e) => [e.eventType, e.streamVersion])).toEqual([
      ['return.opened', 1],
      ['return.pickup_scheduled', 2],
      ['return.goods_received', 3],
      ['return.refunded', 4],
      ['return.restocked', 5],
      ['return.completed', 6],
    ]);
    // Each activity's result names its event; each event names its command and the correlation.
    expect(events.map((e) => e.eventId)).toEqual(Object.values(results).map((r) => r.lastEventId));
    for (const e of events) {
      expect(e.metadata).toMatchObject({
        correlationId: 'corr-returns',
        causationId: expect.stringMatching(`^return-${returnId}/`),
      });
      expect(e.payload).toMatchObject({ returnId, orderId });
    }
    const lines = [
      { sku: 'SKU-0001', quantity: 2, unitPriceCents: 999 },
      { sku: 'SKU-0002', quantity: 3, unitPriceCents: 1999 },
    ];
    expect(events[0]!.payload).toEqual({
      returnId,
      orderId,
      customerId: 'cust-r',
      reason: 'too small',
      lines,
      amountCents: totalCents,
      currency: 'USD',
    });
    expect(events[2]!.payload).toEqual({ returnId, orderId, receivedBy: 'warehouse-1' });
    expect(events[3]!.payload).toEqual({ returnId, orderId, authorizationId, amountCents: totalCents });
    expect(events[4]!.payload).toEqual({ returnId, orderId, lines });

    // The outside world: one pickup booked, the order's authorization refunded once (nothing left to refund).
    expect(calls.schedule).toEqual([`return-${returnId}/schedulePickup`]);
    expect(calls.refund).toEqual([authorizationId]);
    expect(await gateway.refund(authorizationId)).toEqual({ refunded: false });
    // Domain tables, in the same transactions as the events.
    expect(await stocks()).toEqual(before);
    expect(await returnRow(returnId)).toMatchObject({
      status: 'COMPLETED',
      refunded_cents: totalCents,
      amount_cents: totalCents,
    });
    const payment = await db.pool.query('SELECT status FROM payments WHERE order_id = $1', [orderId]);
    expect(payment.rows[0]).toEqual({ status: 'REFUNDED' });
  });

  it('applies every activity once: repeating it with the same commandId returns the first result and writes nothing', async () => {
    const { activities: a, calls } = recordingDeps();
    const { orderId, authorizationId } = await placeOrder();
    const returnId = randomUUID();
    const open = { ...ret(returnId, 'openReturn'), orderId, customerId: 'cust-r', reason: 'too small' };
    const steps: [string, () => Promise<unknown>][] = [
      ['openReturn', () => a.openReturn(open)],
      ['schedulePickup', () => a.schedulePickup(ret(returnId, 'schedulePickup'))],
      ['receiveGoods', () => a.receiveGoods({ ...ret(returnId, 'receiveGoods'), receivedBy: null })],
      ['refundReturn', () => a.refundReturn(ret(returnId, 'refundReturn'))],
      ['restockReturn', () => a.restockReturn(ret(returnId, 'restockReturn'))],
      ['completeReturn', () => a.completeReturn(ret(returnId, 'completeReturn'))],
    ];
    let stockBefore: Record<string, number> = {};
    for (const [name, run] of steps) {
      if (name === 'restockReturn') stockBefore = await stocks();
      // A concurrent duplicate waits for the first attempt, then gets its result; a later retry too.
      const [first, racing] = await correlated(() => Promise.all([run(), run()]));
      const retried = await correlated(run);
      expect({ name, racing, retried }).toEqual({ name, racing: first, retried: first });
    }
    expect((await returnEvents(returnId)).map((e) => e.eventType)).toEqual([
      'return.opened',
      'return.pickup_scheduled',
      'return.goods_received',
      'return.refunded',
      'return.restocked',
      'return.completed',
    ]);
    // Stock went back once; the refund was recorded once (a racing attempt may reach the
    // gateway, which refunds an authorization at most once).
    expect(await stocks()).toEqual({
      'SKU-0001': stockBefore['SKU-0001']! + 2,
      'SKU-0002': stockBefore['SKU-0002']! + 3,
    });
    expect(new Set(calls.refund)).toEqual(new Set([authorizationId]));
    expect(new Set(calls.schedule)).toEqual(new Set([`return-${returnId}/schedulePickup`]));
    expect(
      (await db.pool.query('SELECT count(*)::int AS n FROM returns WHERE order_id = $1', [orderId])).rows[0],
    ).toEqual({ n: 1 });

    // The compensations too: cancelling a pickup and the return twice with one command id each.
    const { orderId: other } = await placeOrder();
    const second = randomUUID();
    await correlated(async () => {
      await a.openReturn({ ...ret(second, 'openReturn'), orderId: other, customerId: 'cust-r', reason: 'x' });
      await a.schedulePickup(ret(second, 'schedulePickup'));
      const cancelled = await Promise.all([
        a.cancelPickup(ret(second, 'cancelPickup')),
        a.cancelPickup(ret(second, 'cancelPickup')),
      ]);
      expect(cancelled[1]).toEqual(cancelled[0]);
      expect(await a.cancelPickup(ret(second, 'cancelPickup'))).toEqual(cancelled[0]);
      expect(cancelled[0]).toMatchObject({ cancelled: true });
      const input = {
        ...ret(second, 'cancelReturn'),
        reason: 'changed my mind',
        failedStep: null,
        requestedBy: 'cust-r',
      };
      const ended = await a.cancelReturn(input);
      expect(await a.cancelReturn(input)).toEqual(ended);
      expect(ended).toMatchObject({ cancelled: true });
    });
    expect((await returnEvents(second)).map((e) => e.eventType)).toEqual([
      'return.opened',
      'return.pickup_scheduled',
      'return.pickup_cancelled',
      'return.cancelled',
    ]);
  });

  describe('refusals are non-retryable business failures that write nothing', () => {
    const refusedWith = (type: string, rule?: string) =>
      expect.objectContaining({
        type,
        nonRetryable: true,
        ...(rule ? { details: [expect.objectContaining({ rule })] } : {}),
      });

    it('opening a return for an order that is missing, not confirmed or someone else’s', async () => {
      const { activities: a } = recordingDeps();
      const pending = await placeOrder({ confirm: false });
      const confirmed = await placeOrder();
      const cases: [string, { orderId: string; customerId: string }][] = [
        ['ORDER_NOT_FOUND', { orderId: randomUUID(), customerId: 'cust-r' }],
        ['ORDER_NOT_CONFIRMED', { orderId: pending.orderId, customerId: 'cust-r' }],
        ['NOT_YOUR_ORDER', { orderId: confirmed.orderId, customerId: 'cust-other' }],
      ];
      for (const [rule, order] of cases) {
        const returnId = randomUUID();
        const input = { ...ret(returnId, 'openReturn'), ...order, reason: 'x' };
        await expect(correlated(() => a.openReturn(input))).rejects.toEqual(refusedWith('ReturnNotAllowed', rule));
        expect(await returnEvents(returnId)).toEqual([]);
        expect(await returnRow(returnId)).toBeUndefined();
        expect(await processed(input.commandId)).toBe(0);
      }
    });

    it('a second return while one is open or completed; a new one once the last was cancelled', async () => {
      const { activities: a } = recordingDeps();
      const { orderId } = await placeOrder();
      const open = (returnId: string) =>
        correlated(() => a.openReturn({ ...ret(returnId, 'openReturn'), orderId, customerId: 'cust-r', reason: 'x' }));

      // Two at once: the partial unique index lets exactly one through.
      const racing = await Promise.allSettled([open(randomUUID()), open(randomUUID())]);
      expect(racing.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect((racing.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toEqual(
        refusedWith('ReturnNotAllowed', 'RETURN_EXISTS'),
      );
      const [{ return_id: first }] = (
        await db.pool.query<{ return_id: string }>('SELECT return_id FROM returns WHERE order_id = $1', [orderId])
      ).rows as [{ return_id: string }];
      await expect(open(randomUUID())).rejects.toEqual(refusedWith('ReturnNotAllowed', 'RETURN_EXISTS'));

      // Cancelled: the order may be returned again; completed: not any more.
      await correlated(() =>
        a.cancelReturn({
          ...ret(first, 'cancelReturn'),
          reason: 'changed my mind',
          failedStep: null,
          requestedBy: null,
        }),
      );
      const next = await completeReturn(a, orderId);
      expect((await returnRow(next))?.status).toBe('COMPLETED');
      await expect(open(randomUUID())).rejects.toEqual(refusedWith('ReturnNotAllowed', 'RETURN_EXISTS'));
    });

    it('steps out of order: nothing is called outside and nothing is written', async () => {
      const { activities: a, calls } = recordingDeps();
      const { orderId } = await placeOrder();
      const returnId = randomUUID();
      await correlated(() =>
        a.openReturn({ ...ret(returnId, 'openReturn'), orderId, customerId: 'cust-r', reason: 'x' }),
      );
      const outOfOrder: [string, () => Promise<unknown>][] = [
        ['receiveGoods', () => a.receiveGoods({ ...ret(returnId, 'receiveGoods'), receivedBy: null })],
        ['refundReturn', () => a.refundReturn(ret(returnId, 'refundReturn'))],
        ['restockReturn', () => a.restockReturn(ret(returnId, 'restockReturn'))],
        ['completeReturn', () => a.completeReturn(ret(returnId, 'completeReturn'))],
      ];
      for (const [name, run] of outOfOrder) {
        await expect(correlated(run)).rejects.toEqual(refusedWith('InvalidTransition'));
        expect({ name, processed: await processed(`return-${returnId}/${name}`) }).toEqual({ name, processed: 0 });
      }
      // An unknown return: nothing to schedule a pickup for.
      await expect(correlated(() => a.schedulePickup(ret(randomUUID(), 'schedulePickup')))).rejects.toEqual(
        refusedWith('InvalidTransition'),
      );
      expect(calls).toEqual({ refund: [], schedule: [], cancel: [] });
      expect((await returnEvents(returnId)).map((e) => e.eventType)).toEqual(['return.opened']);

      // Once the goods are received the return only goes forward: no cancel, no pickup cancel.
      await correlated(async () => {
        await a.schedulePickup(ret(returnId, 'schedulePickup'));
        await a.receiveGoods({ ...ret(returnId, 'receiveGoods'), receivedBy: null });
      });
      await expect(correlated(() => a.cancelPickup(ret(returnId, 'cancelPickup')))).rejects.toEqual(
        refusedWith('InvalidTransition'),
      );
      await expect(
        correlated(() =>
          a.cancelReturn({ ...ret(returnId, 'cancelReturn'), reason: 'x', failedStep: null, requestedBy: null }),
        ),
      ).rejects.toEqual(refusedWith('InvalidTransition'));
      expect(calls.cancel).toEqual([]);
      expect((await returnRow(returnId))?.status).toBe('GOODS_RECEIVED');
    });

    it('refuses to run without a correlation id', async () => {
      const { activities: a } = recordingDeps();
      await expect(
        a.openReturn({ ...ret(randomUUID(), 'openReturn'), orderId: randomUUID(), customerId: 'c', reason: 'x' }),
      ).rejects.toThrow(/no correlation id/);
    });
  });

  describe('cancelling', () => {
    it('after the pickup: the pickup is cancelled at the carrier first, then the return; the order can be returned again', async () => {
      const { activities: a, calls } = recordingDeps();
      const { orderId } = await placeOrder();
      const returnId = randomUUID();
      const cancel = (name: string) => ({
        ...ret(returnId, name),
        reason: 'changed my mind',
        failedStep: null,
        requestedBy: 'cust-r',
      });
      const { trackingId } = await correlated(async () => {
        await a.openReturn({ ...ret(returnId, 'openReturn'), orderId, customerId: 'cust-r', reason: 'x' });
        return a.schedulePickup(ret(returnId, 'schedulePickup'));
      });
      // The return's last word waits for its compensation.
      await expect(correlated(() => a.cancelReturn(cancel('cancelReturn-early')))).rejects.toEqual(
        expect.objectContaining({
          type: 'InvalidTransition',
          message: expect.stringMatching(/pickup is still scheduled/),
        }),
      );
      const undone = await correlated(() => a.cancelPickup(ret(returnId, 'cancelPickup')));
      expect(undone).toEqual({ cancelled: true, lastEventId: expect.any(String) });
      expect(calls.cancel).toEqual([trackingId]);
      expect((await returnRow(returnId))?.status).toBe('OPENED');
      // A second compensation run (another command id) finds nothing to undo and calls nobody.
      expect(await correlated(() => a.cancelPickup(ret(returnId, 'cancelPickup-again')))).toEqual({
        cancelled: false,
        lastEventId: null,
      });
      expect(calls.cancel).toEqual([trackingId]);

      const ended = await correlated(() => a.cancelReturn(cancel('cancelReturn')));
      expect(ended).toEqual({ cancelled: true, lastEventId: expect.any(String) });
      expect(await correlated(() => a.cancelReturn(cancel('cancelReturn-again')))).toEqual({
        cancelled: false,
        lastEventId: null,
      });
      const events = await returnEvents(returnId);
      expect(events.map((e) => e.eventType)).toEqual([
        'return.opened',
        'return.pickup_scheduled',
        'return.pickup_cancelled',
        'return.cancelled',
      ]);
      expect(events[2]!.payload).toEqual({ returnId, orderId, trackingId });
      expect(events[3]!.payload).toEqual({
        returnId,
        orderId,
        reason: 'changed my mind',
        failedStep: null,
        requestedBy: 'cust-r',
      });
      expect((await returnRow(returnId))?.status).toBe('CANCELLED');
      await completeReturn(a, orderId);
    });

    it('when the carrier refuses the pickup: a non-retryable failure, nothing to undo, the return cancelled', async () => {
      const refusing = {
        schedule: async () => {
          throw new AddressRefusedError('The carrier does not collect there', { postalCode: '10115' });
        },
        cancel: async () => undefined,
      };
      const { activities: a, calls } = recordingDeps({ carrier: refusing });
      const { orderId } = await placeOrder();
      const returnId = randomUUID();
      await correlated(() =>
        a.openReturn({ ...ret(returnId, 'openReturn'), orderId, customerId: 'cust-r', reason: 'x' }),
      );
      await expect(correlated(() => a.schedulePickup(ret(returnId, 'schedulePickup')))).rejects.toEqual(
        expect.objectContaining({ type: 'AddressRefused', nonRetryable: true }),
      );
      expect(await processed(`return-${returnId}/schedulePickup`)).toBe(0);
      // The saga's compensations: the pickup (registered before its step ran), then the return.
      expect(await correlated(() => a.cancelPickup(ret(returnId, 'cancelPickup')))).toEqual({
        cancelled: false,
        lastEventId: null,
      });
      expect(calls.cancel).toEqual([]);
      const ended = await correlated(() =>
        a.cancelReturn({
          ...ret(returnId, 'cancelReturn'),
          reason: 'AddressRefused',
          failedStep: 'schedulePickup',
          requestedBy: null,
        }),
      );
      expect(ended.cancelled).toBe(true);
      expect((await returnEvents(returnId)).map((e) => e.eventType)).toEqual(['return.opened', 'return.cancelled']);
    });
  });

  describe('the order-summary read model', () => {
    /** Delivers the whole log to the projector, as the Postgres-native transport would. */
    async function project(): Promise<Record<string, number>> {
      const outcomes: Record<string, number> = {};
      // A transaction open elsewhere on the server would hold the latest events back from the reader.
      await untilCommittedReadable(db.pool);
      let position = START_OF_LOG;
      for (;;) {
        const batch = await readCommitted(db.pool, position, 200);
        if (batch.length === 0) return outcomes;
        for (const event of batch) {
          const outcome = await processDelivery(db.pool, orderSummaryProjector, 0, { kind: 'event', event });
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        }
        position = positionOf(batch.at(-1)!);
      }
    }

    async function snapshot(): Promise<unknown[]> {
      const { rows } = await db.pool.query(
        `SELECT order_id, customer_id, status, saga_phase, state, timeline, last_event_id, last_stream_version,
           last_position, last_event_at, created_at, return_id, return_status, return_state, return_stream_version,
           return_opened_position
         FROM ${ORDER_SUMMARY_TABLE} ORDER BY order_id`,
      );
      return rows;
    }

    let app: FastifyInstance;
    beforeAll(() => {
      // GET /orders/:id reads the read model only: no Temporal needed behind it.
      app = buildApp({
        pool: db.pool,
        temporal: {} as Client,
        taskQueue: 'unused',
        orders: { approvalThresholdCents: 100_000, approvalTimeout: '1 hour' },
      });
    });
    afterAll(async () => app?.close());

    const getOrder = async (orderId: string) => {
      const res = await app.inject({ url: `/orders/${orderId}` });
      expect(res.statusCode).toBe(200);
      return res.json<Record<string, unknown> & { timeline: Record<string, unknown>[] }>();
    };

    it("shows each order's latest return, and a rebuild equals the incremental table", async () => {
      const { activities: a } = recordingDeps();
      const plain = await placeOrder();
      const returned = await placeOrder();
      const returnId = await completeReturn(a, returned.orderId);
      const again = await placeOrder();
      const cancelledReturn = randomUUID();
      const current = randomUUID();
      await correlated(async () => {
        await a.openReturn({
          ...ret(cancelledReturn, 'openReturn'),
          orderId: again.orderId,
          customerId: 'cust-r',
          reason: 'x',
        });
        await a.cancelReturn({
          ...ret(cancelledReturn, 'cancelReturn'),
          reason: 'no',
          failedStep: null,
          requestedBy: 'ops',
        });
        await a.openReturn({
          ...ret(current, 'openReturn'),
          orderId: again.orderId,
          customerId: 'cust-r',
          reason: 'y',
        });
        await a.schedulePickup(ret(current, 'schedulePickup'));
      });

      const outcomes = await project();
      expect(outcomes.dead_lettered ?? 0).toBe(0);
      expect(outcomes.handled).toBeGreaterThan(0);

      // An order without a return: all null.
      expect(await getOrder(plain.orderId)).toMatchObject({
        status: 'CONFIRMED',
        returnId: null,
        returnStatus: null,
        refundedCents: null,
      });
      // A completed return: refunded in full, its events in the timeline after the order's.
      const completed = await getOrder(returned.orderId);
      expect(completed).toMatchObject({
        status: 'CONFIRMED',
        sagaPhase: 'COMPLETED',
        version: 6,
        returnId,
        returnStatus: 'COMPLETED',
        refundedCents: returned.totalCents,
        freshness: { streamVersion: 6 },
      });
      expect(completed.timeline.slice(6)).toEqual(
        [
          'return.opened',
          'return.pickup_scheduled',
          'return.goods_received',
          'return.refunded',
          'return.restocked',
          'return.completed',
        ].map((type, i) => ({ type, version: i + 1, at: expect.any(String), returnId })),
      );
      expect(completed.timeline.slice(0, 6).every((t) => !('returnId' in t))).toBe(true);
      // A cancelled return, then a new one: the order shows the new one; the timeline both.
      const reopened = await getOrder(again.orderId);
      expect(reopened).toMatchObject({ returnId: current, returnStatus: 'PICKUP_SCHEDULED', refundedCents: 0 });
      expect(reopened.timeline.slice(6).map((t) => [t.type, t.returnId])).toEqual([
        ['return.opened', cancelledReturn],
        ['return.cancelled', cancelledReturn],
        ['return.opened', current],
        ['return.pickup_scheduled', current],
      ]);

      // Delivered again: the inbox drops every event; applied again without it: nothing changes.
      const incremental = await snapshot();
      expect(Object.keys(await project())).toEqual(['duplicate']);
      const log = await readCommitted(db.pool, START_OF_LOG, 100_000);
      await withTransaction(db.pool, async (tx) => {
        for (const raw of log) await projectInto(tx, ORDER_SUMMARY_TABLE, readEvent(raw));
      });
      expect(await snapshot()).toEqual(incremental);

      // The rebuild from the log alone equals the incremental table, returns included.
      await db.pool.query(
        `UPDATE ${ORDER_SUMMARY_TABLE} SET return_status = 'BOGUS', return_state = NULL WHERE order_id = $1`,
        [returned.orderId],
      );
      const rebuilt = await rebuildOrderSummary(db.pool, { batchSize: 5 });
      expect(rebuilt.unreadable).toBe(0);
      expect(await snapshot()).toEqual(incremental);
    });
  });
});
