import { z } from 'zod';
import { v1, type EventDefinition } from '../definition';
import {
  orderId,
  sku,
  quantity,
  cents,
  shippingAddress,
  pricedLines,
  payment,
  CURRENCY,
  requestedBy,
  stopReason,
} from './schemas';

/** The order saga's events (orderSaga, stream `order-<orderId>`): placement, reservation, payment, approval, shipment and their compensations. */
export const ORDER_EVENTS: readonly EventDefinition[] = [
  {
    type: 'order.created',
    aggregateType: 'order',
    description: 'A customer placed an order; the saga has started.',
    producer: 'orderSaga / createOrder',
    consumers: ['order-summary'],
    compensation: false,
    versions: [
      v1(
        z.object({
          orderId,
          customerId: z.string().min(1),
          items: z.array(z.object({ sku, quantity })).min(1),
          shippingAddress,
        }),
      ),
      {
        schema: z.object({
          orderId,
          customerId: z.string().min(1),
          items: z.array(z.object({ sku, quantity, unitPriceCents: cents.nullable() })).min(1),
          currency: z.string().regex(/^[A-Z]{3}$/),
          shippingAddress,
        }),
        // v1 orders were priced at reservation: their quoted price is unknown (null).
        upcastFrom: (p) => ({
          ...p,
          items: (p.items as Record<string, unknown>[]).map((i) => ({ ...i, unitPriceCents: null })),
          currency: CURRENCY,
        }),
        note: 'Each line carries the unit price quoted when the order was placed (null when unknown), and the order its currency.',
      },
    ],
  },
  {
    type: 'inventory.reserved',
    aggregateType: 'order',
    description: 'Stock for every line was set aside, at the prices charged.',
    producer: 'orderSaga / reserveInventory',
    consumers: ['order-summary'],
    compensation: false,
    versions: [v1(z.object({ orderId, lines: pricedLines, totalCents: cents }))],
  },
  {
    type: 'payment.authorized',
    aggregateType: 'order',
    description: 'The payment gateway authorized the order total.',
    producer: 'orderSaga / authorizePayment',
    consumers: ['order-summary'],
    compensation: false,
    versions: [v1(z.object(payment))],
  },
  {
    type: 'order.approval_requested',
    aggregateType: 'order',
    description: 'The total exceeds the approval threshold; the order waits for approve/reject.',
    producer: 'orderSaga / requestApproval',
    consumers: ['order-summary', 'notifier'],
    compensation: false,
    versions: [v1(z.object({ orderId, totalCents: cents, thresholdCents: cents }))],
  },
  {
    type: 'order.approved',
    aggregateType: 'order',
    description: 'An operator approved the order.',
    producer: 'orderSaga / approveOrder',
    consumers: ['order-summary'],
    compensation: false,
    versions: [
      v1(z.object({ orderId })),
      {
        schema: z.object({ orderId, decidedBy: z.string().min(1).nullable() }),
        upcastFrom: (p) => ({ ...p, decidedBy: null }),
        note: 'Adds `decidedBy`: the API key name of the operator who approved (null: an open API, or before v2).',
      },
    ],
  },
  {
    type: 'shipment.scheduled',
    aggregateType: 'order',
    description: 'The carrier accepted the shipment.',
    producer: 'orderSaga / scheduleShipment',
    consumers: ['order-summary'],
    compensation: false,
    versions: [v1(z.object({ orderId, trackingId: z.string().min(1) }))],
  },
  {
    type: 'payment.captured',
    aggregateType: 'order',
    description: 'The authorized amount was charged.',
    producer: 'orderSaga / capturePayment',
    consumers: ['order-summary'],
    compensation: false,
    versions: [v1(z.object(payment))],
  },
  {
    type: 'order.confirmed',
    aggregateType: 'order',
    description: 'Every step succeeded; the order is final.',
    producer: 'orderSaga / confirmOrder',
    consumers: ['order-summary', 'notifier'],
    compensation: false,
    versions: [v1(z.object({ orderId }))],
  },
  {
    type: 'inventory.released',
    aggregateType: 'order',
    description: 'Reserved stock was returned (compensates inventory.reserved).',
    producer: 'orderSaga / releaseInventory',
    consumers: ['order-summary'],
    compensation: true,
    versions: [v1(z.object({ orderId, lines: pricedLines }))],
  },
  {
    type: 'payment.voided',
    aggregateType: 'order',
    description: 'The authorization was released uncaptured (compensates payment.authorized).',
    producer: 'orderSaga / voidPayment',
    consumers: ['order-summary'],
    compensation: true,
    versions: [v1(z.object(payment))],
  },
  {
    type: 'payment.refunded',
    aggregateType: 'order',
    description: 'Captured money was returned (compensates payment.captured).',
    producer: 'orderSaga / refundPayment',
    consumers: ['order-summary'],
    compensation: true,
    versions: [v1(z.object(payment))],
  },
  {
    type: 'shipment.cancelled',
    aggregateType: 'order',
    description: 'The scheduled shipment was called off (compensates shipment.scheduled).',
    producer: 'orderSaga / cancelShipment',
    consumers: ['order-summary'],
    compensation: true,
    versions: [v1(z.object({ orderId, trackingId: z.string().min(1) }))],
  },
  {
    type: 'order.cancelled',
    aggregateType: 'order',
    description:
      'The saga ended without the order: why, and at which step. Always the last event of a failed saga whose order was created (else order.placement_failed).',
    producer: 'orderSaga / cancelOrder',
    consumers: ['order-summary', 'notifier'],
    compensation: true,
    versions: [
      v1(
        z.object({
          orderId,
          ...stopReason,
          manuallyResolved: z.array(z.string().min(1)).min(1).optional(),
        }),
      ),
      {
        schema: z.object({
          orderId,
          ...stopReason,
          manuallyResolved: z.array(z.string().min(1)).min(1).optional(),
          requestedBy,
        }),
        upcastFrom: (p) => ({ ...p, requestedBy: null }),
        note: 'Adds `requestedBy`: who stopped the order (the customer key that cancelled, the operator key that rejected); null when the saga stopped on its own, on an open API, or before v2.',
      },
    ],
  },
  {
    type: 'order.placement_failed',
    aggregateType: 'order',
    description:
      "The saga ended before the order was created (createOrder failed or ran out of time, or the run was cancelled first): why, at which step, and whose order it was. The order's only event, in place of order.cancelled.",
    producer: 'orderSaga / cancelOrder',
    consumers: ['order-summary', 'notifier'],
    // Like order.cancelled: the failure path's last word, though there was nothing to undo.
    compensation: true,
    versions: [
      v1(
        z.object({
          orderId,
          customerId: z.string().min(1),
          ...stopReason,
          requestedBy,
        }),
      ),
    ],
  },
];
