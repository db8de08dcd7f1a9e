import { z } from 'zod';
import { v1, type EventDefinition } from '../definition';
import { cents, pricedLines, returnOf, trackingId, requestedBy, stopReason } from './schemas';

/** The order returns' events (returnSaga, stream `return-<returnId>`). */
export const RETURN_EVENTS: readonly EventDefinition[] = [
  {
    type: 'return.opened',
    aggregateType: 'return',
    description:
      'A customer opened a return of a whole confirmed order: every line, the captured amount to refund, and why.',
    producer: 'returnSaga / openReturn',
    consumers: ['order-summary'],
    compensation: false,
    versions: [
      v1(
        z.object({
          ...returnOf,
          customerId: z.string().min(1),
          reason: z.string().min(1),
          lines: pricedLines,
          amountCents: cents,
          currency: z.string().regex(/^[A-Z]{3}$/),
        }),
      ),
    ],
  },
  {
    type: 'return.pickup_scheduled',
    aggregateType: 'return',
    description: "The carrier will collect the goods at the order's shipping address.",
    producer: 'returnSaga / schedulePickup',
    consumers: ['order-summary'],
    compensation: false,
    versions: [v1(z.object({ ...returnOf, trackingId }))],
  },
  {
    type: 'return.goods_received',
    aggregateType: 'return',
    description: 'The returned goods arrived at the warehouse; from here the return can no longer be cancelled.',
    producer: 'returnSaga / receiveGoods',
    consumers: ['order-summary'],
    compensation: false,
    versions: [v1(z.object({ ...returnOf, receivedBy: z.string().min(1).nullable() }))],
  },
  {
    type: 'return.refunded',
    aggregateType: 'return',
    description: "The order's captured payment was refunded in full.",
    producer: 'returnSaga / refundReturn',
    consumers: ['order-summary'],
    compensation: false,
    versions: [v1(z.object({ ...returnOf, authorizationId: z.string().min(1), amountCents: cents }))],
  },
  {
    type: 'return.restocked',
    aggregateType: 'return',
    description: 'Every returned line was put back in stock.',
    producer: 'returnSaga / restockReturn',
    consumers: ['order-summary'],
    compensation: false,
    versions: [v1(z.object({ ...returnOf, lines: pricedLines }))],
  },
  {
    type: 'return.completed',
    aggregateType: 'return',
    description: 'Every step of the return succeeded; the return is final.',
    producer: 'returnSaga / completeReturn',
    consumers: ['order-summary'],
    compensation: false,
    versions: [v1(z.object(returnOf))],
  },
  {
    type: 'return.pickup_cancelled',
    aggregateType: 'return',
    description: 'The scheduled pickup was called off (compensates return.pickup_scheduled).',
    producer: 'returnSaga / cancelPickup',
    consumers: ['order-summary'],
    compensation: true,
    versions: [v1(z.object({ ...returnOf, trackingId }))],
  },
  {
    type: 'return.cancelled',
    aggregateType: 'return',
    description:
      'The return ended before the goods were received: why, at which step, and who asked. Always the last event of a failed return that was opened (else return.not_opened).',
    producer: 'returnSaga / cancelReturn',
    consumers: ['order-summary'],
    compensation: true,
    versions: [
      v1(
        z.object({
          ...returnOf,
          ...stopReason,
          requestedBy,
        }),
      ),
    ],
  },
  {
    type: 'return.not_opened',
    aggregateType: 'return',
    description:
      "The saga ended before the return was opened (openReturn was refused or ran out of time, or the run was stopped first): why, at which step, who asked, and whose return it was meant to be. The return's only event, in place of return.cancelled; the order's read model keeps its current return.",
    producer: 'returnSaga / cancelReturn',
    consumers: ['order-summary'],
    // Like return.cancelled: the failure path's last word, though there was nothing to undo.
    compensation: true,
    versions: [
      v1(
        z.object({
          ...returnOf,
          customerId: z.string().min(1),
          ...stopReason,
          requestedBy,
        }),
      ),
    ],
  },
];
