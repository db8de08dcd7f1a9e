import { executeOnce } from '../store/commands';
import { appendToStream } from '../store/event-store';
import type { Pool } from '../store/pool';

export interface CreateOrderInput {
  /** Deterministic per saga step (`<workflowId>/create-order`): retries never double-apply. */
  commandId: string;
  orderId: string;
  customerId: string;
  items: { sku: string; quantity: number }[];
  correlationId: string;
}

export interface CreateOrderResult {
  orderId: string;
  eventId: string;
  streamVersion: number;
}

const SQL = {
  insertOrder: `INSERT INTO orders (order_id, customer_id) VALUES ($1, $2)`,
} as const;

export const orderStreamId = (orderId: string) => `order-${orderId}`;

export function createOrderActivity(deps: { pool: Pool }) {
  return async function createOrder(input: CreateOrderInput): Promise<CreateOrderResult> {
    return executeOnce(deps.pool, input.commandId, async (tx) => {
      await tx.query(SQL.insertOrder, [input.orderId, input.customerId]);
      const [event] = await appendToStream(tx, orderStreamId(input.orderId), 0, [
        {
          eventType: 'order.created',
          payload: { orderId: input.orderId, customerId: input.customerId, items: input.items },
          metadata: { correlationId: input.correlationId, causationId: input.commandId },
        },
      ]);
      return { orderId: input.orderId, eventId: event!.eventId, streamVersion: event!.streamVersion };
    });
  };
}
