import { randomUUID } from 'node:crypto';
import { CURRENCY, validateNewEvent } from '../../src/events/catalog';
import type { EventMetadata, NewEvent } from '../../src/store/event-store';

/**
 * Realistic order streams for the store benchmarks: the events the order saga appends, with
 * payloads shaped like test/fixtures/events (validated against the catalog's newest schemas,
 * as activities validate them) and the metadata activities attach.
 */

export type StoryKind = 'confirmed' | 'payment-declined' | 'out-of-stock' | 'shipment-failed';

/** Most orders complete; the rest fail at one step and compensate what was done, as the saga does. */
export function storyKindOf(n: number): StoryKind {
  const r = n % 20;
  if (r < 16) return 'confirmed'; // 80 %
  if (r < 18) return 'payment-declined'; // 10 %
  if (r < 19) return 'out-of-stock'; // 5 %
  return 'shipment-failed'; // 5 %
}

const SKUS = ['SKU-0001', 'SKU-0002', 'SKU-0003', 'SKU-0004', 'SKU-0005', 'SKU-0006', 'SKU-0007', 'SKU-0008'];

/** The events of one whole order (one saga run), in stream order. */
export function orderStory(orderId: string, kind: StoryKind, n = 0): { type: string; data: Record<string, unknown> }[] {
  const lines = [
    { sku: SKUS[n % SKUS.length]!, quantity: 1 + (n % 3), unitPriceCents: 999 + (n % 7) * 100 },
    { sku: SKUS[(n + 3) % SKUS.length]!, quantity: 1, unitPriceCents: 2999 },
  ];
  const totalCents = lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
  const authorizationId = `auth_${randomUUID()}`;
  const trackingId = `TRK-${orderId.slice(0, 12).toUpperCase()}`;
  const payment = { orderId, authorizationId, amountCents: totalCents };
  const created = {
    type: 'order.created',
    data: {
      orderId,
      customerId: `cust-${n % 997}`,
      items: lines.map((l) => ({ ...l })),
      currency: CURRENCY,
      shippingAddress: { line1: `${1 + (n % 200)} Main St`, city: 'Berlin', postalCode: '10115', country: 'DE' },
    },
  };
  const reserved = { type: 'inventory.reserved', data: { orderId, lines, totalCents } };
  const authorized = { type: 'payment.authorized', data: payment };
  const cancelled = (reason: string, failedStep: string) => ({
    type: 'order.cancelled',
    data: { orderId, reason, failedStep, requestedBy: null },
  });
  switch (kind) {
    case 'confirmed':
      return [
        created,
        reserved,
        authorized,
        { type: 'shipment.scheduled', data: { orderId, trackingId } },
        { type: 'payment.captured', data: payment },
        { type: 'order.confirmed', data: { orderId } },
      ];
    case 'payment-declined':
      return [
        created,
        reserved,
        { type: 'inventory.released', data: { orderId, lines } },
        cancelled('PaymentDeclined', 'authorizePayment'),
      ];
    case 'out-of-stock':
      return [created, cancelled('InsufficientStock', 'reserveInventory')];
    case 'shipment-failed':
      return [
        created,
        reserved,
        authorized,
        { type: 'payment.voided', data: payment },
        { type: 'inventory.released', data: { orderId, lines } },
        cancelled('CarrierUnavailable', 'scheduleShipment'),
      ];
  }
}

/** The metadata an activity attaches to what it appends. */
export function activityMetadata(orderId: string, step: string): EventMetadata {
  const workflowId = `order-${orderId}`;
  return { correlationId: randomUUID(), causationId: `${workflowId}/${step}`, workflowId, runId: randomUUID() };
}

/** A story as the store's NewEvents: validated against the newest schema, with activity metadata. */
export function toNewEvents(orderId: string, story: { type: string; data: Record<string, unknown> }[]): NewEvent[] {
  return story.map((e) => ({
    eventType: e.type,
    ...validateNewEvent(e.type, e.data),
    metadata: activityMetadata(orderId, e.type),
  }));
}

/** Mean size in bytes of payload + metadata as JSON (what each append carries). */
export const meanEventBytes = (events: readonly NewEvent[]): number =>
  events.length === 0
    ? 0
    : events.reduce((sum, e) => sum + JSON.stringify(e.payload).length + JSON.stringify(e.metadata ?? {}).length, 0) /
      events.length;
