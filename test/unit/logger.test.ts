import { Writable } from 'node:stream';
import { runWithCorrelation } from '../../src/correlation/context';
import { createLogger, wantsPrettyLogs } from '../../src/logger';

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
