import { checklistOf, type SagaDefinition, type SagaStepDefinition } from '../saga/definition';

/**
 * The failure points of a saga, derived from its step table alone: what can fail where, and
 * which fault makes it fail there. Pure: the explorer runs each scenario on the real stack.
 */

/** What the explorer's activity interceptor does to one activity of one run. */
export type Fault =
  /** Fails every attempt with a non-retryable business error. */
  | { kind: 'business' }
  /** Fails every attempt with a retryable error (an outage), until cleared. */
  | { kind: 'transient' }
  /** Fails the first `failures` attempts (retryable), then runs. */
  | { kind: 'flaky'; failures: number }
  /** Runs and commits, then the report is lost (as when the worker dies right there): retried. */
  | { kind: 'lost-report' }
  /** Waits until the explorer opens the gate (a cancel arrives meanwhile). */
  | { kind: 'gate' };

export type FaultKind =
  | 'business-failure'
  | 'deadline'
  | 'deadline-escalated-retried'
  | 'deadline-escalated-abandoned'
  | 'compensation-flaky'
  | 'compensation-stuck-retried'
  | 'lost-report'
  | 'cancel';

export const FAULT_KINDS: readonly FaultKind[] = [
  'business-failure',
  'deadline',
  'deadline-escalated-retried',
  'deadline-escalated-abandoned',
  'compensation-flaky',
  'compensation-stuck-retried',
  'lost-report',
  'cancel',
];

/** What the explorer does while a scenario's saga runs, besides injecting its faults. */
export type Operator =
  /** Once the step is parked past its deadline: clear the fault, retry the step through the API. */
  | { kind: 'retry-step'; step: string }
  /**
   * Once the step is parked past its deadline: abandon it through the API (compensates). Past
   * the saga's point of no return (`refused`) the abandon must be refused; the step is then retried.
   */
  | { kind: 'abandon-step'; step: string; refused?: boolean }
  /** Once a compensation is stuck: clear the undo activity's fault, retry the compensation through the API. */
  | { kind: 'retry-compensation'; activity: string }
  /** Once the gated activity runs: ask the saga to cancel, then open the gate. */
  | { kind: 'cancel'; activity: string };

export interface Scenario {
  /** Stable id: `<kind>:<step or activity>`. */
  id: string;
  kind: FaultKind;
  /** The matrix row: the step (or compensation's step) the fault is aimed at. */
  step: string;
  description: string;
  /** Faults by activity name. */
  faults: Record<string, Fault>;
  /** Per-step deadline overrides the run needs (short ones, for deadline scenarios). */
  deadlines: Record<string, string>;
  operator?: Operator;
}

export interface ScenarioOptions {
  /** The deadline given to a step whose deadline is explored. Default 2 s. */
  shortDeadline?: string;
  /** Whether the saga takes a stop request (a cancel) at its checklist boundaries. Default: when it declares `stopRequested`. */
  cancellable?: boolean;
}

type Step = SagaStepDefinition<unknown, unknown>;

/** The deadline action a step declares (or the saga's default). */
const onDeadlineOf = (saga: SagaDefinition<unknown, unknown>, step: Step) =>
  step.retriable ? 'escalate' : (step.onDeadline ?? saga.defaults?.onDeadline ?? 'compensate');

/**
 * Every scenario of a saga: each forward step failing with a business error and transiently
 * until its deadline (escalations then retried and abandoned); each compensation failing a
 * few times, and until it escalates (then retried); each activity's report lost after its
 * commit (compensations and the stop activity on a failure path); a cancel while each
 * checklist item runs.
 */
export function scenariosOf<I, S>(definition: SagaDefinition<I, S>, options: ScenarioOptions = {}): Scenario[] {
  const saga = definition as unknown as SagaDefinition<unknown, unknown>;
  const steps = saga.steps as readonly Step[];
  const short = options.shortDeadline ?? '2 seconds';
  const out: Scenario[] = [];
  const add = (s: Omit<Scenario, 'id' | 'deadlines'> & { deadlines?: Record<string, string> }) =>
    out.push({ ...s, id: `${s.kind}:${s.step}`, deadlines: s.deadlines ?? {} });
  /** A stop right after `index`: the next step fails with a business error. */
  const stopAfter = (index: number): Record<string, Fault> | undefined => {
    const next = steps[index + 1];
    return next ? { [next.activity]: { kind: 'business' } } : undefined;
  };

  steps.forEach((step, i) => {
    add({
      kind: 'business-failure',
      step: step.name,
      // Past the point of no return a business error waits for an operator too.
      description: step.retriable
        ? `${step.activity} fails with a business error; an operator retries it once repaired`
        : `${step.activity} fails with a business error`,
      faults: { [step.activity]: { kind: 'business' } },
      ...(step.retriable ? { operator: { kind: 'retry-step', step: step.name } as const } : {}),
    });
    const deadline = { [step.name]: short };
    if (onDeadlineOf(saga, step) === 'escalate') {
      for (const [kind, operator] of [
        ['deadline-escalated-retried', { kind: 'retry-step', step: step.name }],
        ['deadline-escalated-abandoned', { kind: 'abandon-step', step: step.name, refused: step.retriable ?? false }],
      ] as const) {
        add({
          kind,
          step: step.name,
          description: `${step.activity} fails transiently past its deadline; the escalation is ${
            operator.kind === 'retry-step'
              ? 'retried'
              : step.retriable
                ? 'abandoned (refused past the point of no return), then retried'
                : 'abandoned'
          } through the operator routes`,
          faults: { [step.activity]: { kind: 'transient' } },
          deadlines: deadline,
          operator,
        });
      }
    } else {
      add({
        kind: 'deadline',
        step: step.name,
        description: `${step.activity} fails transiently until its deadline`,
        faults: { [step.activity]: { kind: 'transient' } },
        deadlines: deadline,
      });
    }
    add({
      kind: 'lost-report',
      step: step.name,
      description: `${step.activity} commits, then its report to Temporal is lost`,
      faults: { [step.activity]: { kind: 'lost-report' } },
    });
    const trigger = stopAfter(i);
    if (step.compensation && trigger) {
      const undo = step.compensation.activity;
      add({
        kind: 'compensation-flaky',
        step: step.name,
        description: `${undo} fails twice, then succeeds`,
        faults: { ...trigger, [undo]: { kind: 'flaky', failures: 2 } },
      });
      add({
        kind: 'compensation-stuck-retried',
        step: step.name,
        description: `${undo} fails until the saga escalates; retried through the operator routes`,
        faults: { ...trigger, [undo]: { kind: 'transient' } },
        operator: { kind: 'retry-compensation', activity: undo },
      });
      add({
        kind: 'lost-report',
        step: `${step.name} (undo)`,
        description: `${undo} commits, then its report is lost`,
        faults: { ...trigger, [undo]: { kind: 'lost-report' } },
      });
    }
  });
  // The stop activity's report lost, on the first failure path that has something to undo.
  const firstUndoable = steps.findIndex((s, i) => s.compensation && stopAfter(i));
  if (firstUndoable >= 0) {
    add({
      kind: 'lost-report',
      step: `${saga.onStop.activity} (stop)`,
      description: `${saga.onStop.activity} commits, then its report is lost`,
      faults: { ...stopAfter(firstUndoable)!, [saga.onStop.activity]: { kind: 'lost-report' } },
    });
  }
  if (options.cancellable ?? Boolean(saga.stopRequested)) {
    for (const item of checklistOf(saga)) {
      const first = steps.find((s) => s.name === item.steps[0])!;
      add({
        kind: 'cancel',
        step: item.item,
        description: `a cancel arrives while ${first.activity} runs`,
        faults: { [first.activity]: { kind: 'gate' } },
        operator: { kind: 'cancel', activity: first.activity },
      });
    }
  }
  return out;
}

/** A small run covering every fault kind once: the first scenario of each kind. */
export function quickScenarios(scenarios: readonly Scenario[]): Scenario[] {
  return FAULT_KINDS.flatMap((kind) => scenarios.find((s) => s.kind === kind) ?? []);
}
