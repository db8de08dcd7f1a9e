import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { waitFor } from '../../src/util/wait';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../helpers/api-world';
import { testEnv } from '../helpers/env';

let world: ApiWorld;
let app: FastifyInstance;

beforeAll(async () => {
  world = await startApiWorld();
  ({ app } = world);
});
afterAll(async () => stopApiWorld(world));

const placeOrder = (token: string) =>
  app.inject({
    method: 'POST',
    url: '/orders',
    payload: {
      customerId: 'cust-notify',
      items: [{ sku: 'SKU-0001', quantity: 1 }],
      payment: { token },
      shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
    },
  });

test('the notifier tells the customer once: confirmed, or cancelled with the reason', async () => {
  const confirmed = (await placeOrder('tok_visa')).json<{ orderId: string }>();
  const declined = (await placeOrder('tok_chargeDeclined')).json<{ orderId: string }>();
  const notificationsOf = async (orderId: string) =>
    (await app.inject({ url: `/orders/${orderId}/notifications` })).json<{
      notifications: { kind: string; message: string; customerId: string }[];
    }>().notifications;

  const ok = await waitFor(
    async () => ((await notificationsOf(confirmed.orderId)).length ? notificationsOf(confirmed.orderId) : undefined),
    {
      timeoutMs: 60_000,
      description: 'the confirmation notification',
    },
  );
  expect(ok).toEqual([expect.objectContaining({ kind: 'order_confirmed', customerId: 'cust-notify' })]);
  const cancelled = await waitFor(
    async () => ((await notificationsOf(declined.orderId)).length ? notificationsOf(declined.orderId) : undefined),
    { timeoutMs: 60_000, description: 'the cancellation notification' },
  );
  expect(cancelled).toEqual([expect.objectContaining({ kind: 'order_cancelled' })]);
  expect(cancelled[0]!.message).toMatch(/declined/i);
  expect((await app.inject({ url: '/orders/not-a-uuid/notifications' })).statusCode).toBe(400);
});

test('dead letters through the API: list, show, replay that fails again, discard with who acted, bad ids', async () => {
  // A poison row written around the store's validation: an order.confirmed without an orderId.
  const eventId = randomUUID();
  await world.db.pool.query(
    `INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, payload)
     VALUES ($1, $2, 1, 'order.confirmed', 1, '{"orderid": "oops"}')`,
    [eventId, `order-${randomUUID()}`],
  );
  const listed = await waitFor(
    async () => {
      const body = (await app.inject({ url: '/dead-letters?consumer=notifier' })).json<{
        deadLetters: { id: number; eventId: string; reason: string; error: string }[];
      }>();
      return body.deadLetters.find((d) => d.eventId === eventId);
    },
    { timeoutMs: 30_000, description: 'the poison event in dead letters' },
  );
  expect(listed).toMatchObject({ reason: 'invalid_payload', error: expect.stringContaining('orderId') });

  const shown = await app.inject({ url: `/dead-letters/${listed.id}` });
  expect(shown.statusCode).toBe(200);
  expect(shown.json()).toMatchObject({ id: listed.id, status: 'open', event: { eventId } });

  const replay = await app.inject({
    method: 'POST',
    url: `/dead-letters/${listed.id}/replay`,
    headers: { 'x-actor': 'ops-anna' },
  });
  expect(replay.statusCode).toBe(200);
  expect(replay.json()).toMatchObject({ outcome: 'failed', deadLetter: { status: 'open' } });

  const discard = await app.inject({
    method: 'POST',
    url: `/dead-letters/${listed.id}/discard`,
    headers: { 'x-actor': 'ops-anna' },
    payload: { note: 'written by hand, never valid' },
  });
  expect(discard.statusCode).toBe(200);
  expect(discard.json()).toMatchObject({ outcome: 'discarded', deadLetter: { status: 'discarded' } });
  const actions = (await app.inject({ url: `/dead-letters/${listed.id}` })).json<{
    actions: { action: string; actor: string; outcome: string }[];
  }>().actions;
  expect(actions).toEqual([
    expect.objectContaining({ action: 'replay', actor: 'api:ops-anna', outcome: 'failed' }),
    expect.objectContaining({ action: 'discard', actor: 'api:ops-anna', outcome: 'discarded' }),
  ]);

  expect((await app.inject({ method: 'POST', url: `/dead-letters/${listed.id}/discard` })).statusCode).toBe(409);
  expect((await app.inject({ url: '/dead-letters/abc' })).statusCode).toBe(400);
  expect((await app.inject({ url: '/dead-letters/987654321' })).statusCode).toBe(404);
  expect((await app.inject({ url: '/dead-letters?status=bogus' })).json()).toMatchObject({
    fieldErrors: [expect.objectContaining({ field: 'query.status' })],
  });
});

test("another database's consumer of the same name is not counted: every partition stays owned and served", async () => {
  // A second deployment on the same PostgreSQL server: its notifier instance's presence
  // connection, named as ours are, in its own database.
  const elsewhere = new pg.Client({
    connectionString: testEnv('pgAdminUrl'),
    application_name: 'saga-consumer:notifier:elsewhere',
  });
  await elsewhere.connect();
  try {
    // Orders spread over the notifier's four partitions; each is told once the saga is done.
    const orders = await Promise.all(
      Array.from({ length: 8 }, async () => (await placeOrder('tok_visa')).json<{ orderId: string }>().orderId),
    );
    for (const orderId of orders) {
      await waitFor(
        async () =>
          (await app.inject({ url: `/orders/${orderId}/notifications` })).json<{ notifications: unknown[] }>()
            .notifications.length > 0,
        { timeoutMs: 60_000, description: `the notification of ${orderId}` },
      );
    }
    const health = (await app.inject({ url: '/health' })).json();
    expect(health.delivery.consumers.notifier).toMatchObject({ instances: 1, partitionsOwned: 4 });
  } finally {
    await elsewhere.end();
  }
});

test('/metrics and /health report delivery', async () => {
  const metrics = (await app.inject({ url: '/metrics' })).body;
  expect(metrics).toMatch(/saga_consumer_deliveries_total\{consumer="notifier",outcome="handled"\} [1-9]/);
  expect(metrics).toMatch(/saga_consumer_lag_events\{consumer="notifier",partition="0"\} \d+/);
  expect(metrics).toContain('saga_dead_letters');
  const health = (await app.inject({ url: '/health' })).json();
  expect(health).toMatchObject({
    delivery: { transport: 'postgres', consumers: { notifier: { instances: 1, partitionsOwned: 4 } } },
  });
});

test('events an open transaction in another database holds back: counted apart, the transaction named, delivered once it ends', async () => {
  type HeldBack = {
    events: number;
    oldestAgeSeconds: number;
    by: { pid: number | null; database: string | null; applicationName: string | null } | null;
  };
  const heldBack = async () => (await app.inject({ url: '/delivery' })).json<{ heldBack: HeldBack }>().heldBack;
  // Another application's session on the same server, in its own database, that has begun
  // writing and stays open: every event committed after its transaction began is held back.
  const holder = new pg.Client({ connectionString: testEnv('pgAdminUrl'), application_name: 'nightly-batch' });
  await holder.connect();
  let open = true;
  try {
    await holder.query('BEGIN');
    const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_current_xact_id()');
    const pid = rows[0]!.pid;
    const { orderId } = (await placeOrder('tok_visa')).json<{ orderId: string }>();

    // Files running beside this one open transactions of their own: wait until ours is the oldest.
    const held = await waitFor(async () => ((await heldBack()).by?.pid === pid ? heldBack() : undefined), {
      timeoutMs: 30_000,
      description: 'the events held back by the open transaction',
    });
    expect(held.events).toBeGreaterThan(0);
    expect(held.by).toEqual({
      pid,
      database: new URL(testEnv('pgAdminUrl')).pathname.slice(1),
      applicationName: 'nightly-batch',
      preparedTransaction: null,
      transactionAgeSeconds: expect.any(Number),
    });
    // No consumer may read them: the order's notification waits for the transaction to end.
    const notified = async () =>
      (await app.inject({ url: `/orders/${orderId}/notifications` })).json<{ notifications: unknown[] }>().notifications
        .length > 0;
    expect(await notified()).toBe(false);
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/^saga_events_held_back [1-9]/m);

    await holder.query('COMMIT');
    open = false;
    await waitFor(notified, { timeoutMs: 60_000, description: `the notification of ${orderId}` });
    await waitFor(async () => (await heldBack()).events === 0, {
      timeoutMs: 30_000,
      description: 'no events held back once the transaction ended',
    });
  } finally {
    if (open) await holder.query('ROLLBACK').catch(() => undefined);
    await holder.end();
  }
});
