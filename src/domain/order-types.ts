/** The Order aggregate's vocabulary: its lines, its events and the commands it decides on. */

export interface OrderLine {
  sku: string;
  quantity: number;
}
/** A line as ordered: the unit price quoted then, or null when it was not known. */
export interface QuotedLine extends OrderLine {
  unitPriceCents: number | null;
}
export interface PricedLine extends OrderLine {
  unitPriceCents: number;
}
export interface ShippingAddress {
  line1: string;
  city: string;
  postalCode: string;
  country: string;
}

export type OrderEvent =
  | {
      type: 'order.created';
      data: {
        orderId: string;
        customerId: string;
        items: QuotedLine[];
        currency: string;
        shippingAddress: ShippingAddress;
      };
    }
  | { type: 'inventory.reserved'; data: { orderId: string; lines: PricedLine[]; totalCents: number } }
  | { type: 'payment.authorized'; data: { orderId: string; authorizationId: string; amountCents: number } }
  | { type: 'order.approval_requested'; data: { orderId: string; totalCents: number; thresholdCents: number } }
  | { type: 'order.approved'; data: { orderId: string; decidedBy: string | null } }
  | { type: 'shipment.scheduled'; data: { orderId: string; trackingId: string } }
  | { type: 'payment.captured'; data: { orderId: string; authorizationId: string; amountCents: number } }
  | { type: 'order.confirmed'; data: { orderId: string } }
  | { type: 'inventory.released'; data: { orderId: string; lines: PricedLine[] } }
  | { type: 'payment.voided'; data: { orderId: string; authorizationId: string; amountCents: number } }
  | { type: 'payment.refunded'; data: { orderId: string; authorizationId: string; amountCents: number } }
  | { type: 'shipment.cancelled'; data: { orderId: string; trackingId: string } }
  | {
      type: 'order.cancelled';
      data: {
        orderId: string;
        reason: string;
        failedStep: string | null;
        /** Steps an operator declared undone by hand (only present when there are any). */
        manuallyResolved?: string[];
        /** Who stopped the order (a customer cancel, an operator rejection), or null. */
        requestedBy: string | null;
      };
    }
  | {
      /** The saga stopped before the order was created: the order's only event. */
      type: 'order.placement_failed';
      data: {
        orderId: string;
        customerId: string;
        reason: string;
        failedStep: string | null;
        requestedBy: string | null;
      };
    };

export type OrderEventType = OrderEvent['type'];

export type OrderCommand =
  | {
      type: 'create';
      orderId: string;
      customerId: string;
      items: QuotedLine[];
      currency: string;
      shippingAddress: ShippingAddress;
    }
  | { type: 'reserveInventory'; lines: PricedLine[]; totalCents: number }
  | { type: 'releaseInventory' }
  | { type: 'authorizePayment'; authorizationId: string; amountCents: number }
  | { type: 'voidPayment' }
  | { type: 'requestApproval'; thresholdCents: number }
  | { type: 'approve'; decidedBy: string | null }
  | { type: 'scheduleShipment'; trackingId: string }
  | { type: 'cancelShipment' }
  | { type: 'capturePayment' }
  | { type: 'refundPayment' }
  | { type: 'confirm' }
  | {
      type: 'cancel';
      reason: string;
      failedStep: string | null;
      /** Saga steps whose compensation an operator resolved by hand: their holds are not checked. */
      manuallyResolved?: string[];
      /** Who asked for the stop, when someone did. */
      requestedBy?: string | null;
      /**
       * Whose order it was meant to be: with them, a cancel of an order never created records
       * that it could not be placed (optional: calls from before it was passed still work).
       */
      orderId?: string;
      customerId?: string;
    };

/** The events that end an order's saga without the order: it was cancelled, or never placed. */
export const ORDER_CANCELLED_EVENTS = [
  'order.cancelled',
  'order.placement_failed',
] as const satisfies readonly OrderEventType[];
/** Every event that ends an order's saga: each order's stream has exactly one. */
export const ORDER_TERMINAL_EVENTS = [
  'order.confirmed',
  ...ORDER_CANCELLED_EVENTS,
] as const satisfies readonly OrderEventType[];
