import { InvalidTransitionError, ReturnNotAllowedError } from '../../src/domain/errors';
import { fold as foldOrder, type OrderEvent, type OrderState, type PricedLine } from '../../src/domain/order';
import {
  decide,
  evolve,
  fold,
  initialState,
  RETURN_TERMINAL_EVENTS,
  returnDecider,
  type ReturnCommand,
  type ReturnEvent,
} from '../../src/domain/return';
import { validateNewEvent } from '../../src/events/catalog';

// ---------------------------------------------------------------------------------------
// Emmett-style given/when/then on top of the pure decider (as in order-decider.test.ts).
// ---------------------------------------------------------------------------------------

type ErrorClass = abstract new (...args: never[]) => Error;

function given(events: ReturnEvent[]) {
  return {
    when(command: ReturnCommand) {
      const run = (): ReturnEvent[] => decide(command, fold(events));
      return {
        then(expected: ReturnEvent[]): void {
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
// Realistic fixtures: a confirmed order of two lines, returned whole.
// ---------------------------------------------------------------------------------------

const orderId = '6f1c2b9e-4a7d-4c3e-9b8a-2d5f0e1a7c43';
const returnId = '0b7e4c2a-1d3f-4e5a-8b6c-9d0e1f2a3b4c';
const customerId = 'cust-1';
const currency = 'USD';
const shippingAddress = { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' };
const lines: PricedLine[] = [
  { sku: 'SKU-0001', quantity: 2, unitPriceCents: 1250 },
  { sku: 'SKU-0002', quantity: 1, unitPriceCents: 500 },
];
const totalCents = 3000;
const authorizationId = 'auth_1';
const trackingId = 'TRK-RET-1';

const orderCreated: OrderEvent = {
  type: 'order.created',
  data: {
    orderId,
    customerId,
    items: lines.map((l) => ({ ...l })),
    currency,
    shippingAddress,
  },
};
const orderPending: OrderEvent[] = [
  orderCreated,
  { type: 'inventory.reserved', data: { orderId, lines, totalCents } },
  { type: 'payment.authorized', data: { orderId, authorizationId, amountCents: totalCents } },
  { type: 'shipment.scheduled', data: { orderId, trackingId: 'TRK-ORDER' } },
  { type: 'payment.captured', data: { orderId, authorizationId, amountCents: totalCents } },
];
const confirmedOrder: OrderState = foldOrder([...orderPending, { type: 'order.confirmed', data: { orderId } }]);

const open = (overrides: Partial<Extract<ReturnCommand, { type: 'open' }>> = {}): ReturnCommand => ({
  type: 'open',
  returnId,
  orderId,
  customerId,
  reason: 'arrived damaged',
  order: confirmedOrder,
  activeReturnId: null,
  ...overrides,
});

const cmd = {
  open: open(),
  schedulePickup: { type: 'schedulePickup', trackingId },
  cancelPickup: { type: 'cancelPickup' },
  receiveGoods: { type: 'receiveGoods', receivedBy: 'warehouse-1' },
  refund: { type: 'refund', authorizationId },
  restock: { type: 'restock' },
  complete: { type: 'complete' },
  cancel: { type: 'cancel', reason: 'customer changed their mind', failedStep: null, requestedBy: 'cust-1' },
} satisfies Record<string, ReturnCommand>;

const ids = { returnId, orderId };
const opened: ReturnEvent = {
  type: 'return.opened',
  data: { ...ids, customerId, reason: 'arrived damaged', lines, amountCents: totalCents, currency },
};
const pickupScheduled: ReturnEvent = { type: 'return.pickup_scheduled', data: { ...ids, trackingId } };
const pickupCancelled: ReturnEvent = { type: 'return.pickup_cancelled', data: { ...ids, trackingId } };
const received: ReturnEvent = { type: 'return.goods_received', data: { ...ids, receivedBy: 'warehouse-1' } };
const refunded: ReturnEvent = {
  type: 'return.refunded',
  data: { ...ids, authorizationId, amountCents: totalCents },
};
const restocked: ReturnEvent = { type: 'return.restocked', data: { ...ids, lines } };
const completed: ReturnEvent = { type: 'return.completed', data: ids };
const cancelled: ReturnEvent = {
  type: 'return.cancelled',
  data: { ...ids, reason: 'customer changed their mind', failedStep: null, requestedBy: 'cust-1' },
};

const happyPath: ReturnEvent[] = [opened, pickupScheduled, received, refunded, restocked, completed];

// ---------------------------------------------------------------------------------------

describe('Return decider: evolve/fold', () => {
  it('initialState() is NONE with nothing recorded, and fold([]) equals it', () => {
    expect(initialState()).toEqual({
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
    expect(fold([])).toEqual(initialState());
  });

  it('walks OPENED → PICKUP_SCHEDULED → GOODS_RECEIVED → REFUNDED → RESTOCKED → COMPLETED', () => {
    const statuses = happyPath.map((_, i) => fold(happyPath.slice(0, i + 1)).status);
    expect(statuses).toEqual(['OPENED', 'PICKUP_SCHEDULED', 'GOODS_RECEIVED', 'REFUNDED', 'RESTOCKED', 'COMPLETED']);
  });

  it('folding the happy path records the whole return', () => {
    expect(fold(happyPath)).toEqual({
      returnId,
      orderId,
      customerId,
      status: 'COMPLETED',
      reason: 'arrived damaged',
      lines,
      amountCents: totalCents,
      currency,
      pickup: 'COMPLETED',
      trackingId,
      receivedBy: 'warehouse-1',
      authorizationId,
      refundedCents: totalCents,
      cancellation: null,
    });
  });

  it('a cancelled pickup takes the return back to OPENED; return.cancelled records why and who', () => {
    expect(fold([opened, pickupScheduled, pickupCancelled])).toMatchObject({ status: 'OPENED', pickup: 'CANCELLED' });
    expect(fold([opened, pickupScheduled, pickupCancelled, cancelled])).toMatchObject({
      status: 'CANCELLED',
      cancellation: { reason: 'customer changed their mind', failedStep: null, requestedBy: 'cust-1' },
    });
  });

  it('an unknown event type changes nothing', () => {
    const state = fold([opened]);
    expect(evolve(state, { type: 'return.teleported', data: {} } as unknown as ReturnEvent)).toBe(state);
  });

  it('every event the decider produces is valid against the catalog', () => {
    for (const e of [...happyPath, pickupCancelled, cancelled])
      expect(() => validateNewEvent(e.type, e.data)).not.toThrow();
  });

  it('is exposed as a decider on streams `return-<returnId>`', () => {
    expect(returnDecider).toMatchObject({ aggregateType: 'return', initialState, evolve, decide });
  });
});

describe('Return decider: happy path', () => {
  it('open gives return.opened with every line of the order and its captured amount', () => {
    given([]).when(cmd.open).then([opened]);
  });

  it('schedulePickup gives return.pickup_scheduled', () => {
    given([opened]).when(cmd.schedulePickup).then([pickupScheduled]);
  });

  it('receiveGoods gives return.goods_received with who received them (or null)', () => {
    given([opened, pickupScheduled]).when(cmd.receiveGoods).then([received]);
    given([opened, pickupScheduled])
      .when({ type: 'receiveGoods', receivedBy: null })
      .then([{ type: 'return.goods_received', data: { ...ids, receivedBy: null } }]);
  });

  it("refund gives return.refunded of the return's amount on the order's authorization", () => {
    given([opened, pickupScheduled, received]).when(cmd.refund).then([refunded]);
  });

  it('restock gives return.restocked with every line', () => {
    given([opened, pickupScheduled, received, refunded]).when(cmd.restock).then([restocked]);
  });

  it('complete gives return.completed', () => {
    given([opened, pickupScheduled, received, refunded, restocked]).when(cmd.complete).then([completed]);
  });

  it('deciding the whole sequence step by step yields exactly the happy-path events', () => {
    const commands: ReturnCommand[] = [
      cmd.open,
      cmd.schedulePickup,
      cmd.receiveGoods,
      cmd.refund,
      cmd.restock,
      cmd.complete,
    ];
    const events = commands.reduce<ReturnEvent[]>((acc, command) => [...acc, ...decide(command, fold(acc))], []);
    expect(events).toEqual(happyPath);
  });
});

describe('Return decider: opening is refused for the wrong order', () => {
  const notAllowed = (command: ReturnCommand, message: RegExp, rule: string) => {
    const error = given([]).when(command).thenThrows(ReturnNotAllowedError, message);
    expect(error.name).toBe('ReturnNotAllowed');
    expect((error as ReturnNotAllowedError).details).toEqual({ rule, orderId });
  };

  it('an order that does not exist', () => {
    notAllowed(open({ order: foldOrder([]) }), /does not exist/, 'ORDER_NOT_FOUND');
  });

  it('an order that is not confirmed (pending, cancelled)', () => {
    notAllowed(open({ order: foldOrder(orderPending) }), /pending, not confirmed/, 'ORDER_NOT_CONFIRMED');
    const cancelledOrder = foldOrder([
      orderCreated,
      { type: 'order.cancelled', data: { orderId, reason: 'x', failedStep: null, requestedBy: null } },
    ]);
    notAllowed(open({ order: cancelledOrder }), /cancelled, not confirmed/, 'ORDER_NOT_CONFIRMED');
  });

  it("another customer's order", () => {
    notAllowed(open({ customerId: 'cust-2' }), /another customer/, 'NOT_YOUR_ORDER');
  });

  it('an order with a return that is not cancelled', () => {
    notAllowed(open({ activeReturnId: 'a-return' }), /already has return a-return/, 'RETURN_EXISTS');
  });

  it('opening the same return twice is an invalid transition', () => {
    given([opened])
      .when(cmd.open)
      .thenThrows(InvalidTransitionError, /already exists/);
  });
});

describe('Return decider: the lifecycle is a line', () => {
  it('names the return, the command and the status in a refusal', () => {
    const error = given([opened]).when(cmd.refund).thenThrows(InvalidTransitionError, /./);
    expect(error.message).toBe(`Cannot refund return ${returnId}: the goods are not received (the return is OPENED)`);
    expect((error as InvalidTransitionError).details).toEqual({ command: 'refund', status: 'OPENED' });
  });

  const named = (events: ReturnEvent[]) => (events.length ? events.at(-1)!.type : 'no event');
  it.each(
    (
      [
        ['schedulePickup', [], /does not exist/],
        ['schedulePickup', [opened, pickupScheduled], /pickup is already scheduled/],
        ['schedulePickup', [opened, pickupScheduled, pickupCancelled], /pickup is already cancelled/],
        ['receiveGoods', [opened], /no pickup is scheduled/],
        ['receiveGoods', [opened, pickupScheduled, received], /no pickup is scheduled/],
        ['refund', [opened, pickupScheduled], /goods are not received/],
        ['refund', [opened, pickupScheduled, received, refunded], /goods are not received/],
        ['restock', [opened, pickupScheduled, received], /not refunded/],
        ['complete', [opened, pickupScheduled, received, refunded], /not restocked/],
      ] as const
    ).map(([name, events, message]) => [name, named([...events]), [...events] as ReturnEvent[], message] as const),
  )('refuses %s after %s', (name, _last, events, message) => {
    given(events).when(cmd[name]).thenThrows(InvalidTransitionError, message);
  });

  const forward: ReturnCommand[] = [cmd.schedulePickup, cmd.receiveGoods, cmd.refund, cmd.restock, cmd.complete];

  it.each(forward.map((c) => [c.type, c] as const))('refuses %s on a CANCELLED return', (_name, command) => {
    given([opened, cancelled])
      .when(command)
      .thenThrows(InvalidTransitionError, /already cancelled/);
  });

  it.each(forward.map((c) => [c.type, c] as const))('refuses %s on a COMPLETED return', (_name, command) => {
    given(happyPath)
      .when(command)
      .thenThrows(InvalidTransitionError, /already completed/);
  });
});

describe('Return decider: compensation and cancel', () => {
  it('cancelPickup gives return.pickup_cancelled while the pickup is scheduled', () => {
    given([opened, pickupScheduled]).when(cmd.cancelPickup).then([pickupCancelled]);
  });

  it('cancelPickup with nothing to undo decides nothing (never opened, no pickup, cancelled twice, return cancelled)', () => {
    given([]).when(cmd.cancelPickup).then([]);
    given([opened]).when(cmd.cancelPickup).then([]);
    given([opened, pickupScheduled, pickupCancelled]).when(cmd.cancelPickup).then([]);
    given([opened, cancelled]).when(cmd.cancelPickup).then([]);
  });

  it('cancelPickup is refused once the goods are received: a collected pickup cannot be undone', () => {
    for (const events of [happyPath.slice(0, 3), happyPath.slice(0, 4), happyPath.slice(0, 5), happyPath]) {
      given(events)
        .when(cmd.cancelPickup)
        .thenThrows(InvalidTransitionError, /goods are already received/);
    }
  });

  it('cancel gives return.cancelled on an opened return, and after its pickup was cancelled', () => {
    given([opened]).when(cmd.cancel).then([cancelled]);
    given([opened, pickupScheduled, pickupCancelled]).when(cmd.cancel).then([cancelled]);
    given([opened])
      .when({ type: 'cancel', reason: 'AddressRefused', failedStep: 'schedulePickup', requestedBy: null })
      .then([
        {
          type: 'return.cancelled',
          data: { ...ids, reason: 'AddressRefused', failedStep: 'schedulePickup', requestedBy: null },
        },
      ]);
  });

  it('cancel is refused while the pickup is still scheduled (compensate it first)', () => {
    given([opened, pickupScheduled])
      .when(cmd.cancel)
      .thenThrows(InvalidTransitionError, /pickup is still scheduled/);
  });

  it('cancel is refused once the goods are received', () => {
    for (const events of [happyPath.slice(0, 3), happyPath.slice(0, 4), happyPath.slice(0, 5)]) {
      given(events)
        .when(cmd.cancel)
        .thenThrows(InvalidTransitionError, /goods are already received/);
    }
  });

  it('cancel decides nothing when already cancelled or completed, or never opened and the command does not say whose return it was', () => {
    given([opened, cancelled]).when(cmd.cancel).then([]);
    given(happyPath).when(cmd.cancel).then([]);
    given([]).when(cmd.cancel).then([]);
  });
});

describe('Return decider: a return never opened (openReturn failed)', () => {
  const notOpenedCancel = {
    type: 'cancel',
    reason: 'ReturnNotAllowed',
    failedStep: 'openReturn',
    requestedBy: null,
    returnId,
    orderId,
    customerId,
  } satisfies ReturnCommand;
  const notOpened: ReturnEvent = {
    type: 'return.not_opened',
    data: { ...ids, customerId, reason: 'ReturnNotAllowed', failedStep: 'openReturn', requestedBy: null },
  };

  it('cancel with the return, order and customer gives return.not_opened', () => {
    given([]).when(notOpenedCancel).then([notOpened]);
  });

  it('records who asked for the stop, when someone did (a cancel before openReturn ran)', () => {
    given([])
      .when({ ...notOpenedCancel, reason: 'kept it', requestedBy: 'cust-1' })
      .then([{ ...notOpened, data: { ...notOpened.data, reason: 'kept it', requestedBy: 'cust-1' } }]);
  });

  it('without the order or the customer (a call from before r4) decides nothing, as before', () => {
    const { orderId: _o, ...noOrder } = notOpenedCancel;
    const { customerId: _c, ...noCustomer } = notOpenedCancel;
    const { returnId: _r, ...noReturn } = notOpenedCancel;
    given([]).when(noOrder).then([]);
    given([]).when(noCustomer).then([]);
    given([]).when(noReturn).then([]);
  });

  it('return.not_opened is valid against the catalog', () => {
    expect(() => validateNewEvent(notOpened.type, notOpened.data)).not.toThrow();
  });

  it('return.not_opened makes the return CANCELLED with its ids, reason, failed step and who asked', () => {
    expect(evolve(initialState(), notOpened)).toEqual({
      ...initialState(),
      returnId,
      orderId,
      customerId,
      status: 'CANCELLED',
      cancellation: { reason: 'ReturnNotAllowed', failedStep: 'openReturn', requestedBy: null },
    });
  });

  it('is terminal: a second cancel decides [], a late open and every other step are refused', () => {
    given([notOpened]).when(notOpenedCancel).then([]);
    given([notOpened]).when(cmd.cancel).then([]);
    given([notOpened]).when(cmd.cancelPickup).then([]);
    given([notOpened])
      .when(cmd.open)
      .thenThrows(InvalidTransitionError, /already exists/);
    for (const command of [cmd.schedulePickup, cmd.receiveGoods, cmd.refund, cmd.restock, cmd.complete]) {
      given([notOpened])
        .when(command)
        .thenThrows(InvalidTransitionError, /already cancelled/);
    }
  });

  it('the order and customer it carries change nothing for a return that was opened: return.cancelled as before', () => {
    given([opened])
      .when({ ...notOpenedCancel, reason: 'customer changed their mind', failedStep: null, requestedBy: 'cust-1' })
      .then([cancelled]);
    given([opened, pickupScheduled])
      .when(notOpenedCancel)
      .thenThrows(InvalidTransitionError, /pickup is still scheduled/);
    given([opened, cancelled]).when(notOpenedCancel).then([]);
    given(happyPath).when(notOpenedCancel).then([]);
  });

  it('RETURN_TERMINAL_EVENTS lists every way a return ends', () => {
    expect([...RETURN_TERMINAL_EVENTS].sort()).toEqual(['return.cancelled', 'return.completed', 'return.not_opened']);
  });
});
