/**
 * What each activity commits and calls, as implemented in src/activities/ (the consistency
 * table of docs/events.md), and what each consumer does with what it receives.
 */

export interface ActivityInfo {
  /** What the activity's transaction changes besides processed_commands and the events. */
  commits: string;
  /** A caveat about what commits (or does not). */
  note?: string;
  /** Calls to the outside world, made before the transaction (empty: none). */
  external: string;
}

/** What each activity does, as implemented in src/activities/order-activities.ts. */
export const ACTIVITIES: Readonly<Record<string, ActivityInfo>> = {
  createOrder: {
    commits: '`orders` row inserted (prices quoted from `products`)',
    external: '',
  },
  reserveInventory: {
    commits: '`products.stock` decremented per line (guarded by `stock >= quantity`), `reservations` rows `RESERVED`',
    note: 'Out of stock or an unknown SKU rolls all of it back.',
    external: '',
  },
  authorizePayment: {
    commits: '`payments` row `AUTHORIZED`',
    external: 'payment gateway `authorize` with idempotency key = command id (a repeat returns the same authorization)',
  },
  requestApproval: {
    commits: 'no domain table',
    note: 'No event when approval was already requested.',
    external: '',
  },
  approveOrder: {
    commits: 'no domain table',
    external: '',
  },
  scheduleShipment: {
    commits: '`shipments` row `SCHEDULED`',
    external: 'carrier `schedule` with idempotency key = command id (a repeat returns the same tracking id)',
  },
  capturePayment: {
    commits: '`payments.status` = `CAPTURED`',
    external: 'payment gateway `capture` of the authorization id (capturing a captured authorization is a no-op)',
  },
  confirmOrder: {
    commits: 'no domain table (the order status is the fold of its stream)',
    external: '',
  },
  releaseInventory: {
    commits: '`reservations` rows `RELEASED`, their quantities returned to `products.stock`',
    note: 'With nothing reserved, only the `processed_commands` row.',
    external: '',
  },
  voidPayment: {
    commits: '`payments.status` = `VOIDED`',
    note: 'With no authorized payment, only the `processed_commands` row.',
    external:
      "payment gateway `void` of the authorization id, only while the order's payment is `AUTHORIZED` (voiding twice is a no-op)",
  },
  cancelShipment: {
    commits: '`shipments.status` = `CANCELLED`',
    note: 'With no scheduled shipment, only the `processed_commands` row.',
    external:
      'carrier `cancel` of the tracking id, only while the shipment is `SCHEDULED` (cancelling twice is harmless)',
  },
  refundPayment: {
    commits: '`payments.status` = `REFUNDED`',
    note: 'With no captured payment, only the `processed_commands` row.',
    external:
      'payment gateway `refund` of the authorization id, only while the payment is `CAPTURED` (refunding twice is a no-op)',
  },
  openReturn: {
    commits: '`returns` row `OPENED` (one open or completed return per order, by a unique index)',
    note: 'Refused unless the order is confirmed, belongs to the customer and has no other return.',
    external: '',
  },
  schedulePickup: {
    commits: '`returns.status` = `PICKUP_SCHEDULED`',
    external: "carrier `schedule` at the order's shipping address with idempotency key = command id",
  },
  receiveGoods: {
    commits: '`returns.status` = `GOODS_RECEIVED`',
    external: '',
  },
  refundReturn: {
    commits: "`returns.status` = `REFUNDED` with the amount, the order's `payments.status` = `REFUNDED`",
    external: "payment gateway `refund` of the order's authorization (refunding twice is a no-op)",
  },
  restockReturn: {
    commits: '`products.stock` incremented per returned line, `returns.status` = `RESTOCKED`',
    external: '',
  },
  completeReturn: {
    commits: '`returns.status` = `COMPLETED`',
    external: '',
  },
  cancelPickup: {
    commits: '`returns.status` back to `OPENED`',
    note: 'With no scheduled pickup, only the `processed_commands` row; refused once the goods are received.',
    external: 'carrier `cancel` of the tracking id, only while the pickup is scheduled (cancelling twice is harmless)',
  },
  cancelReturn: {
    commits: '`returns.status` = `CANCELLED`',
    note: 'A return never opened gets `return.not_opened` instead of `return.cancelled` (no `returns` row). Nothing when the return is already over.',
    external: '',
  },
  cancelOrder: {
    commits: 'no domain table',
    note: 'Refused while stock, an authorization, a capture or a shipment is still held, unless an operator resolved that step by hand. An order never created gets `order.placement_failed` instead of `order.cancelled`.',
    external: '',
  },
};

/** What each consumer does with what it receives (falls back to the consumer's name). */
export const CONSUMER_EFFECTS: Readonly<Record<string, string>> = {
  'order-summary': 'read model `order_summary`',
  notifier: 'customer notification',
};
