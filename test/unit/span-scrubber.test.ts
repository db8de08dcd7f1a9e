import { InMemorySpanExporter, SimpleSpanProcessor, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { scrubAttributes, withoutPersonalData } from '../../src/telemetry/span-scrubber';
import { isPersonalKey } from '../../src/util/personal-data';

describe('spans without personal data', () => {
  it('knows personal keys in any spelling and namespace', () => {
    for (const key of ['customerId', 'saga.customer_id', 'http.request.header.x-api-key', 'paymentToken', 'token']) {
      expect(isPersonalKey(key)).toBe(true);
    }
    for (const key of ['orderId', 'workflowId', 'saga.correlation_id', 'http.route', 'tokens_used']) {
      expect(isPersonalKey(key)).toBe(false);
    }
  });

  it("drops personal attributes and values that are not attribute values (the Temporal worker's WorkflowInfo)", () => {
    expect(
      scrubAttributes({
        workflowId: 'order-1',
        attempt: 1,
        tags: ['a', 'b'],
        'saga.customer_id': 'cust-1',
        searchAttributes: { CustomerId: ['cust-1'] } as never,
        memo: { requestHash: 'h' } as never,
      }),
    ).toEqual({ workflowId: 'order-1', attempt: 1, tags: ['a', 'b'] });
  });

  it('hands the exporter scrubbed spans that are otherwise the same', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [withoutPersonalData(new SimpleSpanProcessor(exporter))],
    });
    const span = provider.getTracer('t').startSpan('work', { attributes: { customerId: 'cust-1', orderId: 'o-1' } });
    span.addEvent('note', { paymentToken: 'tok_1', step: 'authorize' });
    span.end();
    const [exported] = exporter.getFinishedSpans();
    expect(exported!.name).toBe('work');
    expect(exported!.attributes).toEqual({ orderId: 'o-1' });
    expect(exported!.events.map((e) => e.attributes)).toEqual([{ step: 'authorize' }]);
    expect(exported!.spanContext().traceId).toBe(span.spanContext().traceId);
  });
});
