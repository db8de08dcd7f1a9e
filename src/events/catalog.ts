import { z } from 'zod';
import {
  EventRegistrationError,
  EventSchemaViolationError,
  UnknownEventTypeError,
  UnknownEventVersionError,
} from './errors';

/**
 * The event catalog: every event type the system emits, with a zod schema per schema
 * version, upcasters from each version to the next, who produces it and who consumes it.
 * Writers validate against the newest version; readers upcast step by step, then validate.
 * Released versions are frozen by `events.lock.json` (see `catalog-check.ts`).
 */

export type Upcaster = (payload: Record<string, unknown>) => Record<string, unknown>;

export interface EventVersion {
  schema: z.ZodObject;
  /** Turns a payload of the previous version into this version's shape (absent for v1). */
  upcastFrom?: Upcaster;
  /** What changed in this version. */
  note: string;
}

export interface EventDefinition {
  type: string;
  /** The aggregate whose stream holds it (`order-<orderId>`, `return-<returnId>`; a plugin's own, e.g. `booking`). */
  aggregateType: string;
  description: string;
  /** The saga step (activity) that appends it. */
  producer: string;
  /** Consumers that handle it (src/consumers; `order-summary` is the read model, still to come). */
  consumers: string[];
  /** Undoes an earlier event (part of a failure path). */
  compensation: boolean;
  /** versions[0] is schema version 1. */
  versions: EventVersion[];
}

// ---- shared pieces --------------------------------------------------------------------

const orderId = z.uuid();
const sku = z.string().min(1).max(64);
const quantity = z.number().int().positive();
const cents = z.number().int().min(0);
const shippingAddress = z.object({
  line1: z.string().min(1),
  city: z.string().min(1),
  postalCode: z.string().min(1),
  country: z.string().regex(/^[A-Z]{2}$/),
});
const pricedLines = z.array(z.object({ sku, quantity, unitPriceCents: cents })).min(1);
const payment = { orderId, authorizationId: z.string().min(1), amountCents: cents };
/** Every return event names its return and the order it returns (the order's read model shows it). */
const returnOf = { returnId: z.uuid(), orderId };
const trackingId = z.string().min(1);

/** Currency of every amount; the catalog and the shop are single-currency for now. */
export const CURRENCY = 'USD';

const v1 = (schema: z.ZodObject): EventVersion => ({ schema, note: 'First release.' });

// ---- the catalog ------------------------------------------------------------------------

export const EVENT_DEFINITIONS: readonly EventDefinition[] = [
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
          reason: z.string().min(1),
          failedStep: z.string().min(1).nullable(),
          manuallyResolved: z.array(z.string().min(1)).min(1).optional(),
        }),
      ),
      {
        schema: z.object({
          orderId,
          reason: z.string().min(1),
          failedStep: z.string().min(1).nullable(),
          manuallyResolved: z.array(z.string().min(1)).min(1).optional(),
          requestedBy: z.string().min(1).nullable(),
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
          reason: z.string().min(1),
          failedStep: z.string().min(1).nullable(),
          requestedBy: z.string().min(1).nullable(),
        }),
      ),
    ],
  },
  // ---- order returns (returnSaga, stream `return-<returnId>`) ----------------------------
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
          reason: z.string().min(1),
          failedStep: z.string().min(1).nullable(),
          requestedBy: z.string().min(1).nullable(),
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
          reason: z.string().min(1),
          failedStep: z.string().min(1).nullable(),
          requestedBy: z.string().min(1).nullable(),
        }),
      ),
    ],
  },
];

const BY_TYPE = new Map(EVENT_DEFINITIONS.map((d) => [d.type, d]));

/**
 * Adds event types to this process's catalog (types a newer version or a team's own code
 * defines), before the consumers and sagas that use them are defined. A type already
 * known is refused: its versions are released and frozen.
 */
export function registerEvents(definitions: readonly EventDefinition[]): void {
  for (const d of definitions) {
    if (BY_TYPE.has(d.type)) throw new EventRegistrationError(`Event type ${d.type} is already in the catalog`);
    if (d.versions.length === 0) throw new EventRegistrationError(`Event type ${d.type} has no schema version`);
  }
  for (const d of definitions) BY_TYPE.set(d.type, d);
}

export function eventDefinition(type: string): EventDefinition {
  const definition = BY_TYPE.get(type);
  if (!definition) throw new UnknownEventTypeError(type);
  return definition;
}

export const latestVersion = (type: string): number => eventDefinition(type).versions.length;

function validate(type: string, version: number, schema: z.ZodObject, payload: unknown): Record<string, unknown> {
  const result = schema.safeParse(payload);
  if (result.success) return result.data as Record<string, unknown>;
  throw new EventSchemaViolationError(
    type,
    version,
    result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  );
}

/**
 * Checks a payload about to be appended against the newest version of its type and returns
 * the version to store. An invalid event is a programming error: it throws, nothing is written.
 */
export function validateNewEvent(
  type: string,
  payload: unknown,
): { schemaVersion: number; payload: Record<string, unknown> } {
  const definition = eventDefinition(type);
  const schemaVersion = definition.versions.length;
  return { schemaVersion, payload: validate(type, schemaVersion, definition.versions.at(-1)!.schema, payload) };
}

/**
 * Reads a stored payload: validates it against its own version, upcasts it step by step to
 * the newest version and validates the result. Throws UnknownEventTypeError,
 * UnknownEventVersionError or EventSchemaViolationError.
 */
export function upcastToLatest(
  type: string,
  schemaVersion: number,
  payload: unknown,
): { schemaVersion: number; payload: Record<string, unknown> } {
  return upcastWith(eventDefinition(type), schemaVersion, payload);
}

/** `upcastToLatest` for a given definition (the compatibility gate checks candidate catalogs). */
export function upcastWith(
  definition: EventDefinition,
  schemaVersion: number,
  payload: unknown,
): { schemaVersion: number; payload: Record<string, unknown> } {
  const { type } = definition;
  const latest = definition.versions.length;
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1 || schemaVersion > latest) {
    throw new UnknownEventVersionError(type, schemaVersion, latest);
  }
  let current = validate(type, schemaVersion, definition.versions[schemaVersion - 1]!.schema, payload);
  for (let v = schemaVersion + 1; v <= latest; v++) {
    const next = definition.versions[v - 1]!;
    if (!next.upcastFrom) throw new Error(`${type} v${v} has no upcaster from v${v - 1}`);
    current = validate(type, v, next.schema, next.upcastFrom(current));
  }
  return { schemaVersion: latest, payload: current };
}
