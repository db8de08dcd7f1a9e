import { compensationCheck } from '../../src/explore/checks';
import { FAULT_KINDS, quickScenarios, scenariosOf } from '../../src/explore/scenarios';
import { defineSaga, type SagaDefinition } from '../../src/saga/definition';
import { ORDER_SAGA, RETURN_SAGA } from '../../src/workflows';

// The explorer's scenarios come from a saga's table alone.

const TINY = defineSaga<Record<string, never>, Record<string, never>, string>({
  name: 'tiny',
  description: 'two steps, the second escalates',
  commandFields: () => ({}),
  causationOf: () => 'c',
  steps: [
    { name: 'book', activity: 'book', summary: 'Book', compensation: { activity: 'unbook', summary: 'Unbook' } },
    { name: 'pay', activity: 'pay', summary: 'Pay', onDeadline: 'escalate' },
  ],
  onStop: { activity: 'giveUp', summary: () => 'Give up', input: () => ({}), describe: 'always' },
});

describe('scenariosOf', () => {
  it('derives every failure point of a small table', () => {
    expect(scenariosOf(TINY).map((s) => s.id)).toEqual([
      'business-failure:book',
      'deadline:book',
      'lost-report:book',
      'compensation-flaky:book',
      'compensation-stuck-retried:book',
      'lost-report:book (undo)',
      'business-failure:pay',
      'deadline-escalated-retried:pay',
      'deadline-escalated-abandoned:pay',
      'lost-report:pay',
      'lost-report:giveUp (stop)',
    ]);
  });

  it('stops right after a step to explore its undo, and shortens only the explored deadline', () => {
    const byId = new Map(scenariosOf(TINY).map((s) => [s.id, s]));
    expect(byId.get('compensation-flaky:book')!.faults).toEqual({
      pay: { kind: 'business' },
      unbook: { kind: 'flaky', failures: 2 },
    });
    expect(byId.get('deadline:book')!.deadlines).toEqual({ book: '2 seconds' });
    expect(byId.get('deadline-escalated-abandoned:pay')!.operator).toEqual({
      kind: 'abandon-step',
      step: 'pay',
      refused: false,
    });
  });

  it('past the point of no return: a business error waits for a retry, and abandoning is refused', () => {
    const pivoted = defineSaga({ ...TINY, steps: [TINY.steps[0]!, { ...TINY.steps[1]!, retriable: true }] });
    const byId = new Map(scenariosOf(pivoted).map((s) => [s.id, s]));
    expect(byId.get('business-failure:pay')!.operator).toEqual({ kind: 'retry-step', step: 'pay' });
    expect(byId.get('deadline-escalated-abandoned:pay')!.operator).toEqual({
      kind: 'abandon-step',
      step: 'pay',
      refused: true,
    });
    expect(byId.get('business-failure:book')!.operator).toBeUndefined();
  });

  it('explores a cancel at every checklist item of a saga that takes one', () => {
    const cancels = scenariosOf(ORDER_SAGA).filter((s) => s.kind === 'cancel');
    expect(cancels.map((s) => s.step)).toEqual([
      'createOrder',
      'reserveInventory',
      'authorizePayment',
      'approval',
      'scheduleShipment',
      'capturePayment',
      'confirmOrder',
    ]);
    expect(scenariosOf(TINY).some((s) => s.kind === 'cancel')).toBe(false);
  });

  it.each([
    ['orderSaga', ORDER_SAGA],
    ['returnSaga', RETURN_SAGA],
  ] as const)('the quick run of %s covers every fault kind once', (_name, saga) => {
    const quick = quickScenarios(scenariosOf(saga as unknown as SagaDefinition<never, never>));
    expect(quick.map((s) => s.kind).sort()).toEqual([...FAULT_KINDS].sort());
  });
});

describe('compensationCheck', () => {
  const saga = TINY as unknown as SagaDefinition<never, never>;
  it('expects the undos of the steps that ran, last first, once each', () => {
    expect(compensationCheck(saga, ['book', 'pay', 'unbook', 'giveUp']).ok).toBe(true);
    expect(compensationCheck(saga, ['book', 'pay']).ok).toBe(true);
    // An undo retried by an operator is scheduled again: still once.
    expect(compensationCheck(saga, ['book', 'pay', 'unbook', 'unbook', 'giveUp']).ok).toBe(true);
  });
  it('fails when an undo is missing, or runs without a stop', () => {
    expect(compensationCheck(saga, ['book', 'pay', 'giveUp'])).toMatchObject({
      ok: false,
      detail: 'ran [], expected [unbook]',
    });
    expect(compensationCheck(saga, ['book', 'unbook']).ok).toBe(false);
  });
});
