import { notStarted } from '../../src/saga/runtime';
import { stepStates, type RunProgress } from '../../src/saga/step-states';
import { ORDER_SAGA } from '../../src/workflows';

// The console's step list is derived from the saga's table and its live progress alone.

const progress = (p: Partial<RunProgress>): RunProgress => ({
  ...notStarted(),
  failure: null,
  ...p,
});
const states = (p: Partial<RunProgress>, finished: boolean) =>
  Object.fromEntries(stepStates(ORDER_SAGA, progress(p), finished).map((s) => [s.name, s.state]));

describe('stepStates', () => {
  it('a confirmed order without approval: every step done, the approval steps skipped', () => {
    expect(
      states(
        {
          completedSteps: [
            'createOrder',
            'reserveInventory',
            'authorizePayment',
            'scheduleShipment',
            'capturePayment',
            'confirmOrder',
          ],
          sagaPhase: 'COMPLETED',
        },
        true,
      ),
    ).toEqual({
      createOrder: 'done',
      reserveInventory: 'done',
      authorizePayment: 'done',
      requestApproval: 'skipped',
      approveOrder: 'skipped',
      scheduleShipment: 'done',
      capturePayment: 'done',
      confirmOrder: 'done',
    });
  });

  it('a declined payment: the failed step, its predecessors compensated, the rest never run', () => {
    expect(
      states(
        {
          completedSteps: ['createOrder', 'reserveInventory'],
          compensations: [
            { step: 'authorizePayment', status: 'compensated' },
            { step: 'reserveInventory', status: 'compensated' },
          ],
          sagaPhase: 'COMPENSATED',
          failure: { reason: 'PaymentDeclined', failedStep: 'authorizePayment' },
        },
        true,
      ),
    ).toMatchObject({
      createOrder: 'done',
      reserveInventory: 'compensated',
      authorizePayment: 'failed',
      requestApproval: 'not_run',
      scheduleShipment: 'not_run',
      confirmOrder: 'not_run',
    });
  });

  it('an order never created: createOrder failed with the reason, nothing else ran', () => {
    const views = stepStates(
      ORDER_SAGA,
      progress({ sagaPhase: 'COMPENSATED', failure: { reason: 'step_deadline_exceeded', failedStep: 'createOrder' } }),
      true,
    );
    expect(views[0]).toMatchObject({ name: 'createOrder', state: 'failed', error: 'step_deadline_exceeded' });
    expect(new Set(views.slice(1).map((v) => v.state))).toEqual(new Set(['not_run']));
  });

  it('a running saga: what runs, what is parked and why, what waits', () => {
    const views = stepStates(
      ORDER_SAGA,
      progress({
        step: 'capturePayment',
        completedSteps: ['createOrder', 'reserveInventory', 'authorizePayment', 'scheduleShipment'],
        sagaPhase: 'STEP_STUCK',
        stuckStep: { step: 'capturePayment', error: 'gateway down', attempt: 1 },
      }),
      false,
    );
    expect(views.find((v) => v.name === 'capturePayment')).toMatchObject({ state: 'stuck', error: 'gateway down' });
    expect(views.find((v) => v.name === 'confirmOrder')!.state).toBe('pending');
    expect(views.find((v) => v.name === 'requestApproval')!.state).toBe('skipped');
    expect(states({ step: 'reserveInventory', completedSteps: ['createOrder'] }, false)).toMatchObject({
      createOrder: 'done',
      reserveInventory: 'running',
      authorizePayment: 'pending',
    });
  });

  it('a compensation waiting for an operator, and one resolved by hand', () => {
    expect(
      states(
        {
          completedSteps: ['createOrder', 'reserveInventory', 'authorizePayment'],
          compensations: [{ step: 'authorizePayment', status: 'resolved-manually' }],
          stuck: [{ step: 'reserveInventory', error: 'read-only', attempt: 2 }],
          sagaPhase: 'COMPENSATION_STUCK',
          failure: { reason: 'cancelled_by_customer', failedStep: 'approval' },
        },
        false,
      ),
    ).toMatchObject({
      reserveInventory: 'compensation_stuck',
      authorizePayment: 'resolved_by_hand',
      requestApproval: 'failed',
      approveOrder: 'failed',
    });
  });
});
