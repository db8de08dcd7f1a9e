import type { SagaDefinition } from './definition';
import type { SagaProgress } from './runtime';

/**
 * Each step of a saga's table with what became of it in one run, derived from the table and
 * the run's live progress (its `status` query) alone: the operations console's step list, the
 * same for every saga. Pure.
 */

export type StepState =
  | 'pending'
  | 'running'
  | 'done'
  /** Passed its deadline and waits for an operator (retry or abandon). */
  | 'stuck'
  | 'failed'
  | 'compensated'
  /** Its undo was declared done by hand by an operator. */
  | 'resolved_by_hand'
  /** Its undo keeps failing and waits for an operator (retry or resolve). */
  | 'compensation_stuck'
  /** Its condition did not hold (e.g. no approval needed). */
  | 'skipped'
  /** The saga stopped before reaching it. */
  | 'not_run';

export interface StepView {
  name: string;
  /** The checklist item it belongs to (several steps may share one, e.g. `approval`). */
  item: string;
  activity: string;
  compensation: string | null;
  /** When the step runs only under a condition, the condition. */
  condition: string | null;
  onDeadline: 'compensate' | 'escalate';
  state: StepState;
  /** Why it is stuck (a step's or its compensation's last error). */
  error: string | null;
}

export interface RunProgress extends SagaProgress {
  failure?: { reason: string; failedStep: string | null } | null;
}

export function stepStates(
  definition: Pick<SagaDefinition<never, never>, 'steps'>,
  progress: RunProgress,
  finished: boolean,
): StepView[] {
  const done = new Set(progress.completedSteps);
  const lastDone = Math.max(-1, ...definition.steps.map((s, i) => (done.has(s.name) ? i : -1)));
  return definition.steps.map((step, index): StepView => {
    const item = step.checklist ?? step.name;
    const compensation = progress.compensations.find((c) => c.step === step.name);
    const stuckUndo = progress.stuck.find((s) => s.step === step.name);
    const view = (state: StepState, error: string | null = null): StepView => ({
      name: step.name,
      item,
      activity: step.activity,
      compensation: step.compensation?.activity ?? null,
      condition: step.when?.describe ?? null,
      onDeadline: step.onDeadline ?? 'compensate',
      state,
      error,
    });
    if (progress.stuckStep?.step === step.name) return view('stuck', progress.stuckStep.error);
    if (done.has(step.name)) {
      if (stuckUndo) return view('compensation_stuck', stuckUndo.error);
      if (compensation) return view(compensation.status === 'compensated' ? 'compensated' : 'resolved_by_hand');
      return view('done');
    }
    const failedHere = progress.failure && [step.name, item].includes(progress.failure.failedStep ?? '');
    if (failedHere) return view('failed', progress.failure!.reason);
    if (!finished && progress.step === item && !progress.failure) return view('running');
    if (index < lastDone) return view(step.when ? 'skipped' : 'not_run');
    if (finished || progress.failure) return view(step.when && !progress.failure ? 'skipped' : 'not_run');
    return view('pending');
  });
}
