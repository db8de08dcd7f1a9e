import type { ConsumedEvent } from '../../src/consumers/consumer';
import { initialState } from '../../src/domain/order';
import { applyToSummary } from '../../src/projections/order-summary';

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
