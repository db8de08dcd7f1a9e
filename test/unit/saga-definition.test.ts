import { EVENT_DEFINITIONS } from '../../src/events/catalog';
import { checklistOf, commandSuffix, defineSaga, flowOf, SagaDefinitionError } from '../../src/saga/definition';
import { ORDER_SAGA, ORDER_STEPS } from '../../src/workflows/order-saga';
import { RETURN_SAGA, RETURN_STEPS } from '../../src/workflows/return-saga';

// The saga table is the one source of a saga's steps: checklist, docs and command ids derive from it.

const base = {
  name: 'testSaga',
  description: 'test',
  commandFields: () => ({}),
  causationOf: () => 'c',
  onStop: { activity: 'cancel', describe: 'on failure', summary: () => 'cancel', input: () => ({}) },
};

describe('defineSaga', () => {
  it('refuses a saga without steps, two steps of one name, or an activity called twice', () => {
    expect(() => defineSaga({ ...base, steps: [] })).toThrow(SagaDefinitionError);
    expect(() =>
      defineSaga({
        ...base,
        steps: [
          { name: 'a', activity: 'x', summary: 'x' },
          { name: 'a', activity: 'y', summary: 'y' },
        ],
      }),
    ).toThrow(/two steps named a/);
    expect(() =>
      defineSaga({
        ...base,
        steps: [
          { name: 'a', activity: 'x', summary: 'x' },
          { name: 'b', activity: 'y', summary: 'y', compensation: { activity: 'x', summary: 'undo' } },
        ],
      }),
    ).toThrow(/activity x twice/);
  });

  it('refuses a step after a retriable one that is not retriable, or a retriable step with an undo', () => {
    expect(() =>
      defineSaga({
        ...base,
        steps: [
          { name: 'a', activity: 'x', summary: 'x', retriable: true },
          { name: 'b', activity: 'y', summary: 'y' },
        ],
      }),
    ).toThrow(/step b comes after a retriable step/);
    expect(() =>
      defineSaga({
        ...base,
        steps: [
          { name: 'a', activity: 'x', summary: 'x', retriable: true, compensation: { activity: 'u', summary: 'u' } },
        ],
      }),
    ).toThrow(/step a comes after a retriable step, so it must be retriable and have no compensation/);
    expect(() =>
      defineSaga({
        ...base,
        steps: [
          { name: 'a', activity: 'x', summary: 'x', compensation: { activity: 'u', summary: 'u' } },
          { name: 'b', activity: 'y', summary: 'y', retriable: true },
        ],
      }),
    ).not.toThrow();
  });

  it('derives command id suffixes from activity names', () => {
    expect(commandSuffix('reserveInventory')).toBe('reserve-inventory');
    expect(commandSuffix('createOrder')).toBe('create-order');
  });

  it('groups consecutive steps sharing a checklist item, with their condition', () => {
    const saga = defineSaga({
      ...base,
      steps: [
        { name: 'a', activity: 'a', summary: 'a' },
        { name: 'b1', checklist: 'b', activity: 'b1', summary: 'b', when: { describe: 'sometimes', test: () => true } },
        {
          name: 'b2',
          checklist: 'b',
          activity: 'b2',
          summary: 'b',
          compensation: { activity: 'undoB2', summary: 'u' },
        },
        { name: 'c', activity: 'c', summary: 'c' },
      ],
    });
    expect(checklistOf(saga)).toEqual([
      { item: 'a', steps: ['a'] },
      { item: 'b', steps: ['b1', 'b2'], condition: 'sometimes' },
      { item: 'c', steps: ['c'] },
    ]);
    expect(flowOf(saga)).toEqual([
      { step: 'a', activities: ['a'] },
      { step: 'b', activities: ['b1', 'b2'], undo: 'undoB2', condition: 'sometimes' },
      { step: 'c', activities: ['c'] },
    ]);
  });
});

describe('the project sagas', () => {
  it('orderSaga: the checklist the UI and docs have always shown', () => {
    expect(ORDER_STEPS).toEqual([
      'createOrder',
      'reserveInventory',
      'authorizePayment',
      'approval',
      'scheduleShipment',
      'capturePayment',
      'confirmOrder',
    ]);
    // Once the goods ship and money is taken, a passed deadline goes to an operator.
    const escalating = ORDER_SAGA.steps.filter((s) => s.onDeadline === 'escalate').map((s) => s.name);
    expect(escalating).toEqual(['capturePayment', 'confirmOrder']);
  });

  it('returnSaga: open, pickup, receive, refund, restock, complete; only the pickup is undone', () => {
    expect(RETURN_STEPS).toEqual([
      'openReturn',
      'schedulePickup',
      'receiveGoods',
      'refundReturn',
      'restockReturn',
      'completeReturn',
    ]);
    expect(flowOf(RETURN_SAGA as never).flatMap((s) => (s.undo ? [s.undo] : []))).toEqual(['cancelPickup']);
    // Once the goods are back (the pivot), money and stock must follow: retried, never undone.
    expect(RETURN_SAGA.steps.filter((s) => s.retriable).map((s) => s.name)).toEqual([
      'refundReturn',
      'restockReturn',
      'completeReturn',
    ]);
  });

  it("the catalog's producers name a saga and an activity of its table", () => {
    const sagas = new Map(
      [ORDER_SAGA, RETURN_SAGA].map((saga) => [
        saga.name,
        [
          ...saga.steps.flatMap((s) => [s.activity, ...(s.compensation ? [s.compensation.activity] : [])]),
          saga.onStop.activity,
        ] as string[],
      ]),
    );
    const unknown = EVENT_DEFINITIONS.filter((d) => {
      const [saga, activity] = d.producer.split('/').map((x) => x.trim());
      return !sagas.get(saga!)?.includes(activity!);
    }).map((d) => `${d.type}: ${d.producer}`);
    expect(unknown).toEqual([]);
  });
});
