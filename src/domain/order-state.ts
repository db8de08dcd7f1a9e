import type { OrderEvent, PricedLine, QuotedLine, ShippingAddress } from './order-types';

/** The Order aggregate's state and `evolve`, which folds its events into it. Pure. */

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
