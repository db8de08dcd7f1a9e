import type { ConsumedEvent } from '../../src/delivery/consumer';
import { initialState } from '../../src/domain/order';
import {
  applyToSummary,
  ORDER_SUMMARY_TABLE,
  OrderSummaryMissingError,
  projectInto,
  type OrderSummary,
} from '../../src/consumers/order-summary';
import type { Tx } from '../../src/store/pool';

// The read model's fold is pure: what each event makes of an order's row.

const orderId = '8b2d4e61-3c7a-4f90-b1e5-6a9d0c2f7e43';
const at = '2025-01-01T00:00:00.000Z';
const event = (eventType: string, version: number, payload: Record<string, unknown>): ConsumedEvent => ({
  eventId: `e-${version}`,
  eventType,
  aggregateId: orderId,
  aggregateType: 'order',
  occurredAt: at,
  version,
  schemaVersion: 1,
  correlationId: null,
  causationId: null,
  payload: { orderId, ...payload },
  streamId: `order-${orderId}`,
  globalPosition: 100 + version,
  metadata: {},
});

describe('order summary: an order never created', () => {
  const placementFailed = event('order.placement_failed', 1, {
    customerId: 'cust-1',
    reason: 'step_deadline_exceeded',
    failedStep: 'createOrder',
    requestedBy: null,
  });

  it('order.placement_failed alone makes a CANCELLED, COMPENSATED row with its customer and reason', () => {
    expect(applyToSummary(undefined, placementFailed)).toEqual({
      orderId,
      customerId: 'cust-1',
      status: 'CANCELLED',
      sagaPhase: 'COMPENSATED',
      state: {
        ...initialState(),
        orderId,
        customerId: 'cust-1',
        status: 'CANCELLED',
        cancellation: { reason: 'step_deadline_exceeded', failedStep: 'createOrder' },
      },
      timeline: [{ type: 'order.placement_failed', version: 1, at }],
      lastEventId: 'e-1',
      lastStreamVersion: 1,
      lastPosition: 101,
      lastEventAt: at,
      createdAt: at,
      latestReturn: null,
    });
  });

  it('applied twice, changes nothing the second time', () => {
    const once = applyToSummary(undefined, placementFailed);
    expect(applyToSummary(once, placementFailed)).toBe(once);
  });

  it('order.cancelled without order.created before it still makes no row (as before)', () => {
    expect(
      applyToSummary(undefined, event('order.cancelled', 1, { reason: 'x', failedStep: null, requestedBy: null })),
    ).toBeUndefined();
  });
});

describe('order summary: a return never opened', () => {
  const customerId = 'cust-1';
  const activeReturnId = '5a1f3c7e-2b4d-4e6f-8a9b-0c1d2e3f4a5b';
  const notOpenedReturnId = '9d8c7b6a-5f4e-4d3c-b2a1-0f9e8d7c6b5a';
  const lines = [{ sku: 'SKU-0001', quantity: 1, unitPriceCents: 1000 }];
  const confirmedOrder = [
    event('order.created', 1, {
      customerId,
      items: lines,
      currency: 'USD',
      shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
    }),
    event('inventory.reserved', 2, { lines, totalCents: 1000 }),
    event('payment.authorized', 3, { authorizationId: 'auth_1', amountCents: 1000 }),
    event('shipment.scheduled', 4, { trackingId: 'TRK-1' }),
    event('payment.captured', 5, { authorizationId: 'auth_1', amountCents: 1000 }),
    event('order.confirmed', 6, {}),
  ];
  /** A return's event: `version` in the return's stream, `position` in the log. */
  const returnEvent = (
    returnId: string,
    eventType: string,
    version: number,
    position: number,
    payload: Record<string, unknown>,
  ): ConsumedEvent => ({
    ...event(eventType, version, { returnId, ...payload }),
    eventId: `r-${returnId}-${version}`,
    aggregateId: returnId,
    aggregateType: 'return',
    streamId: `return-${returnId}`,
    globalPosition: position,
  });
  const notOpened = returnEvent(notOpenedReturnId, 'return.not_opened', 1, 300, {
    customerId,
    reason: 'ReturnNotAllowed',
    failedStep: 'openReturn',
    requestedBy: null,
  });
  const fold = (events: ConsumedEvent[]) =>
    events.reduce<OrderSummary | undefined>((s, e) => applyToSummary(s, e), undefined);

  it("does not replace the order's active return, nor touch its row", () => {
    const withActiveReturn = fold([
      ...confirmedOrder,
      returnEvent(activeReturnId, 'return.opened', 1, 200, {
        customerId,
        reason: 'does not fit',
        lines,
        amountCents: 1000,
        currency: 'USD',
      }),
      returnEvent(activeReturnId, 'return.pickup_scheduled', 2, 201, { trackingId: 'TRK-RET-1' }),
    ])!;
    expect(withActiveReturn.latestReturn?.state).toMatchObject({
      returnId: activeReturnId,
      status: 'PICKUP_SCHEDULED',
    });
    // The same summary back: nothing to save, the timeline and positions unchanged.
    expect(applyToSummary(withActiveReturn, notOpened)).toBe(withActiveReturn);
  });

  it('does not show up on an order without a return, nor after its return was cancelled', () => {
    const confirmed = fold(confirmedOrder)!;
    expect(applyToSummary(confirmed, notOpened)).toBe(confirmed);
    const cancelled = fold([
      ...confirmedOrder,
      returnEvent(activeReturnId, 'return.opened', 1, 200, {
        customerId,
        reason: 'does not fit',
        lines,
        amountCents: 1000,
        currency: 'USD',
      }),
      returnEvent(activeReturnId, 'return.cancelled', 2, 201, {
        reason: 'kept it',
        failedStep: 'receiveGoods',
        requestedBy: null,
      }),
    ])!;
    expect(applyToSummary(cancelled, notOpened)).toBe(cancelled);
  });

  it('makes no summary of an order that has none', () => {
    expect(applyToSummary(undefined, notOpened)).toBeUndefined();
  });

  it('the projector skips it when the order has no summary (an unknown order), where other return events wait', async () => {
    const queries: string[] = [];
    const tx = {
      query: async (sql: string) => {
        queries.push(sql);
        return { rows: [], rowCount: 0 };
      },
    } as unknown as Tx;
    await expect(projectInto(tx, ORDER_SUMMARY_TABLE, notOpened)).resolves.toBeUndefined();
    expect(queries).toHaveLength(1); // the load; nothing written
    const cancelled = returnEvent(notOpenedReturnId, 'return.cancelled', 1, 300, {
      reason: 'x',
      failedStep: null,
      requestedBy: null,
    });
    await expect(projectInto(tx, ORDER_SUMMARY_TABLE, cancelled)).rejects.toBeInstanceOf(OrderSummaryMissingError);
  });
});
