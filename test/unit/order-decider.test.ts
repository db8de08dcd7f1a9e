import { InvalidTransitionError } from '../../src/domain/errors';
import {
  decide,
  evolve,
  fold,
  initialState,
  type OrderCommand,
  type OrderEvent,
  type QuotedLine,
  type PricedLine,
  type ShippingAddress,
} from '../../src/domain/order';

// ---------------------------------------------------------------------------------------
// Emmett-style given/when/then on top of the pure decider.
// ---------------------------------------------------------------------------------------

type ErrorClass = abstract new (...args: never[]) => Error;

function given(events: OrderEvent[]) {
  return {
    when(command: OrderCommand) {
      const run = (): OrderEvent[] => decide(command, fold(events));
      return {
        then(expected: OrderEvent[]): void {
          expect(run()).toEqual(expected);
        },
        thenThrows(errorClass: ErrorClass, message: RegExp): Error {
          let caught: unknown;
          try {
            run();
          } catch (error) {
            caught = error;
          }
          expect(caught).toBeInstanceOf(errorClass);
          expect((caught as Error).message).toMatch(message);
          return caught as Error;
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------
// Realistic fixtures.
// ---------------------------------------------------------------------------------------

const orderId = '6f1c2b9e-4a7d-4c3e-9b8a-2d5f0e1a7c43';
const customerId = 'cust-1';
const items: QuotedLine[] = [{ sku: 'SKU-0001', quantity: 2, unitPriceCents: 1250 }];
const currency = 'USD';
const shippingAddress: ShippingAddress = { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' };
const lines: PricedLine[] = [{ sku: 'SKU-0001', quantity: 2, unitPriceCents: 1250 }];
const totalCents = 2500;
const authorizationId = 'auth_1';
const trackingId = 'TRK-1';

const cmd = {
  create: { type: 'create', orderId, customerId, items, currency, shippingAddress },
  reserveInventory: { type: 'reserveInventory', lines, totalCents },
  authorizePayment: { type: 'authorizePayment', authorizationId, amountCents: totalCents },
  requestApproval: { type: 'requestApproval', thresholdCents: 2000 },
  approve: { type: 'approve', decidedBy: 'ops' },
  scheduleShipment: { type: 'scheduleShipment', trackingId },
  capturePayment: { type: 'capturePayment' },
  confirm: { type: 'confirm' },
  releaseInventory: { type: 'releaseInventory' },
  voidPayment: { type: 'voidPayment' },
  refundPayment: { type: 'refundPayment' },
  cancelShipment: { type: 'cancelShipment' },
  cancel: { type: 'cancel', reason: 'payment declined', failedStep: 'authorizePayment' },
} satisfies Record<string, OrderCommand>;

const created: OrderEvent = { type: 'order.created', data: { orderId, customerId, items, currency, shippingAddress } };
const reserved: OrderEvent = { type: 'inventory.reserved', data: { orderId, lines, totalCents } };
const authorized: OrderEvent = {
  type: 'payment.authorized',
  data: { orderId, authorizationId, amountCents: totalCents },
};
const approvalRequested: OrderEvent = {
  type: 'order.approval_requested',
  data: { orderId, totalCents, thresholdCents: 2000 },
};
const approved: OrderEvent = { type: 'order.approved', data: { orderId, decidedBy: 'ops' } };
const scheduled: OrderEvent = { type: 'shipment.scheduled', data: { orderId, trackingId } };
const captured: OrderEvent = { type: 'payment.captured', data: { orderId, authorizationId, amountCents: totalCents } };
const confirmed: OrderEvent = { type: 'order.confirmed', data: { orderId } };
const released: OrderEvent = { type: 'inventory.released', data: { orderId, lines } };
const voided: OrderEvent = { type: 'payment.voided', data: { orderId, authorizationId, amountCents: totalCents } };
const refunded: OrderEvent = { type: 'payment.refunded', data: { orderId, authorizationId, amountCents: totalCents } };
const shipmentCancelled: OrderEvent = { type: 'shipment.cancelled', data: { orderId, trackingId } };
const cancelled: OrderEvent = {
  type: 'order.cancelled',
  data: { orderId, reason: 'payment declined', failedStep: 'authorizePayment', requestedBy: null },
};

const happyPath: OrderEvent[] = [created, reserved, authorized, scheduled, captured, confirmed];

// ---------------------------------------------------------------------------------------

describe('Order decider: evolve/fold', () => {
  it('initialState() is NEW with nothing held', () => {
    expect(initialState()).toEqual({
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
  });

  it('fold([]) equals initialState()', () => {
    expect(fold([])).toEqual(initialState());
  });

  it('initialState() returns a fresh object each time', () => {
    const a = initialState();
    a.items.push({ sku: 'SKU-9999', quantity: 1, unitPriceCents: null });
    expect(initialState().items).toEqual([]);
  });

  it('order.created makes the order PENDING and records customer, items and address', () => {
    expect(evolve(initialState(), created)).toEqual({
      ...initialState(),
      orderId,
      customerId,
      items,
      currency,
      shippingAddress,
      status: 'PENDING',
    });
  });

  it('order.cancelled records the reason and failed step', () => {
    const state = fold([created, reserved, released, cancelled]);
    expect(state.status).toBe('CANCELLED');
    expect(state.cancellation).toEqual({ reason: 'payment declined', failedStep: 'authorizePayment' });
    expect(state.inventory).toBe('RELEASED');
  });
});

describe('Order decider: happy path', () => {
  it('create gives order.created', () => {
    given([]).when(cmd.create).then([created]);
  });

  it('reserveInventory gives inventory.reserved with the priced lines and total', () => {
    given([created]).when(cmd.reserveInventory).then([reserved]);
  });

  it('authorizePayment gives payment.authorized', () => {
    given([created, reserved]).when(cmd.authorizePayment).then([authorized]);
  });

  it('scheduleShipment gives shipment.scheduled', () => {
    given([created, reserved, authorized]).when(cmd.scheduleShipment).then([scheduled]);
  });

  it('capturePayment gives payment.captured with the authorization id and authorized amount', () => {
    given([created, reserved, authorized, scheduled]).when(cmd.capturePayment).then([captured]);
  });

  it('confirm gives order.confirmed', () => {
    given([created, reserved, authorized, scheduled, captured]).when(cmd.confirm).then([confirmed]);
  });

  it('deciding the whole sequence step by step yields exactly the happy-path events', () => {
    const commands: OrderCommand[] = [
      cmd.create,
      cmd.reserveInventory,
      cmd.authorizePayment,
      cmd.scheduleShipment,
      cmd.capturePayment,
      cmd.confirm,
    ];
    const events = commands.reduce<OrderEvent[]>((acc, command) => [...acc, ...decide(command, fold(acc))], []);
    expect(events).toEqual(happyPath);
  });

  it('folding the happy path gives a CONFIRMED order with payment captured and shipment scheduled', () => {
    expect(fold(happyPath)).toEqual({
      orderId,
      customerId,
      status: 'CONFIRMED',
      items,
      currency,
      shippingAddress,
      inventory: 'RESERVED',
      lines,
      totalCents,
      payment: 'CAPTURED',
      authorizationId,
      paymentAmountCents: totalCents,
      approval: 'NOT_REQUIRED',
      shipment: 'SCHEDULED',
      trackingId,
      cancellation: null,
    });
  });

  it('takes totalCents from the inventory.reserved event', () => {
    const otherTotal: OrderEvent = { type: 'inventory.reserved', data: { orderId, lines, totalCents: 4321 } };
    expect(fold([created, otherTotal]).totalCents).toBe(4321);
  });
});

describe('Order decider: approval', () => {
  it('requestApproval gives order.approval_requested with the state total and the threshold', () => {
    given([created, reserved, authorized]).when(cmd.requestApproval).then([approvalRequested]);
  });

  it('uses the reserved total, not anything on the command', () => {
    const bigReserve: OrderEvent = { type: 'inventory.reserved', data: { orderId, lines, totalCents: 250_000 } };
    given([created, bigReserve])
      .when({ type: 'requestApproval', thresholdCents: 100_000 })
      .then([{ type: 'order.approval_requested', data: { orderId, totalCents: 250_000, thresholdCents: 100_000 } }]);
  });

  it('an approval request puts the order in AWAITING_APPROVAL', () => {
    const state = fold([created, reserved, authorized, approvalRequested]);
    expect(state.status).toBe('AWAITING_APPROVAL');
    expect(state.approval).toBe('REQUESTED');
  });

  it('refuses scheduleShipment while approval is requested', () => {
    given([created, reserved, authorized, approvalRequested])
      .when(cmd.scheduleShipment)
      .thenThrows(InvalidTransitionError, /awaits approval/);
  });

  it('approve gives order.approved and returns the order to PENDING', () => {
    given([created, reserved, authorized, approvalRequested]).when(cmd.approve).then([approved]);
    const state = fold([created, reserved, authorized, approvalRequested, approved]);
    expect(state.status).toBe('PENDING');
    expect(state.approval).toBe('APPROVED');
  });

  it('scheduleShipment is allowed once approved', () => {
    given([created, reserved, authorized, approvalRequested, approved]).when(cmd.scheduleShipment).then([scheduled]);
  });

  it('refuses approve when no approval was requested', () => {
    given([created, reserved, authorized])
      .when(cmd.approve)
      .thenThrows(InvalidTransitionError, /no approval was requested/);
  });

  it('approve twice is a no-op', () => {
    given([created, reserved, authorized, approvalRequested, approved]).when(cmd.approve).then([]);
  });

  it('requestApproval twice is a no-op', () => {
    given([created, reserved, authorized, approvalRequested]).when(cmd.requestApproval).then([]);
  });

  it('requestApproval after approval is a no-op', () => {
    given([created, reserved, authorized, approvalRequested, approved]).when(cmd.requestApproval).then([]);
  });
});

describe('Order decider: refusals', () => {
  it('refuses create twice', () => {
    given([created])
      .when(cmd.create)
      .thenThrows(InvalidTransitionError, /already exists/);
  });

  it('refuses reserveInventory before create, with command and status in the details', () => {
    const error = given([])
      .when(cmd.reserveInventory)
      .thenThrows(InvalidTransitionError, /\(new\).*does not exist/);
    expect((error as InvalidTransitionError).details).toEqual({ command: 'reserveInventory', status: 'NEW' });
  });

  it('names the order in the refusal message', () => {
    const error = given([created, reserved]).when(cmd.reserveInventory).thenThrows(InvalidTransitionError, /./);
    expect(error.message).toBe(`Cannot reserveInventory order ${orderId}: inventory is already reserved`);
    expect((error as InvalidTransitionError).details).toEqual({ command: 'reserveInventory', status: 'PENDING' });
  });

  it('refuses reserveInventory twice', () => {
    given([created, reserved])
      .when(cmd.reserveInventory)
      .thenThrows(InvalidTransitionError, /inventory is already reserved/);
  });

  it('refuses reserveInventory after the inventory was released', () => {
    given([created, reserved, released])
      .when(cmd.reserveInventory)
      .thenThrows(InvalidTransitionError, /inventory is already released/);
  });

  it('refuses authorizePayment before inventory is reserved', () => {
    given([created])
      .when(cmd.authorizePayment)
      .thenThrows(InvalidTransitionError, /inventory is not reserved/);
  });

  it('refuses authorizePayment twice', () => {
    given([created, reserved, authorized])
      .when(cmd.authorizePayment)
      .thenThrows(InvalidTransitionError, /payment is already authorized/);
  });

  it('refuses scheduleShipment before payment is authorized', () => {
    given([created, reserved])
      .when(cmd.scheduleShipment)
      .thenThrows(InvalidTransitionError, /payment is not authorized/);
  });

  it('refuses scheduleShipment twice', () => {
    given([created, reserved, authorized, scheduled])
      .when(cmd.scheduleShipment)
      .thenThrows(InvalidTransitionError, /shipment is already scheduled/);
  });

  it('refuses capturePayment before the shipment is scheduled', () => {
    given([created, reserved, authorized])
      .when(cmd.capturePayment)
      .thenThrows(InvalidTransitionError, /shipment is not scheduled/);
  });

  it('refuses capturePayment twice', () => {
    given([created, reserved, authorized, scheduled, captured])
      .when(cmd.capturePayment)
      .thenThrows(InvalidTransitionError, /payment is not authorized/);
  });

  it('refuses confirm before the payment is captured', () => {
    given([created, reserved, authorized, scheduled])
      .when(cmd.confirm)
      .thenThrows(InvalidTransitionError, /payment is not captured/);
  });

  const forwardCommands: OrderCommand[] = [
    cmd.reserveInventory,
    cmd.authorizePayment,
    cmd.requestApproval,
    cmd.approve,
    cmd.scheduleShipment,
    cmd.capturePayment,
    cmd.confirm,
  ];

  it.each(forwardCommands.map((c) => [c.type, c] as const))('refuses %s on a CANCELLED order', (_name, command) => {
    given([created, cancelled])
      .when(command)
      .thenThrows(InvalidTransitionError, /already cancelled/);
  });

  it.each(forwardCommands.map((c) => [c.type, c] as const))('refuses %s on a CONFIRMED order', (_name, command) => {
    given(happyPath)
      .when(command)
      .thenThrows(InvalidTransitionError, /already confirmed/);
  });

  it('refuses create on a CANCELLED or CONFIRMED order', () => {
    given([created, cancelled])
      .when(cmd.create)
      .thenThrows(InvalidTransitionError, /already exists/);
    given(happyPath)
      .when(cmd.create)
      .thenThrows(InvalidTransitionError, /already exists/);
  });

  it('refuses cancel while inventory is still reserved', () => {
    given([created, reserved])
      .when(cmd.cancel)
      .thenThrows(InvalidTransitionError, /inventory is still reserved/);
  });

  it('refuses cancel while payment is still authorized', () => {
    given([created, reserved, authorized, released])
      .when(cmd.cancel)
      .thenThrows(InvalidTransitionError, /payment is still authorized/);
  });

  it('refuses cancel while payment is still captured', () => {
    given([created, reserved, authorized, scheduled, captured, released, shipmentCancelled])
      .when(cmd.cancel)
      .thenThrows(InvalidTransitionError, /payment is still captured/);
  });

  it('refuses cancel while the shipment is still scheduled', () => {
    given([created, reserved, authorized, scheduled, released, voided])
      .when(cmd.cancel)
      .thenThrows(InvalidTransitionError, /shipment is still scheduled/);
  });
});

describe('Order decider: compensations', () => {
  describe('with nothing to undo they decide no events', () => {
    const nothingHeld: Array<[string, OrderEvent[]]> = [
      ['a new order', []],
      ['a created order', [created]],
    ];
    const compensations: OrderCommand[] = [
      cmd.releaseInventory,
      cmd.voidPayment,
      cmd.refundPayment,
      cmd.cancelShipment,
    ];

    for (const [label, history] of nothingHeld) {
      it.each(compensations.map((c) => [c.type, c] as const))(`%s on ${label} decides []`, (_name, command) => {
        given(history).when(command).then([]);
      });
    }
  });

  it('releaseInventory gives inventory.released with the reserved lines, then nothing', () => {
    given([created, reserved]).when(cmd.releaseInventory).then([released]);
    given([created, reserved, released]).when(cmd.releaseInventory).then([]);
  });

  it('voidPayment gives payment.voided with the authorized amount, then nothing', () => {
    given([created, reserved, authorized]).when(cmd.voidPayment).then([voided]);
    given([created, reserved, authorized, voided]).when(cmd.voidPayment).then([]);
  });

  it('cancelShipment gives shipment.cancelled with the tracking id, then nothing', () => {
    given([created, reserved, authorized, scheduled]).when(cmd.cancelShipment).then([shipmentCancelled]);
    given([created, reserved, authorized, scheduled, shipmentCancelled]).when(cmd.cancelShipment).then([]);
  });

  it('refundPayment gives payment.refunded with the authorized amount, then nothing', () => {
    given([created, reserved, authorized, scheduled, captured]).when(cmd.refundPayment).then([refunded]);
    given([created, reserved, authorized, scheduled, captured, refunded]).when(cmd.refundPayment).then([]);
  });

  it('voidPayment on a CAPTURED payment decides [] (it must be refunded instead)', () => {
    given([created, reserved, authorized, scheduled, captured]).when(cmd.voidPayment).then([]);
  });

  it('refundPayment on a merely AUTHORIZED payment decides [] (it must be voided instead)', () => {
    given([created, reserved, authorized]).when(cmd.refundPayment).then([]);
  });

  it('refunds the authorized amount recorded by payment.authorized', () => {
    const authorizedOther: OrderEvent = {
      type: 'payment.authorized',
      data: { orderId, authorizationId: 'auth_2', amountCents: 1999 },
    };
    given([created, reserved, authorizedOther, scheduled, captured])
      .when(cmd.refundPayment)
      .then([{ type: 'payment.refunded', data: { orderId, authorizationId: 'auth_2', amountCents: 1999 } }]);
  });

  it('compensating events update the state', () => {
    const state = fold([created, reserved, authorized, scheduled, captured, shipmentCancelled, refunded, released]);
    expect(state.inventory).toBe('RELEASED');
    expect(state.payment).toBe('REFUNDED');
    expect(state.shipment).toBe('CANCELLED');
    expect(fold([created, reserved, authorized, voided]).payment).toBe('VOIDED');
  });
});

describe('Order decider: cancel', () => {
  it('after all compensations, cancel gives order.cancelled with reason and failed step', () => {
    given([created, reserved, authorized, scheduled, captured, shipmentCancelled, refunded, released])
      .when({ type: 'cancel', reason: 'address refused by carrier', failedStep: 'scheduleShipment' })
      .then([
        {
          type: 'order.cancelled',
          data: { orderId, reason: 'address refused by carrier', failedStep: 'scheduleShipment', requestedBy: null },
        },
      ]);
  });

  it('cancel records who asked for it (a customer cancel, an operator rejection)', () => {
    given([created, reserved, authorized, voided, released])
      .when({ ...cmd.cancel, requestedBy: 'alice' })
      .then([{ ...cancelled, data: { ...cancelled.data, requestedBy: 'alice' } } as OrderEvent]);
  });

  it('after a voided payment and released inventory, cancel gives order.cancelled', () => {
    given([created, reserved, authorized, voided, released]).when(cmd.cancel).then([cancelled]);
  });

  it('accepts a null failedStep', () => {
    given([created])
      .when({ type: 'cancel', reason: 'customer request', failedStep: null })
      .then([
        { type: 'order.cancelled', data: { orderId, reason: 'customer request', failedStep: null, requestedBy: null } },
      ]);
  });

  it('cancelling an already CANCELLED order decides []', () => {
    given([created, reserved, released, cancelled]).when(cmd.cancel).then([]);
  });

  it('refuses cancel on a CONFIRMED order', () => {
    given(happyPath)
      .when(cmd.cancel)
      .thenThrows(InvalidTransitionError, /already confirmed/);
  });

  it('refuses cancel on an order that does not exist when the command does not say whose it was', () => {
    given([])
      .when(cmd.cancel)
      .thenThrows(InvalidTransitionError, /\(new\).*does not exist.*whose order/);
    given([])
      .when({ ...cmd.cancel, orderId })
      .thenThrows(InvalidTransitionError, /does not exist/);
  });
});

describe('Order decider: an order never created (createOrder failed)', () => {
  const failedToPlace = {
    type: 'cancel',
    reason: 'step_deadline_exceeded',
    failedStep: 'createOrder',
    requestedBy: null,
    orderId,
    customerId,
  } satisfies OrderCommand;
  const placementFailed: OrderEvent = {
    type: 'order.placement_failed',
    data: { orderId, customerId, reason: 'step_deadline_exceeded', failedStep: 'createOrder', requestedBy: null },
  };

  it('cancel with the order id and customer gives order.placement_failed', () => {
    given([]).when(failedToPlace).then([placementFailed]);
  });

  it('records who asked for the stop, when someone did', () => {
    given([])
      .when({ ...failedToPlace, reason: 'workflow_cancelled', requestedBy: 'ops' })
      .then([
        { ...placementFailed, data: { ...placementFailed.data, reason: 'workflow_cancelled', requestedBy: 'ops' } },
      ]);
  });

  it('order.placement_failed makes the order CANCELLED with its customer, reason and failed step', () => {
    expect(evolve(initialState(), placementFailed)).toEqual({
      ...initialState(),
      orderId,
      customerId,
      status: 'CANCELLED',
      cancellation: { reason: 'step_deadline_exceeded', failedStep: 'createOrder' },
    });
  });

  it('is terminal: a second cancel decides [], a late create and every other step are refused', () => {
    given([placementFailed]).when(failedToPlace).then([]);
    given([placementFailed]).when(cmd.cancel).then([]);
    given([placementFailed])
      .when(cmd.create)
      .thenThrows(InvalidTransitionError, /already exists/);
    given([placementFailed])
      .when(cmd.reserveInventory)
      .thenThrows(InvalidTransitionError, /already cancelled/);
  });

  it('the customer it carries changes nothing for an order that exists: order.cancelled as before', () => {
    given([created, reserved, authorized, voided, released])
      .when({ ...cmd.cancel, orderId, customerId })
      .then([cancelled]);
  });
});

describe('Order decider: approval guards and final orders', () => {
  it('refuses capture and confirm while approval is pending', () => {
    given([created, reserved, authorized, approvalRequested])
      .when(cmd.capturePayment)
      .thenThrows(InvalidTransitionError, /awaits approval/);
    given([created, reserved, authorized, approvalRequested])
      .when(cmd.confirm)
      .thenThrows(InvalidTransitionError, /awaits approval/);
  });

  it('refuses to request approval before the total is known or after the shipment is scheduled', () => {
    given([created])
      .when(cmd.requestApproval)
      .thenThrows(InvalidTransitionError, /inventory is not reserved/);
    given([created, reserved, authorized, scheduled])
      .when(cmd.requestApproval)
      .thenThrows(InvalidTransitionError, /shipment is already scheduled/);
  });

  it('undoes nothing on a confirmed order', () => {
    const confirmedOrder = [created, reserved, authorized, scheduled, captured, confirmed];
    for (const undo of [cmd.releaseInventory, cmd.voidPayment, cmd.refundPayment, cmd.cancelShipment]) {
      given(confirmedOrder)
        .when(undo)
        .thenThrows(InvalidTransitionError, /already confirmed/);
    }
  });

  it('cancels with holds an operator resolved by hand, and records which', () => {
    given([created, reserved])
      .when({ ...cmd.cancel, manuallyResolved: ['reserveInventory'] })
      .then([
        {
          type: 'order.cancelled',
          data: {
            orderId,
            reason: cmd.cancel.reason,
            failedStep: cmd.cancel.failedStep,
            manuallyResolved: ['reserveInventory'],
            requestedBy: null,
          },
        },
      ]);
    given([created, reserved, authorized])
      .when({ ...cmd.cancel, manuallyResolved: ['reserveInventory'] })
      .thenThrows(InvalidTransitionError, /payment is still authorized/);
  });
});
