import { CONSUMERS, selectConsumers, UnknownConsumerError } from '../../src/consumers';
import { defineConsumer, ConsumerDefinitionError } from '../../src/delivery/consumer';
import { notificationFor } from '../../src/consumers/notifier';
import { EVENT_DEFINITIONS } from '../../src/events/catalog';
import { UnknownEventTypeError } from '../../src/events/errors';
import {
  bucketWords,
  decodeMessage,
  encodeEvent,
  partitionOf,
  partitionPatterns,
} from '../../src/delivery/transports/codec';
import type { ConsumedEvent } from '../../src/delivery/consumer';

describe('consumer definitions', () => {
  test('the catalog names exactly the event types each running consumer handles', () => {
    for (const consumer of CONSUMERS) {
      const listed = EVENT_DEFINITIONS.filter((d) => d.consumers.includes(consumer.name)).map((d) => d.type);
      expect([...consumer.handles].sort()).toEqual(listed.sort());
    }
  });

  test('defineConsumer refuses bad names, unknown types and impossible partitions', () => {
    const handle = async () => undefined;
    expect(() => defineConsumer({ name: 'Bad Name', handles: ['order.created'], handle })).toThrow(
      ConsumerDefinitionError,
    );
    expect(() => defineConsumer({ name: 'x', handles: ['order.teleported'], handle })).toThrow(UnknownEventTypeError);
    expect(() => defineConsumer({ name: 'x', handles: ['order.created'], handle, partitions: 0 })).toThrow(
      /partitions/,
    );
    expect(() => defineConsumer({ name: 'x', handles: [], handle })).toThrow(/handles no event type/);
  });

  test('selectConsumers picks by name and names the unknown ones', () => {
    expect(selectConsumers([]).map((c) => c.name)).toEqual(CONSUMERS.map((c) => c.name));
    expect(selectConsumers(['notifier']).map((c) => c.name)).toEqual(['notifier']);
    expect(() => selectConsumers(['nope'])).toThrow(UnknownConsumerError);
  });
});

describe('notifier', () => {
  const event = (eventType: string, payload: Record<string, unknown>) => ({ eventType, payload }) as ConsumedEvent;
  test('says why an order was cancelled and at which step', () => {
    const n = notificationFor(
      event('order.cancelled', { orderId: 'o-1', reason: 'PaymentDeclined', failedStep: 'authorizePayment' }),
    );
    expect(n.kind).toBe('order_cancelled');
    expect(n.message).toContain('PaymentDeclined');
    expect(n.message).toContain('authorizePayment');
  });
  test('tells the customer an order never created could not be placed, and why', () => {
    const n = notificationFor(
      event('order.placement_failed', {
        orderId: 'o-1',
        customerId: 'cust-1',
        reason: 'step_deadline_exceeded',
        failedStep: 'createOrder',
        requestedBy: null,
      }),
    );
    expect(n).toEqual({
      kind: 'order_placement_failed',
      message: 'Your order o-1 could not be placed: step_deadline_exceeded.',
    });
  });
  test('names the amount waiting for approval', () => {
    expect(
      notificationFor(event('order.approval_requested', { orderId: 'o-1', totalCents: 123456 })).message,
    ).toContain('$1234.56');
  });
});

describe('broker codec', () => {
  const raw = {
    eventId: '5f0c6a52-2f4e-4d1e-9b7a-1c2d3e4f5a6b',
    eventType: 'order.confirmed',
    schemaVersion: 1,
    streamId: 'order-1',
    streamVersion: 7,
    globalPosition: 42,
    transactionId: '1000',
    payload: { orderId: '1' },
    metadata: { correlationId: 'c-1' },
    occurredAt: new Date(0).toISOString(),
  };
  test('round-trips a stored event', () => {
    expect(decodeMessage(encodeEvent(raw), raw.eventId)).toEqual({ kind: 'event', event: raw });
  });
  test('turns what is not an event into a malformed delivery with a reason', () => {
    expect(decodeMessage(Buffer.from('not json'), undefined)).toMatchObject({
      kind: 'malformed',
      problem: 'message body is not JSON',
    });
    expect(decodeMessage(Buffer.from('{"eventId":"x"}'), 'm-1')).toMatchObject({
      kind: 'malformed',
      messageId: 'm-1',
      problem: expect.stringContaining('eventId'),
    });
  });
  test('partitions are stable and spread', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[partitionOf(`order-${i}`, 4)]!++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
    expect(partitionOf('order-abc', 4)).toBe(partitionOf('order-abc', 4));
    expect(partitionOf('order-abc', 1)).toBe(0);
  });
  /** AMQP topic matching of fixed-length words: `*` matches one word. */
  const matches = (pattern: string, words: string) =>
    pattern.split('.').every((p, i) => p === '*' || p === words.split('.')[i]);
  test.each([1, 2, 3, 4, 5, 7, 8, 16, 64])(
    'the bucket patterns of %i partitions select exactly each partition',
    (n) => {
      for (let i = 0; i < 2000; i++) {
        const stream = `order-${i}`;
        const selected = Array.from({ length: n }, (_, p) => p).filter((p) =>
          partitionPatterns(p, n).some((pattern) => matches(pattern, bucketWords(stream))),
        );
        expect(selected).toEqual([partitionOf(stream, n)]);
      }
      // A power of two is one pattern per partition; other counts list their buckets.
      expect(partitionPatterns(0, n)).toHaveLength((n & (n - 1)) === 0 ? 1 : Math.ceil(64 / n));
    },
  );
  test('powers of two keep the assignment of a plain hash modulo the count', () => {
    const fnv = (s: string) => {
      let h = 0x811c9dc5;
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
      return h;
    };
    for (const n of [2, 4, 8, 16, 32, 64]) {
      for (let i = 0; i < 500; i++) expect(partitionOf(`order-${i}`, n)).toBe(fnv(`order-${i}`) % n);
    }
  });
});
