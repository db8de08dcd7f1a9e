import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../../src/util/wait';
import { orderBody } from '../../chaos/orders';
import { buildApp } from '../../src/api/app';
import { OrderStatusKey } from '../../src/saga/search-attributes';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../helpers/api-world';

// The operator routes on the real stack: each checks the live saga and answers 409 saying why
// when it does not apply, 400/404 for bad input and unknown ids, 401/403 without an operator's
// key, and every action an operator took (refusals included) is in the audit log.

const OPERATOR = { name: 'ops-bea', role: 'operator' as const, key: 'operator-routes-operator' };
const CUSTOMER = { name: 'web-shop', role: 'customer' as const, key: 'operator-routes-customer' };

let world: ApiWorld;

beforeAll(async () => {
  world = await startApiWorld({ apiKeys: [OPERATOR, CUSTOMER] });
});
afterAll(() => stopApiWorld(world));

const post = (url: string, body: unknown, key: string | null = OPERATOR.key) =>
  world.app.inject({ method: 'POST', url, payload: body as object, headers: key ? { 'x-api-key': key } : {} });
const get = (url: string, key = OPERATOR.key) => world.app.inject({ url, headers: { 'x-api-key': key } });

/** Releasing a reservation fails (a real database fault) until repaired. */
const breakRelease = () =>
  world.db.pool.query(`
    CREATE OR REPLACE FUNCTION fail_release() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'reservations are read-only during maintenance'; END $$;
    CREATE TRIGGER fail_release BEFORE UPDATE ON reservations FOR EACH ROW EXECUTE FUNCTION fail_release();`);
const repairRelease = () => world.db.pool.query('DROP TRIGGER IF EXISTS fail_release ON reservations');

describe('operator routes', () => {
  it('retries a stuck compensation through the API after refusing what does not apply, and audits each action', async () => {
    await breakRelease();
    const placed = await post('/orders', orderBody('declined', 'ops-routes'), CUSTOMER.key);
    expect(placed.statusCode).toBe(202);
    const { orderId } = placed.json() as { orderId: string };
    await waitFor(
      async () => {
        const s = await get(`/orders/${orderId}/saga`);
        return s.json().sagaPhase === 'COMPENSATION_STUCK';
      },
      { timeoutMs: 30_000, description: 'the saga to park on the failed compensation' },
    );

    // Not parked on a step: 409 saying why.
    const wrong = await post(`/orders/${orderId}/steps/capturePayment/retry`, { reason: 'try it' });
    expect(wrong.statusCode).toBe(409);
    expect(wrong.json().detail).toBe(
      "The order's saga is not parked on a step past its deadline (its phase is COMPENSATION_STUCK)",
    );
    // Bad input: a reason is required; a step must be one of the table's.
    const noReason = await post(`/orders/${orderId}/compensation/retry`, {});
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().fieldErrors).toEqual([expect.objectContaining({ field: 'reason' })]);
    const badStep = await post(`/orders/${orderId}/steps/shipTheMoon/retry`, { reason: 'x' });
    expect(badStep.statusCode).toBe(400);
    expect(badStep.json().fieldErrors[0].field).toBe('params.step');
    const nul = await post(`/orders/${orderId}/compensation/retry`, { reason: 'a\u0000b' });
    expect(nul.statusCode).toBe(400);
    // Unknown ids: 404, for orders and returns alike.
    expect((await post(`/orders/${randomUUID()}/compensation/retry`, { reason: 'x' })).statusCode).toBe(404);
    expect((await post(`/returns/${randomUUID()}/steps/refundReturn/abandon`, { reason: 'x' })).statusCode).toBe(404);
    // Only operators act.
    expect((await post(`/orders/${orderId}/compensation/retry`, { reason: 'x' }, null)).statusCode).toBe(401);
    const customer = await post(`/orders/${orderId}/compensation/resolve`, { reason: 'x' }, CUSTOMER.key);
    expect(customer.statusCode).toBe(403);
    expect((await get(`/orders/${orderId}/saga`)).json().sagaPhase).toBe('COMPENSATION_STUCK');

    // The cause is fixed: retry, and the saga finishes its compensation.
    await repairRelease();
    const retried = await post(`/orders/${orderId}/compensation/retry`, { reason: 'maintenance over' });
    expect(retried.statusCode).toBe(200);
    expect(retried.json().saga.sagaPhase).not.toBe('COMPENSATION_STUCK');
    await waitFor(async () => (await get(`/orders/${orderId}/saga`)).json().status === 'CANCELLED', {
      timeoutMs: 30_000,
      description: 'the order to be cancelled',
    });
    // Once it has moved on, the same action no longer applies.
    const again = await post(`/orders/${orderId}/compensation/retry`, { reason: 'twice' });
    expect(again.statusCode).toBe(409);

    const audit = (await get(`/operator-actions?targetType=order&targetId=${orderId}`)).json().actions as {
      actor: string;
      role: string;
      action: string;
      reason: string | null;
      outcome: string;
      status: number;
      detail: { detail?: string; step?: string };
    }[];
    // Newest first; the 401/403 refusals never reached an action and are not in it.
    expect(audit.map((a) => [a.action, a.outcome, a.status, a.actor, a.reason])).toEqual([
      ['retry_compensation', 'refused', 409, 'ops-bea', 'twice'],
      ['retry_compensation', 'applied', 200, 'ops-bea', 'maintenance over'],
      // Text PostgreSQL cannot store is kept with a replacement character.
      ['retry_compensation', 'refused', 400, 'ops-bea', 'a\uFFFDb'],
      ['retry_step', 'refused', 400, 'ops-bea', 'x'],
      ['retry_compensation', 'refused', 400, 'ops-bea', null],
      ['retry_step', 'refused', 409, 'ops-bea', 'try it'],
    ]);
    expect(audit.at(-1)!.detail).toMatchObject({
      step: 'capturePayment',
      detail: expect.stringContaining('COMPENSATION_STUCK'),
    });

    // The order's story shows who acted and why to operators only; a customer's key reads the
    // rest of the story without them (and without the failure details of dead letters).
    const told = (await get(`/orders/${orderId}/story`)).json();
    expect(told.operatorActions).toHaveLength(audit.length);
    expect(told.deadLetters).toEqual(expect.any(Array));
    const toldCustomer = await get(`/orders/${orderId}/story`, CUSTOMER.key);
    expect(toldCustomer.statusCode).toBe(200);
    expect(toldCustomer.json().events).toHaveLength(told.events.length);
    expect(toldCustomer.json()).not.toHaveProperty('operatorActions');
    expect(toldCustomer.json()).not.toHaveProperty('deadLetters');
    expect(toldCustomer.body).not.toContain('maintenance over');
  });

  it('lists what needs attention from the live saga, and the delivery figures, to operators only', async () => {
    // Every customer's sagas, the brokers' figures and the audit log are operators' business.
    for (const url of ['/attention', '/delivery', '/operator-actions']) {
      expect((await get(url, CUSTOMER.key)).statusCode).toBe(403);
    }
    const attention = await get('/attention');
    expect(attention.statusCode).toBe(200);
    expect(Array.isArray(attention.json().items)).toBe(true);
    const delivery = (await get('/delivery')).json();
    expect(delivery.transport).toBe('postgres');
    expect(delivery.relay).toBeNull();
    expect(delivery.consumers.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(['order-summary', 'notifier']),
    );
    const summary = delivery.consumers.find((c: { name: string }) => c.name === 'order-summary');
    expect(summary.instances).toBe(1);
    expect(summary.lag).toEqual([expect.objectContaining({ partition: 0 })]);
    expect(delivery.projections).toEqual([{ name: 'order-summary', lagSeconds: expect.any(Number) }]);
    expect((await get('/identity', CUSTOMER.key)).json()).toEqual({ name: 'web-shop', role: 'customer', open: false });
  });

  it('lists a saga whose worker is down from its search attributes, without waiting on it; only its own', async () => {
    // A deployment whose worker is down: its API on a task queue no worker polls, so its
    // saga cannot answer the status query.
    const orderId = randomUUID();
    const taskQueue = `nobody-polls-${orderId}`;
    const down = buildApp({
      pool: world.db.pool,
      temporal: world.temporal.client,
      taskQueue,
      orders: { approvalThresholdCents: 100_000, approvalTimeout: '1h' },
      apiKeys: [OPERATOR],
    });
    const handle = await world.temporal.client.workflow.start('orderSaga', {
      taskQueue,
      workflowId: `order-${orderId}`,
      args: [{ orderId }],
      typedSearchAttributes: [{ key: OrderStatusKey, value: 'AWAITING_APPROVAL' }],
    });
    try {
      const attention = async (app: typeof down) =>
        (
          (await app.inject({ url: '/attention', headers: { 'x-api-key': OPERATOR.key } })).json().items as {
            workflowId: string;
          }[]
        ).find((i) => i.workflowId === handle.workflowId);
      const item = await waitFor(() => attention(down), {
        timeoutMs: 30_000,
        description: 'the saga without a worker on the attention list',
      });
      expect(item).toMatchObject({ kind: 'approval', saga: 'order', id: orderId, actions: ['approve', 'reject'] });
      // Another deployment (this file's, on its own task queue) does not list it.
      expect(await attention(world.app)).toBeUndefined();
    } finally {
      await handle.terminate('test over');
      await down.close();
    }
  });

  it('streams read-model changes as Server-Sent Events while an order moves', async () => {
    await world.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = world.app.server.address() as AddressInfo;
    const controller = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/orders/live`, {
      headers: { 'x-api-key': CUSTOMER.key },
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const until = async (pattern: RegExp) =>
      waitFor(
        async () => {
          const { value } = await reader.read();
          text += value ?? '';
          return pattern.test(text);
        },
        { timeoutMs: 30_000, description: `the stream to carry ${pattern}` },
      );
    await until(/event: ready/);
    const placed = await post('/orders', orderBody('happy', 'ops-live'), CUSTOMER.key);
    const { orderId } = placed.json() as { orderId: string };
    await until(new RegExp(`event: order\\nid: ${orderId}:\\d+\\ndata: \\{[^\\n]*"status":"CONFIRMED"`));
    const versions = [...text.matchAll(new RegExp(`id: ${orderId}:(\\d+)`, 'g'))].map((m) => Number(m[1]));
    expect(versions.length).toBeGreaterThan(1);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    controller.abort();
  });
});
