import { CONSUMERS, selectConsumers, UnknownConsumerError } from '../../src/consumers';
import { defineConsumer, ConsumerDefinitionError } from '../../src/consumers/consumer';
import { notificationFor } from '../../src/consumers/notifier';
import { EVENT_DEFINITIONS } from '../../src/events/catalog';
import { UnknownEventTypeError } from '../../src/events/errors';
import { decodeMessage, encodeEvent, partitionOf } from '../../src/transports/codec';
import type { ConsumedEvent } from '../../src/consumers/consumer';

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
});
