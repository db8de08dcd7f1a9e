import type { Decider } from './decider';
import { InvalidTransitionError, ReturnNotAllowedError } from './errors';
import type { OrderState, PricedLine } from './order';

/**
 * The Return aggregate as a decider (like the Order): a customer sends a whole confirmed order
 * back. Stream `return-<returnId>`; every event carries the order id, so the order's read model
 * can show its return. Lifecycle:
 *
 *   OPENED → PICKUP_SCHEDULED → GOODS_RECEIVED → REFUNDED → RESTOCKED → COMPLETED
 *
 * and CANCELLED from OPENED (a scheduled pickup is cancelled first: `return.pickup_cancelled`
 * takes the return back to OPENED). Once the goods are received the return can only go forward.
 * A return whose saga stopped before it was opened ends NONE → CANCELLED with
 * `return.not_opened`, the stream's only event.
 * Pure: no I/O, no clocks. Compensating commands are idempotent: with nothing to undo they
 * decide no events.
 */

export type ReturnEvent =
  | {
      type: 'return.opened';
      data: {
        returnId: string;
        orderId: string;
        customerId: string;
        reason: string;
        /** Every line of the order, at the prices charged. */
        lines: PricedLine[];
        /** The order's captured amount: what the return refunds. */
        amountCents: number;
        currency: string;
      };
    }
  | { type: 'return.pickup_scheduled'; data: { returnId: string; orderId: string; trackingId: string } }
  | { type: 'return.pickup_cancelled'; data: { returnId: string; orderId: string; trackingId: string } }
  | { type: 'return.goods_received'; data: { returnId: string; orderId: string; receivedBy: string | null } }
  | {
      type: 'return.refunded';
      data: { returnId: string; orderId: string; authorizationId: string; amountCents: number };
    }
  | { type: 'return.restocked'; data: { returnId: string; orderId: string; lines: PricedLine[] } }
  | { type: 'return.completed'; data: { returnId: string; orderId: string } }
  | {
      type: 'return.cancelled';
      data: {
        returnId: string;
        orderId: string;
        reason: string;
        failedStep: string | null;
        /** Who stopped the return (a customer or an operator), or null when the saga stopped on its own. */
        requestedBy: string | null;
      };
    }
  | {
      /** The saga stopped before the return was opened (refused, out of time, stopped first): the only event. */
      type: 'return.not_opened';
      data: {
        returnId: string;
        orderId: string;
        customerId: string;
        reason: string;
        failedStep: string | null;
        requestedBy: string | null;
      };
    };

export type ReturnEventType = ReturnEvent['type'];

export type ReturnCommand =
  | {
      type: 'open';
      returnId: string;
      orderId: string;
      customerId: string;
      reason: string;
      /** The order as its stream tells it (the activity folds it). */
      order: OrderState;
      /** The order's return that is not cancelled, if it has one. */
      activeReturnId: string | null;
    }
  | { type: 'schedulePickup'; trackingId: string }
  | { type: 'cancelPickup' }
  | { type: 'receiveGoods'; receivedBy: string | null }
  /** `authorizationId`: the order's payment authorization, refunded at the gateway. */
  | { type: 'refund'; authorizationId: string }
  | { type: 'restock' }
  | { type: 'complete' }
  | {
      type: 'cancel';
      reason: string;
      failedStep: string | null;
      requestedBy: string | null;
      /**
       * Whose return it was meant to be: with all three, a cancel of a return never opened
       * records `return.not_opened` (optional: a call from before they were passed still
       * decides nothing, as it did then).
       */
      returnId?: string;
      orderId?: string;
      customerId?: string;
    };

/** Every event that ends a return's saga: each return's stream has exactly one. */
export const RETURN_TERMINAL_EVENTS = [
  'return.completed',
  'return.cancelled',
  'return.not_opened',
] as const satisfies readonly ReturnEventType[];

export type ReturnStatus =
  'NONE' | 'OPENED' | 'PICKUP_SCHEDULED' | 'GOODS_RECEIVED' | 'REFUNDED' | 'RESTOCKED' | 'COMPLETED' | 'CANCELLED';

/** The statuses an existing return can have (what the read model shows). */
export const RETURN_STATUSES = [
  'OPENED',
  'PICKUP_SCHEDULED',
  'GOODS_RECEIVED',
  'REFUNDED',
  'RESTOCKED',
  'COMPLETED',
  'CANCELLED',
] as const satisfies readonly Exclude<ReturnStatus, 'NONE'>[];

export interface ReturnState {
  returnId: string | null;
  orderId: string | null;
  customerId: string | null;
  status: ReturnStatus;
  reason: string | null;
  lines: PricedLine[];
  amountCents: number;
  currency: string | null;
  pickup: 'NONE' | 'SCHEDULED' | 'CANCELLED' | 'COMPLETED';
  trackingId: string | null;
  receivedBy: string | null;
  authorizationId: string | null;
  refundedCents: number;
  cancellation: { reason: string; failedStep: string | null; requestedBy: string | null } | null;
}

export const initialState = (): ReturnState => ({
  returnId: null,
  orderId: null,
  customerId: null,
  status: 'NONE',
  reason: null,
  lines: [],
  amountCents: 0,
  currency: null,
  pickup: 'NONE',
  trackingId: null,
  receivedBy: null,
  authorizationId: null,
  refundedCents: 0,
  cancellation: null,
});

export function evolve(state: ReturnState, event: ReturnEvent): ReturnState {
  switch (event.type) {
    case 'return.opened': {
      const { returnId, orderId, customerId, reason, lines, amountCents, currency } = event.data;
      return { ...state, returnId, orderId, customerId, reason, lines, amountCents, currency, status: 'OPENED' };
    }
    case 'return.pickup_scheduled':
      return { ...state, pickup: 'SCHEDULED', trackingId: event.data.trackingId, status: 'PICKUP_SCHEDULED' };
    case 'return.pickup_cancelled':
      return { ...state, pickup: 'CANCELLED', status: 'OPENED' };
    case 'return.goods_received':
      return { ...state, pickup: 'COMPLETED', receivedBy: event.data.receivedBy, status: 'GOODS_RECEIVED' };
    case 'return.refunded':
      return {
        ...state,
        authorizationId: event.data.authorizationId,
        refundedCents: event.data.amountCents,
        status: 'REFUNDED',
      };
    case 'return.restocked':
      return { ...state, status: 'RESTOCKED' };
    case 'return.completed':
      return { ...state, status: 'COMPLETED' };
    case 'return.cancelled': {
      const { reason, failedStep, requestedBy } = event.data;
      return { ...state, status: 'CANCELLED', cancellation: { reason, failedStep, requestedBy } };
    }
    case 'return.not_opened': {
      // Ends the return as CANCELLED with its ids, so a late open is refused ("already exists").
      const { returnId, orderId, customerId, reason, failedStep, requestedBy } = event.data;
      return {
        ...state,
        returnId,
        orderId,
        customerId,
        status: 'CANCELLED',
        cancellation: { reason, failedStep, requestedBy },
      };
    }
    default:
      // An event type this version does not know changes nothing it decides on.
      return state;
  }
}

export const fold = (events: ReturnEvent[]): ReturnState => events.reduce(evolve, initialState());

function refuse(state: ReturnState, command: ReturnCommand, why: string): never {
  throw new InvalidTransitionError(`Cannot ${command.type} return ${state.returnId ?? '(new)'}: ${why}`, {
    command: command.type,
    status: state.status,
  });
}

/** Goods in hand: the return can no longer be cancelled, only completed. */
const goodsReceived = (state: ReturnState) =>
  state.status === 'GOODS_RECEIVED' || state.status === 'REFUNDED' || state.status === 'RESTOCKED';

/** The return exists and is neither cancelled nor completed; returns the ids its events carry. */
function requireActive(state: ReturnState, command: ReturnCommand): { returnId: string; orderId: string } {
  if (state.returnId === null || state.orderId === null) refuse(state, command, 'the return does not exist');
  if (state.status === 'CANCELLED' || state.status === 'COMPLETED') {
    refuse(state, command, `the return is already ${state.status.toLowerCase()}`);
  }
  return { returnId: state.returnId, orderId: state.orderId };
}

/** The return must be exactly at `status` (the lifecycle is a line). */
function requireStatus(state: ReturnState, command: ReturnCommand, status: ReturnStatus, why: string) {
  const ids = requireActive(state, command);
  if (state.status !== status) refuse(state, command, `${why} (the return is ${state.status})`);
  return ids;
}

function decideOpen(command: Extract<ReturnCommand, { type: 'open' }>, state: ReturnState): ReturnEvent[] {
  if (state.returnId !== null) refuse(state, command, 'the return already exists');
  const { returnId, orderId, customerId, reason, order, activeReturnId } = command;
  const notAllowed = (rule: string, why: string): never => {
    throw new ReturnNotAllowedError(`Cannot open a return for order ${orderId}: ${why}`, { rule, orderId });
  };
  if (order.orderId !== orderId) notAllowed('ORDER_NOT_FOUND', 'the order does not exist');
  if (order.status !== 'CONFIRMED' || order.payment !== 'CAPTURED') {
    notAllowed('ORDER_NOT_CONFIRMED', `the order is ${order.status.toLowerCase()}, not confirmed`);
  }
  if (order.customerId !== customerId) notAllowed('NOT_YOUR_ORDER', 'the order belongs to another customer');
  if (activeReturnId !== null) notAllowed('RETURN_EXISTS', `the order already has return ${activeReturnId}`);
  return [
    {
      type: 'return.opened',
      data: {
        returnId,
        orderId,
        customerId,
        reason,
        lines: order.lines,
        amountCents: order.paymentAmountCents,
        currency: order.currency!,
      },
    },
  ];
}

export function decide(command: ReturnCommand, state: ReturnState): ReturnEvent[] {
  switch (command.type) {
    case 'open':
      return decideOpen(command, state);
    case 'schedulePickup': {
      const ids = requireActive(state, command);
      if (state.pickup !== 'NONE') refuse(state, command, `the pickup is already ${state.pickup.toLowerCase()}`);
      return [{ type: 'return.pickup_scheduled', data: { ...ids, trackingId: command.trackingId } }];
    }
    case 'receiveGoods': {
      const ids = requireStatus(state, command, 'PICKUP_SCHEDULED', 'no pickup is scheduled');
      return [{ type: 'return.goods_received', data: { ...ids, receivedBy: command.receivedBy } }];
    }
    case 'refund': {
      const ids = requireStatus(state, command, 'GOODS_RECEIVED', 'the goods are not received');
      return [
        {
          type: 'return.refunded',
          data: { ...ids, authorizationId: command.authorizationId, amountCents: state.amountCents },
        },
      ];
    }
    case 'restock': {
      const ids = requireStatus(state, command, 'REFUNDED', 'the return is not refunded');
      return [{ type: 'return.restocked', data: { ...ids, lines: state.lines } }];
    }
    case 'complete': {
      const ids = requireStatus(state, command, 'RESTOCKED', 'the goods are not restocked');
      return [{ type: 'return.completed', data: ids }];
    }
    // Compensations: nothing to undo decides nothing; goods in hand cannot be undone.
    case 'cancelPickup': {
      if (state.returnId === null || state.status === 'CANCELLED') return [];
      if (goodsReceived(state) || state.status === 'COMPLETED')
        refuse(state, command, 'the goods are already received');
      if (state.pickup !== 'SCHEDULED') return [];
      return [
        {
          type: 'return.pickup_cancelled',
          data: { returnId: state.returnId, orderId: state.orderId!, trackingId: state.trackingId! },
        },
      ];
    }
    case 'cancel': {
      if (state.returnId === null) return decideNotOpened(command);
      // Already at an end: nothing to cancel.
      if (state.status === 'CANCELLED' || state.status === 'COMPLETED') return [];
      if (goodsReceived(state)) refuse(state, command, 'the goods are already received');
      // Cancelling is the saga's last word: the pickup must be cancelled first.
      if (state.pickup === 'SCHEDULED') refuse(state, command, 'the pickup is still scheduled');
      const { reason, failedStep, requestedBy } = command;
      return [
        {
          type: 'return.cancelled',
          data: { returnId: state.returnId, orderId: state.orderId!, reason, failedStep, requestedBy },
        },
      ];
    }
  }
}

/**
 * A cancel before the return exists (opening it was refused, ran out of time, or never ran):
 * the saga still owes an outcome, so it records that the return was not opened, for the order
 * and customer the command names. A command that does not name them (an activity task
 * scheduled before they were passed) decides nothing, as every cancel of a never-opened return
 * did before: refusing would fail the saga's stop for good, since its input cannot change.
 */
function decideNotOpened(command: Extract<ReturnCommand, { type: 'cancel' }>): ReturnEvent[] {
  const { returnId, orderId, customerId, reason, failedStep, requestedBy } = command;
  if (!returnId || !orderId || !customerId) return [];
  return [{ type: 'return.not_opened', data: { returnId, orderId, customerId, reason, failedStep, requestedBy } }];
}

/** The Return decider, for the activities' command runner. */
export const returnDecider: Decider<ReturnState, ReturnEvent, ReturnCommand> = {
  aggregateType: 'return',
  initialState,
  evolve,
  decide,
};
