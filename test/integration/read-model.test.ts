import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { rebuildOrderSummary } from '../../src/consumers/rebuild';
import { waitFor } from '../../src/util/wait';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../helpers/api-world';

// The order-summary read model: kept by its projector, rebuildable from the log while orders
// are being placed, equal row by row to a rebuild from scratch, and listed with keyset pages.

let world: ApiWorld;
let app: FastifyInstance;

beforeAll(async () => {
  // SKU-0001 costs 9.99: 10 of them (99.90) wait for approval, 2 do not.
  world = await startApiWorld({ orders: { approvalThresholdCents: 5_000, approvalTimeout: '1 hour' } });
  ({ app } = world);
});
afterAll(async () => stopApiWorld(world));

type Kind = 'happy' | 'declined' | 'soldOut' | 'refusedAddress' | 'approved' | 'rejected' | 'cancelled';
const EXPECTED: Record<Kind, { status: string; sagaPhase: string }> = {
  happy: { status: 'CONFIRMED', sagaPhase: 'COMPLETED' },
  approved: { status: 'CONFIRMED', sagaPhase: 'COMPLETED' },
  declined: { status: 'CANCELLED', sagaPhase: 'COMPENSATED' },
  soldOut: { status: 'CANCELLED', sagaPhase: 'COMPENSATED' },
  refusedAddress: { status: 'CANCELLED', sagaPhase: 'COMPENSATED' },
  rejected: { status: 'CANCELLED', sagaPhase: 'COMPENSATED' },
  cancelled: { status: 'CANCELLED', sagaPhase: 'COMPENSATED' },
};
const KINDS = Object.keys(EXPECTED) as Kind[];

function body(kind: Kind, customerId: string) {
  return {
    customerId,
    items: [
      {
        sku: kind === 'soldOut' ? 'SKU-SOLDOUT' : 'SKU-0001',
        quantity: ['approved', 'rejected', 'cancelled'].includes(kind) ? 10 : 2,
      },
    ],
    payment: { token: kind === 'declined' ? 'tok_chargeDeclined' : 'tok_visa' },
    shippingAddress: {
      line1: '1 Main St',
      city: 'Berlin',
      postalCode: kind === 'refusedAddress' ? '00000' : '10115',
      country: 'DE',
    },
  };
}

const placed: { orderId: string; kind: Kind; customerId: string }[] = [];

/** Places an order of each kind and drives the ones that wait for a decision. */
async function placeWave(customerId: string): Promise<void> {
  await Promise.all(
    KINDS.map(async (kind) => {
      const res = await app.inject({ method: 'POST', url: '/orders', payload: body(kind, customerId) });
      expect(res.statusCode).toBe(202);
      const { orderId } = res.json<{ orderId: string }>();
      placed.push({ orderId, kind, customerId });
      if (kind === 'approved' || kind === 'rejected' || kind === 'cancelled') {
        await waitFor(
          async () =>
            (await app.inject({ url: `/orders/${orderId}/saga` })).json<{ status?: string }>().status ===
              'AWAITING_APPROVAL' || undefined,
          { timeoutMs: 30_000, description: `${kind} order to wait for approval` },
        );
        const action = kind === 'approved' ? 'approve' : kind === 'rejected' ? 'reject' : 'cancel';
        const decided = await app.inject({ method: 'POST', url: `/orders/${orderId}/${action}`, payload: {} });
        expect(decided.statusCode).toBeLessThan(300);
      }
    }),
  );
}

/** The live read model without the write time (which a rebuild sets anew). */
async function snapshot(): Promise<unknown[]> {
  const { rows } = await world.db.pool.query(
    `SELECT order_id, customer_id, status, saga_phase, state, timeline, last_event_id, last_stream_version,
       last_position, last_event_at, created_at FROM order_summary ORDER BY order_id`,
  );
  return rows;
}

test('every saga kind lands in the read model; a rebuild during placement loses nothing and equals the incremental table', async () => {
  await placeWave(`cust-a-${randomUUID()}`);
  // A second wave while the read model is rebuilt and swapped in.
  const [result] = await Promise.all([
    rebuildOrderSummary(world.db.pool, { batchSize: 7 }),
    placeWave(`cust-b-${randomUUID()}`),
  ]);
  expect(result.events).toBeGreaterThan(0);

  for (const { orderId, kind } of placed) {
    const order = await waitFor(
      async () => {
        const res = await app.inject({ url: `/orders/${orderId}` });
        const json = res.statusCode === 200 ? res.json<{ status: string; sagaPhase: string }>() : undefined;
        return json && json.sagaPhase === EXPECTED[kind].sagaPhase ? json : undefined;
      },
      { timeoutMs: 60_000, description: `the ${kind} order ${orderId} to be terminal in the read model` },
    );
    expect(order).toMatchObject(EXPECTED[kind]);
  }
  // Caught up with the log: each summary's version is its stream's last version.
  await waitFor(
    async () =>
      (
        await world.db.pool.query<{ behind: number }>(
          `SELECT count(*)::int AS behind FROM order_summary s
           WHERE s.last_stream_version < (SELECT max(stream_version) FROM events e WHERE e.stream_id = 'order-' || s.order_id)`,
        )
      ).rows[0]!.behind === 0 || undefined,
    { timeoutMs: 30_000, description: 'the projector to catch up' },
  );

  const incremental = await snapshot();
  expect(incremental).toHaveLength(placed.length);
  // Damage the live table: the rebuild must restore it from the log alone.
  await world.db.pool.query(`UPDATE order_summary SET status = 'BOGUS', timeline = '[]' WHERE order_id = $1`, [
    placed[0]!.orderId,
  ]);
  await world.db.pool.query(`DELETE FROM order_summary WHERE order_id = $1`, [placed[1]!.orderId]);
  const rebuilt = await rebuildOrderSummary(world.db.pool);
  expect(rebuilt.orders).toBe(placed.length);
  expect(await snapshot()).toEqual(incremental);
}, 180_000);

interface Page {
  orders: { orderId: string; createdAt: string }[];
  nextCursor: string | null;
}

test('GET /orders lists newest first with stable keyset pages and filters; bad queries answer 400', async () => {
  const all: string[] = [];
  const created: string[] = [];
  let cursor: string | null = null;
  do {
    const url: string = `/orders?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await app.inject({ url });
    expect(res.statusCode).toBe(200);
    const page: Page = res.json();
    expect(page.orders.length).toBeLessThanOrEqual(3);
    all.push(...page.orders.map((o) => o.orderId));
    created.push(...page.orders.map((o) => o.createdAt));
    cursor = page.nextCursor;
  } while (cursor);
  expect(new Set(all).size).toBe(all.length);
  expect(created).toEqual([...created].sort().reverse()); // newest first
  expect([...all].sort()).toEqual(placed.map((p) => p.orderId).sort());

  const customer = placed[0]!.customerId;
  const mine = (await app.inject({ url: `/orders?customerId=${customer}&status=CANCELLED` })).json<{
    orders: { orderId: string; status: string }[];
  }>().orders;
  expect(mine.map((o) => o.orderId).sort()).toEqual(
    placed
      .filter((p) => p.customerId === customer && EXPECTED[p.kind].status === 'CANCELLED')
      .map((p) => p.orderId)
      .sort(),
  );
  const completed = (await app.inject({ url: '/orders?sagaPhase=COMPLETED&limit=100' })).json<{ orders: unknown[] }>();
  expect(completed.orders).toHaveLength(placed.filter((p) => EXPECTED[p.kind].sagaPhase === 'COMPLETED').length);
  const future = (
    await app.inject({ url: `/orders?createdAfter=${encodeURIComponent('2999-01-01T00:00:00Z')}` })
  ).json();
  expect(future).toEqual({ orders: [], nextCursor: null });

  for (const query of [
    'status=LOST',
    'limit=0',
    'limit=abc',
    'cursor=not-a-cursor',
    'sagaPhase=NAPPING',
    'createdAfter=yesterday',
  ]) {
    const res = await app.inject({ url: `/orders?${query}` });
    expect({ query, status: res.statusCode }).toEqual({ query, status: 400 });
    expect(res.json()).toMatchObject({
      fieldErrors: [expect.objectContaining({ field: expect.stringMatching(/^query\./) })],
    });
  }
});

test('GET /orders/:id says how fresh it is', async () => {
  const { orderId } = placed.find((p) => p.kind === 'happy')!;
  const order = (await app.inject({ url: `/orders/${orderId}` })).json();
  expect(order).toMatchObject({
    orderId,
    workflowId: `order-${orderId}`,
    status: 'CONFIRMED',
    version: 6,
    timeline: expect.arrayContaining([expect.objectContaining({ type: 'order.confirmed', version: 6 })]),
    freshness: {
      streamVersion: 6,
      position: expect.any(Number),
      lastEventAt: expect.any(String),
      updatedAt: expect.any(String),
    },
  });
  expect(order.timeline.map((t: { type: string }) => t.type)).toEqual([
    'order.created',
    'inventory.reserved',
    'payment.authorized',
    'shipment.scheduled',
    'payment.captured',
    'order.confirmed',
  ]);
});
