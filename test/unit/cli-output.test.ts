import {
  formatAction,
  formatBulk,
  formatDeadLetter,
  formatDeadLetterList,
  formatSagaAction,
  type BulkAnswer,
  type DeadLetterDetailView,
} from '../../src/cli/output';

// What the operator commands print for the API's answers.

const LETTER: DeadLetterDetailView = {
  id: 7,
  consumer: 'notifier',
  eventId: 'e-1',
  streamId: 'order-1',
  globalPosition: 3,
  eventType: 'order.confirmed',
  schemaVersion: 1,
  status: 'open',
  reason: 'invalid_payload',
  error: 'EventSchemaViolationError: orderId Invalid input\nsecond line',
  attempts: 1,
  firstFailedAt: '2025-01-01T00:00:00.000Z',
  lastFailedAt: '2025-01-01T00:00:01.000Z',
  resolvedAt: null,
};

const counts = { applied: 0, duplicate: 0, failed: 0, discarded: 0, skipped: 0, released: 0 };

describe('dead letter output', () => {
  it('lists one tab-separated line per dead letter', () => {
    expect(formatDeadLetterList([LETTER])).toBe(
      '7\topen\tnotifier\torder.confirmed\torder-1\tinvalid_payload\tEventSchemaViolationError: orderId Invalid input\n',
    );
    expect(formatDeadLetterList([])).toBe('No dead letters.\n');
  });

  it('shows a dead letter with its actions and event', () => {
    const text = formatDeadLetter({
      ...LETTER,
      stack: 'Error: x\n    at y',
      event: { eventId: 'e-1' },
      actions: [{ action: 'discard', actor: 'ops', outcome: 'discarded', detail: 'test', actedAt: 't' }],
    });
    expect(text).toMatch(/^Dead letter 7 \(open\)\n/);
    expect(text).toContain('  event      order.confirmed v1 e-1');
    expect(text).toContain('  t  discard by ops: discarded — test');
    expect(text).toContain('Event:\n  {\n    "eventId": "e-1"\n  }');
  });

  it('prints an action and fails when it or a released event failed', () => {
    expect(formatAction({ deadLetter: LETTER, outcome: 'applied', released: [] })).toEqual({
      text: 'Dead letter 7 (notifier, order.confirmed e-1): applied\n',
      failed: false,
    });
    const released = formatAction({
      deadLetter: LETTER,
      outcome: 'applied',
      released: [{ id: 8, outcome: 'failed', error: 'boom' }],
    });
    expect(released.text).toContain('  released parked 8: failed — boom\n');
    expect(released.failed).toBe(true);
    expect(formatAction({ deadLetter: LETTER, outcome: 'failed', error: 'x', released: [] }).failed).toBe(true);
  });
});

describe('bulk output', () => {
  const dry: BulkAnswer = {
    dryRun: true,
    matched: 50,
    parkedBehind: 12,
    counts,
    results: [{ id: 1, eventType: 'order.confirmed', streamId: 'order-1', outcome: 'matched' }],
  };

  it('says what a dry run would take', () => {
    expect(formatBulk('replay', dry)).toEqual({
      text:
        '  1 order.confirmed order-1\n' +
        'Dry run: 50 dead letters match (12 parked events behind them). Run again without --dry-run to replay them.\n',
      failed: false,
    });
    expect(formatBulk('discard', { ...dry, matched: 1, parkedBehind: 1, results: [] }).text).toBe(
      'Dry run: 1 dead letter matches (1 parked event behind it). Run again without --dry-run to discard it.\n',
    );
    expect(formatBulk('replay', { ...dry, matched: 0, parkedBehind: 0, results: [] }).text).toBe(
      'Dry run: no open dead letters match.\n',
    );
  });

  it('counts a real run and fails when any failed', () => {
    const run: BulkAnswer = {
      dryRun: false,
      matched: 50,
      parkedBehind: 12,
      counts: { ...counts, applied: 50, released: 12 },
      results: [],
    };
    expect(formatBulk('replay', run)).toEqual({
      text: 'Replayed 50: 50 applied, 0 duplicate, 0 failed, 0 skipped; 12 parked events released\n',
      failed: false,
    });
    const failed = formatBulk('replay', {
      ...run,
      counts: { ...counts, applied: 49, failed: 1, released: 12 },
      results: [{ id: 9, eventType: 'order.confirmed', streamId: 'order-9', outcome: 'failed', error: 'boom\nstack' }],
    });
    expect(failed.text).toBe(
      'Replayed 50: 49 applied, 0 duplicate, 1 failed, 0 skipped; 12 parked events released\n' +
        '  9 order.confirmed order-9: failed — boom\n',
    );
    expect(failed.failed).toBe(true);
    expect(formatBulk('discard', { ...run, counts: { ...counts, discarded: 50, released: 1 } }).text).toBe(
      'Discarded 50: 50 discarded, 0 failed, 0 skipped; 1 parked event released\n',
    );
    expect(formatBulk('discard', { ...run, matched: 0 }).text).toBe(
      'No open dead letters match: nothing to discard.\n',
    );
  });
});

describe('saga action output', () => {
  it('says what was sent and the saga phase now, and what still waits', () => {
    expect(formatSagaAction('order', 'o-1', 'retry of capturePayment sent', { sagaPhase: 'RUNNING' })).toBe(
      'Order o-1: retry of capturePayment sent; saga phase now RUNNING\n',
    );
    expect(
      formatSagaAction('return', 'r-1', 'retry of the failed compensation sent', {
        sagaPhase: 'COMPENSATION_STUCK',
        stuck: [{ step: 'refundPayment', error: 'gateway down\nat x', attempt: 3 }],
        stuckStep: null,
        failure: { reason: 'carrier refused', failedStep: 'scheduleReturnPickup' },
      }),
    ).toBe(
      'Return r-1: retry of the failed compensation sent; saga phase now COMPENSATION_STUCK\n' +
        '  compensation waiting for an operator: refundPayment: gateway down\n' +
        '  failure: carrier refused (scheduleReturnPickup)\n',
    );
  });
});
