import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { waitFor } from '../../src/util/wait';
import { readStream } from '../../src/store/event-store';
import type { Pool } from '../../src/store/pool';
import { statusQuery, type OrderSagaInput, type OrderSagaResult, type OrderSagaStatus } from '../../src/workflows';

export const ADDRESS = { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' };

/** A saga input for a small order that needs no approval, with overrides. */
export function orderInput(overrides: Partial<OrderSagaInput> = {}): OrderSagaInput {
  return {
    orderId: randomUUID(),
    customerId: `cust-${randomUUID().slice(0, 8)}`,
    items: [{ sku: 'SKU-0001', quantity: 2 }],
    paymentToken: 'tok_visa',
    shippingAddress: ADDRESS,
    correlationId: randomUUID(),
    approvalThresholdCents: 100_000,
    approvalTimeout: '1 hour',
    ...overrides,
  };
}

export function startOrder(client: Client, taskQueue: string, input: OrderSagaInput) {
  return client.workflow.start('orderSaga', { workflowId: `order-${input.orderId}`, taskQueue, args: [input] });
}

export async function runOrder(client: Client, taskQueue: string, input: OrderSagaInput): Promise<OrderSagaResult> {
  const handle = await startOrder(client, taskQueue, input);
  return handle.result();
}

export async function eventTypes(pool: Pool, orderId: string): Promise<string[]> {
  return (await readStream(pool, `order-${orderId}`)).map((e) => e.eventType);
}

export async function stockOf(pool: Pool, sku: string): Promise<number> {
  return (await pool.query<{ stock: number }>('SELECT stock FROM products WHERE sku = $1', [sku])).rows[0]!.stock;
}

/** Money the simulated gateway still holds (authorized or captured) for an order's saga. */
export async function heldAtGateway(pool: Pool, orderId: string): Promise<number> {
  const { rows } = await pool.query<{ held: string }>(
    `SELECT coalesce(sum(amount_cents), 0) AS held FROM simulators.gateway_authorizations
      WHERE idempotency_key LIKE $1 AND status IN ('AUTHORIZED', 'CAPTURED')`,
    [`order-${orderId}/%`],
  );
  return Number(rows[0]!.held);
}

/** The events each saga outcome appends, in order. */
export const SAGA_EVENTS = {
  CONFIRMED: [
    'order.created',
    'inventory.reserved',
    'payment.authorized',
    'shipment.scheduled',
    'payment.captured',
    'order.confirmed',
  ],
  DECLINED: ['order.created', 'inventory.reserved', 'inventory.released', 'order.cancelled'],
  ADDRESS_REFUSED: [
    'order.created',
    'inventory.reserved',
    'payment.authorized',
    'payment.voided',
    'inventory.released',
    'order.cancelled',
  ],
  APPROVAL_CANCELLED: [
    'order.created',
    'inventory.reserved',
    'payment.authorized',
    'order.approval_requested',
    'payment.voided',
    'inventory.released',
    'order.cancelled',
  ],
} as const;

/** Waits (with a deadline) until the saga's status query reports `status`; returns that status. */
export function waitForSagaStatus(handle: WorkflowHandle, status: OrderSagaStatus['status']): Promise<OrderSagaStatus> {
  return waitFor(
    async () => {
      const s = await handle.query(statusQuery);
      return s.status === status ? s : undefined;
    },
    { timeoutMs: 20_000, description: `saga status ${status}` },
  );
}
