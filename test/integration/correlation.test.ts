import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { readStream } from '../../src/store/event-store';
import { waitFor } from '../../src/util/wait';
import { statusQuery } from '../../src/workflows';
import { correlationsQuery } from '../../src/workflows/interceptors';
import { SAGA_EVENTS, waitForSagaStatus } from '../helpers/orders';
import { startSagaWorld, stopSagaWorld, type SagaWorld } from '../helpers/saga-world';

let world: SagaWorld;
let app: FastifyInstance;

beforeAll(async () => {
  world = await startSagaWorld();
  app = buildApp({
    pool: world.db.pool,
    temporal: world.temporal.client,
    taskQueue: world.temporal.taskQueue,
    orders: { approvalThresholdCents: 100_000, approvalTimeout: '1 hour' },
  });
});
afterAll(async () => {
  await app?.close();
  await stopSagaWorld(world);
});

type Message = { kind: 'command' | 'event'; id: string; causationId: string | null; eventType?: string };

/** POST /orders with a correlation id; `sku`/`quantity` pick the order size. */
async function postOrder(correlationId: string, token: string, item = { sku: 'SKU-0004', quantity: 1 }) {
  const res = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { 'x-correlation-id': correlationId },
    payload: {
      customerId: 'cust-corr',
      items: [item],
      payment: { token },
      shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
    },
  });
  expect(res.statusCode).toBe(202);
  expect(res.headers['x-correlation-id']).toBe(correlationId);
  return res.json() as { orderId: string; workflowId: string };
}

async function placeAndFinish(correlationId: string, token: string) {
  const { orderId, workflowId } = await postOrder(correlationId, token);
  await world.temporal.client.workflow.getHandle(workflowId).result();
  return { orderId, workflowId };
}

describe('correlation chain', () => {
  it('every event of a saga, compensations included, carries the request correlation id; causation ids chain back to the first command', async () => {
    const correlationId = `corr-${randomUUID()}`;
    const { orderId, workflowId } = await placeAndFinish(correlationId, 'tok_chargeDeclined');

    const events = await readStream(world.db.pool, `order-${orderId}`);
    expect(events.map((e) => e.eventType)).toEqual([...SAGA_EVENTS.DECLINED]);
    expect(events.map((e) => e.metadata.correlationId)).toEqual(events.map(() => correlationId));

    const chain = await app.inject({ method: 'GET', url: `/correlations/${correlationId}` });
    expect(chain.statusCode).toBe(200);
    const messages: Message[] = chain.json().messages;
    const byId = new Map(messages.map((m) => [m.id, m]));

    // Walk back from the last event: event → the command that appended it → the event that
    // caused that command → … → the first command, caused by the request itself.
    const visited: string[] = [];
    let current: Message | undefined = byId.get(events.at(-1)!.eventId);
    while (current) {
      visited.push(current.kind === 'event' ? current.eventType! : current.id.replace(`${workflowId}/`, ''));
      if (current.causationId === correlationId) break;
      current = byId.get(current.causationId!);
    }
    expect(visited).toEqual([
      'order.cancelled',
      'cancel-order',
      'inventory.released',
      'release-inventory',
      'inventory.reserved',
      'reserve-inventory',
      'order.created',
      'create-order',
    ]);
    // Every event of the saga lies on the chain.
    for (const e of events) expect(visited).toContain(e.eventType);
  });

  it('GET /correlations/:id lists commands each followed by their events, in causal order', async () => {
    const correlationId = `corr-${randomUUID()}`;
    const { workflowId } = await placeAndFinish(correlationId, 'tok_visa');
    const { messages } = (await app.inject({ method: 'GET', url: `/correlations/${correlationId}` })).json() as {
      messages: Message[];
    };
    expect(messages.map((m) => (m.kind === 'event' ? m.eventType : m.id.replace(`${workflowId}/`, '')))).toEqual([
      'create-order',
      'order.created',
      'reserve-inventory',
      'inventory.reserved',
      'authorize-payment',
      'payment.authorized',
      'schedule-shipment',
      'shipment.scheduled',
      'capture-payment',
      'payment.captured',
      'confirm-order',
      'order.confirmed',
    ]);
    // Each command is caused by the event just before it (the first by the request).
    messages.forEach((m, i) => {
      if (m.kind === 'command') expect(m.causationId).toBe(i === 0 ? correlationId : messages[i - 1]!.id);
      else expect(m.causationId).toBe(messages[i - 1]!.id);
    });
  });

  it('creates a correlation id when the request has none, and answers 404 for an unknown one', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect((await app.inject({ method: 'GET', url: `/correlations/${randomUUID()}` })).statusCode).toBe(404);
  });

  it("updates and signals carry their sender's correlation id to the workflow", async () => {
    const correlationId = `corr-${randomUUID()}`;
    // Above the approval threshold: the order waits for approval.
    const { orderId, workflowId } = await postOrder(correlationId, 'tok_visa', { sku: 'SKU-0010', quantity: 11 });
    const handle = world.temporal.client.workflow.getHandle(workflowId);
    await waitForSagaStatus(handle, 'AWAITING_APPROVAL');
    const approvalCorrelation = `approver-${randomUUID()}`;
    const approved = await app.inject({
      method: 'POST',
      url: `/orders/${orderId}/approve`,
      headers: { 'x-correlation-id': approvalCorrelation },
    });
    expect(approved.statusCode).toBe(200);
    await handle.result();
    expect(await handle.query(correlationsQuery)).toEqual({
      correlationId,
      received: [{ kind: 'update', name: 'approve', correlationId: approvalCorrelation }],
    });
    // The saga's own events stay in the order's chain.
    const events = await readStream(world.db.pool, `order-${orderId}`);
    expect(new Set(events.map((e) => e.metadata.correlationId))).toEqual(new Set([correlationId]));
  });
});
