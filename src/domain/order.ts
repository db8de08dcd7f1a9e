import { InvalidTransitionError } from './errors';

/**
 * The Order aggregate as a decider (Emmett style): `evolve` folds events into state,
 * `decide` turns a command into events or refuses it. Pure: no I/O, no clocks.
 * Compensating commands are idempotent: with nothing to undo they decide no events.
 */

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

export type OrderStatus = 'NEW' | 'PENDING' | 'AWAITING_APPROVAL' | 'CONFIRMED' | 'CANCELLED';

export interface OrderState {
  orderId: string | null;
  customerId: string | null;
  status: OrderStatus;
  items: QuotedLine[];
  currency: string | null;
  shippingAddress: ShippingAddress | null;
  inventory: 'NONE' | 'RESERVED' | 'RELEASED';
  lines: PricedLine[];
  totalCents: number;
  payment: 'NONE' | 'AUTHORIZED' | 'CAPTURED' | 'VOIDED' | 'REFUNDED';
  authorizationId: string | null;
  paymentAmountCents: number;
  approval: 'NOT_REQUIRED' | 'REQUESTED' | 'APPROVED';
  shipment: 'NONE' | 'SCHEDULED' | 'CANCELLED';
  trackingId: string | null;
  cancellation: { reason: string; failedStep: string | null } | null;
}

export const initialState = (): OrderState => ({
  orderId: null,
  customerId: null,
  status: 'NEW',
  items: [],
  currency: null,
  shippingAddress: null,
  inventory: 'NONE',
  lines: [],
  totalCents: 0,
  payment: 'NONE',
  authorizationId: null,
  paymentAmountCents: 0,
  approval: 'NOT_REQUIRED',
  shipment: 'NONE',
  trackingId: null,
  cancellation: null,
});

export function evolve(state: OrderState, event: OrderEvent): OrderState {
  switch (event.type) {
    case 'order.created':
      return {
        ...state,
        orderId: event.data.orderId,
        customerId: event.data.customerId,
        items: event.data.items,
        currency: event.data.currency,
        shippingAddress: event.data.shippingAddress,
        status: 'PENDING',
      };
    case 'inventory.reserved':
      return { ...state, inventory: 'RESERVED', lines: event.data.lines, totalCents: event.data.totalCents };
    case 'inventory.released':
      return { ...state, inventory: 'RELEASED' };
    case 'payment.authorized':
      return {
        ...state,
        payment: 'AUTHORIZED',
        authorizationId: event.data.authorizationId,
        paymentAmountCents: event.data.amountCents,
      };
    case 'payment.voided':
      return { ...state, payment: 'VOIDED' };
    case 'payment.captured':
      return { ...state, payment: 'CAPTURED' };
    case 'payment.refunded':
      return { ...state, payment: 'REFUNDED' };
    case 'order.approval_requested':
      return { ...state, approval: 'REQUESTED', status: 'AWAITING_APPROVAL' };
    case 'order.approved':
      return { ...state, approval: 'APPROVED', status: 'PENDING' };
    case 'shipment.scheduled':
      return { ...state, shipment: 'SCHEDULED', trackingId: event.data.trackingId };
    case 'shipment.cancelled':
      return { ...state, shipment: 'CANCELLED' };
    case 'order.confirmed':
      return { ...state, status: 'CONFIRMED' };
    case 'order.cancelled':
      return {
        ...state,
        status: 'CANCELLED',
        cancellation: { reason: event.data.reason, failedStep: event.data.failedStep },
      };
    case 'order.placement_failed':
      return {
        ...state,
        orderId: event.data.orderId,
        customerId: event.data.customerId,
        status: 'CANCELLED',
        cancellation: { reason: event.data.reason, failedStep: event.data.failedStep },
      };
    default:
      // An event type this version does not know changes nothing it decides on.
      return state;
  }
}

export const fold = (events: OrderEvent[]): OrderState => events.reduce(evolve, initialState());

function refuse(state: OrderState, command: OrderCommand, why: string): never {
  throw new InvalidTransitionError(`Cannot ${command.type} order ${state.orderId ?? '(new)'}: ${why}`, {
    command: command.type,
    status: state.status,
  });
}

function requireOpen(state: OrderState, command: OrderCommand): string {
  if (state.orderId === null) refuse(state, command, 'the order does not exist');
  if (state.status === 'CANCELLED' || state.status === 'CONFIRMED') {
    refuse(state, command, `the order is already ${state.status.toLowerCase()}`);
  }
  return state.orderId;
}

export function decide(command: OrderCommand, state: OrderState): OrderEvent[] {
  switch (command.type) {
    case 'create': {
      if (state.orderId !== null) refuse(state, command, 'the order already exists');
      const { orderId, customerId, items, currency, shippingAddress } = command;
      return [{ type: 'order.created', data: { orderId, customerId, items, currency, shippingAddress } }];
    }
    case 'reserveInventory': {
      const orderId = requireOpen(state, command);
      if (state.inventory !== 'NONE') refuse(state, command, `inventory is already ${state.inventory.toLowerCase()}`);
      return [{ type: 'inventory.reserved', data: { orderId, lines: command.lines, totalCents: command.totalCents } }];
    }
    case 'authorizePayment': {
      const orderId = requireOpen(state, command);
      if (state.inventory !== 'RESERVED') refuse(state, command, 'inventory is not reserved');
      if (state.payment !== 'NONE') refuse(state, command, `payment is already ${state.payment.toLowerCase()}`);
      return [
        {
          type: 'payment.authorized',
          data: { orderId, authorizationId: command.authorizationId, amountCents: command.amountCents },
        },
      ];
    }
    case 'requestApproval': {
      const orderId = requireOpen(state, command);
      if (state.approval !== 'NOT_REQUIRED') return [];
      if (state.inventory !== 'RESERVED') refuse(state, command, 'inventory is not reserved (the total is unknown)');
      if (state.shipment !== 'NONE') refuse(state, command, 'the shipment is already scheduled');
      return [
        {
          type: 'order.approval_requested',
          data: { orderId, totalCents: state.totalCents, thresholdCents: command.thresholdCents },
        },
      ];
    }
    case 'approve': {
      const orderId = requireOpen(state, command);
      if (state.approval === 'APPROVED') return [];
      if (state.approval !== 'REQUESTED') refuse(state, command, 'no approval was requested');
      return [{ type: 'order.approved', data: { orderId, decidedBy: command.decidedBy } }];
    }
    case 'scheduleShipment': {
      const orderId = requireOpen(state, command);
      if (state.payment !== 'AUTHORIZED') refuse(state, command, 'payment is not authorized');
      if (state.approval === 'REQUESTED') refuse(state, command, 'the order awaits approval');
      if (state.shipment !== 'NONE') refuse(state, command, `shipment is already ${state.shipment.toLowerCase()}`);
      return [{ type: 'shipment.scheduled', data: { orderId, trackingId: command.trackingId } }];
    }
    case 'capturePayment': {
      const orderId = requireOpen(state, command);
      if (state.approval === 'REQUESTED') refuse(state, command, 'the order awaits approval');
      if (state.payment !== 'AUTHORIZED') refuse(state, command, 'payment is not authorized');
      if (state.shipment !== 'SCHEDULED') refuse(state, command, 'shipment is not scheduled');
      return [
        {
          type: 'payment.captured',
          data: { orderId, authorizationId: state.authorizationId!, amountCents: state.paymentAmountCents },
        },
      ];
    }
    case 'confirm': {
      const orderId = requireOpen(state, command);
      if (state.approval === 'REQUESTED') refuse(state, command, 'the order awaits approval');
      if (state.payment !== 'CAPTURED') refuse(state, command, 'payment is not captured');
      if (state.shipment !== 'SCHEDULED') refuse(state, command, 'shipment is not scheduled');
      return [{ type: 'order.confirmed', data: { orderId } }];
    }
    // Compensations: nothing to undo decides nothing. A confirmed order is final: its
    // reservation and capture are consumed, not held, so nothing is undone.
    case 'releaseInventory':
    case 'voidPayment':
    case 'refundPayment':
    case 'cancelShipment':
      if (state.status === 'CONFIRMED') refuse(state, command, 'the order is already confirmed');
      return decideCompensation(command, state);
    case 'cancel': {
      if (state.status === 'CANCELLED') return [];
      if (state.orderId === null) return decidePlacementFailed(command, state);
      const orderId = requireOpen(state, command);
      // Cancelling is the saga's last word: everything it did must be undone first, except
      // what an operator declared undone by hand.
      const byHand = new Set(command.manuallyResolved ?? []);
      if (state.inventory === 'RESERVED' && !byHand.has('reserveInventory')) {
        refuse(state, command, 'inventory is still reserved');
      }
      if (state.payment === 'AUTHORIZED' && !byHand.has('authorizePayment'))
        refuse(state, command, 'payment is still authorized');
      if (state.payment === 'CAPTURED' && !byHand.has('capturePayment'))
        refuse(state, command, 'payment is still captured');
      if (state.shipment === 'SCHEDULED' && !byHand.has('scheduleShipment')) {
        refuse(state, command, 'shipment is still scheduled');
      }
      const { reason, failedStep } = command;
      const requestedBy = command.requestedBy ?? null;
      return [
        {
          type: 'order.cancelled',
          data: byHand.size
            ? { orderId, reason, failedStep, manuallyResolved: [...byHand], requestedBy }
            : { orderId, reason, failedStep, requestedBy },
        },
      ];
    }
  }
}

/**
 * A cancel before the order exists (its creation failed or never ran): the saga still owes the
 * customer an outcome, so it records that the order could not be placed. Without the customer
 * there is nobody to tell and nothing to show: refused.
 */
function decidePlacementFailed(command: Extract<OrderCommand, { type: 'cancel' }>, state: OrderState): OrderEvent[] {
  const { orderId, customerId, reason, failedStep } = command;
  if (!orderId || !customerId) {
    refuse(state, command, 'the order does not exist, and the command does not say whose order it was meant to be');
  }
  return [
    {
      type: 'order.placement_failed',
      data: { orderId, customerId, reason, failedStep, requestedBy: command.requestedBy ?? null },
    },
  ];
}

function decideCompensation(
  command: Extract<OrderCommand, { type: 'releaseInventory' | 'voidPayment' | 'refundPayment' | 'cancelShipment' }>,
  state: OrderState,
): OrderEvent[] {
  switch (command.type) {
    case 'releaseInventory':
      return state.inventory === 'RESERVED'
        ? [{ type: 'inventory.released', data: { orderId: state.orderId!, lines: state.lines } }]
        : [];
    case 'voidPayment':
      return state.payment === 'AUTHORIZED'
        ? [
            {
              type: 'payment.voided',
              data: {
                orderId: state.orderId!,
                authorizationId: state.authorizationId!,
                amountCents: state.paymentAmountCents,
              },
            },
          ]
        : [];
    case 'refundPayment':
      return state.payment === 'CAPTURED'
        ? [
            {
              type: 'payment.refunded',
              data: {
                orderId: state.orderId!,
                authorizationId: state.authorizationId!,
                amountCents: state.paymentAmountCents,
              },
            },
          ]
        : [];
    case 'cancelShipment':
      return state.shipment === 'SCHEDULED'
        ? [{ type: 'shipment.cancelled', data: { orderId: state.orderId!, trackingId: state.trackingId! } }]
        : [];
  }
}
