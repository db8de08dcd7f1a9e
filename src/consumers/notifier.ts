import type { Tx } from '../store/pool';
import { defineConsumer, type ConsumedEvent } from '../delivery/consumer';

/**
 * The notifier: writes what the customer is told when an order is confirmed, cancelled (with
 * the reason), could not be placed, or waits for approval into `customer_notifications`, once
 * per event.
 */

export const NOTIFICATION_KINDS = [
  'order_confirmed',
  'order_cancelled',
  'order_placement_failed',
  'approval_needed',
] as const;
type Kind = (typeof NOTIFICATION_KINDS)[number];

const SQL = {
  customerOf: `SELECT customer_id FROM orders WHERE order_id = $1`,
  insert: `INSERT INTO customer_notifications (event_id, order_id, customer_id, kind, message)
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING`,
  byOrder: `SELECT id, event_id, order_id, customer_id, kind, message, created_at
    FROM customer_notifications WHERE order_id = $1 ORDER BY id`,
} as const;

const money = (cents: number) => `$${(cents / 100).toFixed(2)}`;

/** The notification an event calls for (pure). */
export function notificationFor(event: ConsumedEvent): { kind: Kind; message: string } {
  const p = event.payload;
  switch (event.eventType) {
    case 'order.confirmed':
      return { kind: 'order_confirmed', message: `Your order ${p.orderId} is confirmed and on its way.` };
    case 'order.cancelled':
      return {
        kind: 'order_cancelled',
        message: `Your order ${p.orderId} was cancelled: ${p.reason}.${p.failedStep ? ` (failed step: ${p.failedStep})` : ''}`,
      };
    case 'order.placement_failed':
      return {
        kind: 'order_placement_failed',
        message: `Your order ${p.orderId} could not be placed: ${p.reason}.`,
      };
    case 'order.approval_requested':
      return {
        kind: 'approval_needed',
        message: `Your order ${p.orderId} of ${money(p.totalCents as number)} needs our approval; we will let you know.`,
      };
    default:
      throw new Error(`notifier does not handle ${event.eventType}`);
  }
}

export const notifier = defineConsumer({
  name: 'notifier',
  // Orders are independent of each other: four partitions let several `saga consume`
  // instances share the work (each order's events stay in one partition, in order).
  partitions: 4,
  handles: ['order.confirmed', 'order.cancelled', 'order.placement_failed', 'order.approval_requested'],
  async handle(event, tx: Tx) {
    const orderId = event.payload.orderId as string;
    const customerId = await customerOf(tx, event);
    const { kind, message } = notificationFor(event);
    await tx.query(SQL.insert, [event.eventId, orderId, customerId, kind, message]);
  },
});

/** Whom to tell: the event names the customer of an order never created (it has no `orders` row). */
async function customerOf(tx: Tx, event: ConsumedEvent): Promise<string> {
  if (event.eventType === 'order.placement_failed') return event.payload.customerId as string;
  const orderId = event.payload.orderId as string;
  const { rows } = await tx.query<{ customer_id: string }>(SQL.customerOf, [orderId]);
  if (!rows[0]) throw new Error(`order ${orderId} is not known`);
  return rows[0].customer_id;
}

export interface CustomerNotification {
  id: number;
  eventId: string;
  orderId: string;
  customerId: string;
  kind: Kind;
  message: string;
  createdAt: string;
}

export async function notificationsOfOrder(
  db: { query: Tx['query'] },
  orderId: string,
): Promise<CustomerNotification[]> {
  const { rows } = await db.query<{
    id: number;
    event_id: string;
    order_id: string;
    customer_id: string;
    kind: Kind;
    message: string;
    created_at: Date;
  }>(SQL.byOrder, [orderId]);
  return rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    orderId: r.order_id,
    customerId: r.customer_id,
    kind: r.kind,
    message: r.message,
    createdAt: r.created_at.toISOString(),
  }));
}
