import { Writable } from 'node:stream';
import { runWithCorrelation } from '../../src/correlation/context';
import { createLogger, redactQuery, wantsPrettyLogs } from '../../src/logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

describe('logger', () => {
  it('is pretty on a terminal, JSON otherwise, and LOG_FORMAT decides when set', () => {
    expect(wantsPrettyLogs({}, true)).toBe(true);
    expect(wantsPrettyLogs({}, false)).toBe(false);
    expect(wantsPrettyLogs({ LOG_FORMAT: 'json' }, true)).toBe(false);
    expect(wantsPrettyLogs({ LOG_FORMAT: 'pretty' }, false)).toBe(true);
  });

  it('names the correlation, workflow and order of the work on every line', () => {
    const { lines, logger } = capture();
    logger.info('outside');
    runWithCorrelation({ correlationId: 'c-1', workflowId: 'order-42' }, () => logger.info('inside'));
    expect(lines[0]).not.toHaveProperty('correlationId');
    expect(lines[1]).toMatchObject({ msg: 'inside', correlationId: 'c-1', workflowId: 'order-42', orderId: '42' });
  });
});

describe('personal data in logs', () => {
  const entry = {
    customerId: 'cust-1',
    input: { paymentToken: 'tok_1', shippingAddress: { line1: '1 Main St' } },
    req: { headers: { 'x-api-key': 'key-1', authorization: 'Bearer t' } },
    err: { details: [{ token: 'tok_2' }] },
    orderId: 'o-1',
  };
  const secrets = ['cust-1', 'tok_1', '1 Main St', 'key-1', 'Bearer t', 'tok_2'];

  function captureWith(personalData: boolean | undefined) {
    const text: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        text.push(chunk.toString());
        done();
      },
    });
    return { text, logger: createLogger('info', stream, personalData === undefined ? {} : { personalData }) };
  }

  it('are redacted at any depth used, and what is not personal stays', () => {
    const { text, logger } = captureWith(false);
    logger.info(entry, 'placed');
    for (const secret of secrets) expect(text.join('')).not.toContain(secret);
    expect(JSON.parse(text[0]!)).toMatchObject({ customerId: '[redacted]', orderId: 'o-1', msg: 'placed' });
  });

  it('are logged as they are with personalData (LOG_PERSONAL_DATA=true)', () => {
    const { text, logger } = captureWith(true);
    logger.info(entry, 'placed');
    for (const secret of secrets) expect(text.join('')).toContain(secret);
  });

  it('follow LOG_PERSONAL_DATA by default', () => {
    const before = process.env.LOG_PERSONAL_DATA;
    try {
      process.env.LOG_PERSONAL_DATA = 'true';
      const shown = captureWith(undefined);
      shown.logger.info(entry, 'x');
      expect(shown.text.join('')).toContain('cust-1');
      delete process.env.LOG_PERSONAL_DATA;
      const hidden = captureWith(undefined);
      hidden.logger.info(entry, 'x');
      expect(hidden.text.join('')).not.toContain('cust-1');
    } finally {
      if (before === undefined) delete process.env.LOG_PERSONAL_DATA;
      else process.env.LOG_PERSONAL_DATA = before;
    }
  });

  it("censor personal query parameters in a request's url", () => {
    expect(redactQuery('/orders?customerId=c-1&status=CONFIRMED')).toBe(
      '/orders?customerId=%5Bredacted%5D&status=CONFIRMED',
    );
    expect(redactQuery('/orders?status=CONFIRMED&limit=5')).toBe('/orders?status=CONFIRMED&limit=5');
    expect(redactQuery('/orders/42')).toBe('/orders/42');
    const { text, logger } = captureWith(false);
    logger.info({ req: { method: 'GET', url: '/orders?customer_id=c-1' } }, 'incoming request');
    expect(JSON.parse(text[0]!).req).toMatchObject({ method: 'GET', url: '/orders?customer_id=%5Bredacted%5D' });
  });
});
