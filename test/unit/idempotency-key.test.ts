import { orderIdForIdempotencyKey } from '../../src/api/routes/orders/place';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('orderIdForIdempotencyKey', () => {
  it('is stable for the same customer and key, and a valid UUID', () => {
    const a = orderIdForIdempotencyKey('cust-1', 'key-1');
    expect(a).toBe(orderIdForIdempotencyKey('cust-1', 'key-1'));
    expect(a).toMatch(UUID);
  });

  it('differs across keys and across customers using the same key', () => {
    const base = orderIdForIdempotencyKey('cust-1', 'key-1');
    expect(orderIdForIdempotencyKey('cust-1', 'key-2')).not.toBe(base);
    expect(orderIdForIdempotencyKey('cust-2', 'key-1')).not.toBe(base);
  });
});
