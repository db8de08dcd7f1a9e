import { InvalidTransitionError } from './errors';
import type { OrderState } from './order-state';
import type { OrderCommand, OrderEvent } from './order-types';

/**
 * The Order aggregate as a decider (Emmett style): `evolve` folds events into state,
 * `decide` turns a command into events or refuses it. Pure: no I/O, no clocks.
 * Compensating commands are idempotent: with nothing to undo they decide no events.
 */

export * from './order-types';
export * from './order-state';

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
