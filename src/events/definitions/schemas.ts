import { z } from 'zod';

/** Payload pieces the order and return events share. */

export const orderId = z.uuid();
export const sku = z.string().min(1).max(64);
export const quantity = z.number().int().positive();
export const cents = z.number().int().min(0);
export const shippingAddress = z.object({
  line1: z.string().min(1),
  city: z.string().min(1),
  postalCode: z.string().min(1),
  country: z.string().regex(/^[A-Z]{2}$/),
});
export const pricedLines = z.array(z.object({ sku, quantity, unitPriceCents: cents })).min(1);
export const payment = { orderId, authorizationId: z.string().min(1), amountCents: cents };
/** Every return event names its return and the order it returns (the order's read model shows it). */
export const returnOf = { returnId: z.uuid(), orderId };
export const trackingId = z.string().min(1);
/** Why a saga stopped and at which step (null: before any); every stop event carries it. */
export const stopReason = { reason: z.string().min(1), failedStep: z.string().min(1).nullable() };
/** Who stopped it (the customer or operator key); null when it stopped on its own. */
export const requestedBy = z.string().min(1).nullable();

/** Currency of every amount; the catalog and the shop are single-currency for now. */
export const CURRENCY = 'USD';
