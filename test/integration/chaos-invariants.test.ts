import { randomUUID } from 'node:crypto';
import * as invariants from '../../chaos/invariants';
import { AdvisoryLock } from '../../src/delivery/leader-lock';
import { seedCatalog } from '../../src/store/catalog';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { openDeadLetter } from '../helpers/delivery';
import { untilCommittedReadable } from '../../src/delivery/reader';

// The chaos suite's invariants are only worth their green if each can turn red: every check
// runs here on a hand-made database, first clean, then with the defect it exists to catch.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await seedCatalog(db.pool);
});
afterAll(async () => db.drop());

let version = new Map<string, number>();
async function append(orderId: string, eventType: string, payload: Record<string, unknown> = {}) {
  const stream = `order-${orderId}`;
  const v = (version.get(stream) ?? 0) + 1;
  version.set(stream, v);
  const { rows } = await db.pool.query<{ event_id: string }>(
    `INSERT INTO events (event_id, stream_id, stream_version, event_type, payload)
     VALUES ($1, $2, $3, $4, $5) RETURNING event_id`,
    [randomUUID(), stream, v, eventType, { orderId, ...payload }],
  );
  return rows[0]!.event_id;
}
const failing = (results: invariants.InvariantResult[]) => results.filter((r) => !r.ok).map((r) => r.name);

beforeEach(async () => {
  version = new Map();
  await db.pool.query('TRUNCATE events, inbox, customer_notifications, dead_letters CASCADE');
});

test('one terminal event per order, no event type twice', async () => {
  const order = { orderId: randomUUID(), kind: 'happy' as const };
  await append(order.orderId, 'order.created');
  await append(order.orderId, 'order.confirmed');
  expect(failing(await invariants.eventsPerOrder(db.pool, [order]))).toEqual([]);

  await append(order.orderId, 'order.confirmed');
  expect(failing(await invariants.eventsPerOrder(db.pool, [order]))).toEqual([
    'exactly one terminal event per order',
    'no event type twice in an order stream',
  ]);
});

test('an order never created ends with order.placement_failed: its one terminal event', async () => {
  const order = { orderId: randomUUID(), kind: 'happy' as const };
  await append(order.orderId, 'order.placement_failed', { reason: 'step_deadline_exceeded' });
  expect(failing(await invariants.eventsPerOrder(db.pool, [order]))).toEqual([]);

  await append(order.orderId, 'order.cancelled', { reason: 'step_deadline_exceeded' });
  expect(failing(await invariants.eventsPerOrder(db.pool, [order]))).toEqual(['exactly one terminal event per order']);
});

test('outcomes: a saga missing from the read model, or cancelled for another reason, fails', async () => {
  const declined = { orderId: randomUUID(), kind: 'declined' as const };
  expect((await invariants.outcomes(db.pool, [declined])).ok).toBe(false);
  await db.pool.query(
    `INSERT INTO order_summary (order_id, customer_id, status, saga_phase, state, timeline, last_event_id,
       last_stream_version, last_position, last_event_at, created_at)
     VALUES ($1, 'c', 'CANCELLED', 'COMPENSATED', '{}', '[]', $2, 1, 1, now(), now())`,
    [declined.orderId, randomUUID()],
  );
  await append(declined.orderId, 'order.cancelled', { reason: 'OutOfStock' });
  const wrongReason = await invariants.outcomes(db.pool, [declined]);
  expect([wrongReason.ok, wrongReason.detail]).toEqual([false, expect.stringContaining('not PaymentDeclined')]);
  await db.pool.query('TRUNCATE events');
  await append(declined.orderId, 'order.cancelled', { reason: 'PaymentDeclined' });
  expect((await invariants.outcomes(db.pool, [declined])).ok).toBe(true);
});

test('effects: a second authorization, a capture of a cancelled order, or stock drift fails', async () => {
  const happy = { orderId: randomUUID(), kind: 'happy' as const };
  const stockBefore = await invariants.stockLevels(db.pool);
  const authorize = (key: string, status: string) =>
    db.pool.query(
      `INSERT INTO simulators.gateway_authorizations (authorization_id, idempotency_key, token, amount_cents, status)
       VALUES ($1, $2, 'tok_visa', 100, $3)`,
      [randomUUID(), `order-${happy.orderId}/${key}`, status],
    );
  await authorize('authorize-payment', 'CAPTURED');
  expect(failing(await invariants.effects(db.pool, [happy], stockBefore))).toEqual([]);

  await authorize('authorize-payment-again', 'AUTHORIZED');
  await db.pool.query(`UPDATE products SET stock = stock - 1 WHERE sku = 'SKU-0001'`);
  expect(failing(await invariants.effects(db.pool, [happy], stockBefore))).toEqual([
    "no payment doubled in the simulator's books",
    'stock moved by exactly what confirmed orders hold',
  ]);
});

test('delivery: an event no consumer handled, or a notification sent twice, fails', async () => {
  const orderId = randomUUID();
  await db.pool.query(`INSERT INTO orders (order_id, customer_id) VALUES ($1, 'c')`, [orderId]);
  const confirmed = await append(orderId, 'order.confirmed');
  expect(failing(await invariants.delivery(db.pool))).toEqual([
    'every event delivered to every consumer',
    'each notification sent once',
  ]);
  for (const consumer of ['order-summary', 'notifier']) {
    await db.pool.query('INSERT INTO inbox (consumer, event_id) VALUES ($1, $2)', [consumer, confirmed]);
  }
  const notify = (eventId: string) =>
    db.pool.query(
      `INSERT INTO customer_notifications (event_id, order_id, customer_id, kind, message)
       VALUES ($1, $2, 'c', 'order_confirmed', 'm')`,
      [eventId, orderId],
    );
  await notify(confirmed);
  expect(failing(await invariants.delivery(db.pool))).toEqual([]);
  await notify(randomUUID());
  expect(failing(await invariants.delivery(db.pool))).toEqual(['each notification sent once']);

  // A lost notification and a stray one: equal totals, but each event is checked.
  const cancelled = await append(orderId, 'order.cancelled', { reason: 'r', failedStep: null, requestedBy: null });
  for (const consumer of ['order-summary', 'notifier']) {
    await db.pool.query('INSERT INTO inbox (consumer, event_id) VALUES ($1, $2)', [consumer, cancelled]);
  }
  const { rows } = await db.pool.query<{ events: number; notes: number }>(
    `SELECT (SELECT count(*)::int FROM events WHERE event_type IN ('order.confirmed', 'order.cancelled')) AS events,
            (SELECT count(*)::int FROM customer_notifications) AS notes`,
  );
  expect(rows[0]).toEqual({ events: 2, notes: 2 });
  const [result] = (await invariants.delivery(db.pool)).filter((r) => r.name === 'each notification sent once');
  expect(result).toMatchObject({
    ok: false,
    detail: '2 events: 1 without their notification, 1 notifications for no such event',
  });
});

test('a dead letter fails; the read model must equal its rebuild', async () => {
  expect((await invariants.deadLetters(db.pool)).ok).toBe(true);
  await openDeadLetter(db.pool);
  expect((await invariants.deadLetters(db.pool)).ok).toBe(false);

  // Events the projector never applied: the rebuild has a row the live table lacks.
  await db.pool.query('TRUNCATE order_summary');
  const orderId = randomUUID();
  await db.pool.query(`INSERT INTO orders (order_id, customer_id) VALUES ($1, 'c')`, [orderId]);
  await append(orderId, 'order.created', {
    customerId: 'c',
    items: [{ sku: 'SKU-0001', quantity: 1 }],
    totalCents: 999,
    shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
  });
  await untilCommittedReadable(db.pool); // what the rebuild reads
  expect((await invariants.readModel(db.pool)).ok).toBe(false);
  // After that rebuild, the table is the rebuild: equal.
  expect((await invariants.readModel(db.pool)).ok).toBe(true);
});

test('relays: two holding the leader lock, or an event lost or twice in a deduplicating stream, fails', async () => {
  const orderId = randomUUID();
  const created = await append(orderId, 'order.created');
  const confirmed = await append(orderId, 'order.confirmed');
  const log = (copies: [string, number][], dedupes = true): invariants.BrokerLog => ({
    copies: new Map(copies),
    dedupes,
    source: dedupes ? 'stream SAGA_EVENTS' : 'queue chaos.audit',
  });
  const once = log([
    [created, 1],
    [confirmed, 1],
  ]);

  // The relays' lock as they take it: one active, the other a standby keeping its connection.
  const lock = () => new AdvisoryLock(db.url, 'saga:relay:nats', 'saga-relay', 'saga-relay-standby');
  const [first, second] = [lock(), lock()];
  // A relay locking a key of its own (say, a build that named the lock differently): both active.
  const stray = new AdvisoryLock(db.url, 'saga:relay:nats-other', 'saga-relay', 'saga-relay-standby');
  try {
    expect([await first.tryAcquire(), await second.tryAcquire()]).toEqual([true, false]);
    const sample = await invariants.relayLeadership(db.pool);
    expect(sample).toEqual({ active: 1, standby: 1 });
    expect(await invariants.relays(db.pool, [{ fault: 'postgres', ...sample }], once)).toMatchObject({ ok: true });

    expect(await stray.tryAcquire()).toBe(true);
    const two = await invariants.relayLeadership(db.pool);
    expect(two.active).toBe(2);
    expect(await invariants.relays(db.pool, [{ fault: 'postgres', ...two }], once)).toMatchObject({
      ok: false,
      detail: 'after postgres: 2 relays active',
    });
  } finally {
    for (const l of [first, second, stray]) await l.release();
  }

  const sample = { fault: 'hang-postgres', active: 1, standby: 1 };
  // Published twice where the broker deduplicates (NATS): a defect.
  const twice = log([
    [created, 1],
    [confirmed, 2],
  ]);
  expect(await invariants.relays(db.pool, [sample], twice)).toMatchObject({
    ok: false,
    detail: expect.stringContaining('1 events published twice'),
  });
  // Where it does not (RabbitMQ), a re-published copy is counted; the inboxes absorb it.
  expect(await invariants.relays(db.pool, [sample], log([...twice.copies], false))).toMatchObject({
    ok: true,
    detail: expect.stringContaining('1 re-published copies'),
  });
  // Lost between the publish and the checkpoint, or a message of no event: fails either way.
  expect((await invariants.relays(db.pool, [sample], log([[created, 1]], false))).ok).toBe(false);
  expect((await invariants.relays(db.pool, [sample], log([...once.copies, [randomUUID(), 1]]))).ok).toBe(false);
});
