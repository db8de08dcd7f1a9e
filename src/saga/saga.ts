import {
  CancellationScope,
  condition,
  defineSignal,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { SagaPhaseKey } from './search-attributes';
import { runCompensations, type CompensationOutcome, type EscalationDecision } from './compensations';

export type SagaPhase =
  | 'RUNNING'
  /** A forward step passed its deadline and waits for an operator (retryStep / abandonStep). */
  | 'STEP_STUCK'
  | 'COMPENSATING'
  | 'COMPENSATION_STUCK'
  | 'COMPENSATED'
  | 'COMPLETED';

/**
 * What an operator signal carries: why, and who acted (the API key's name). Only recorded in
 * the workflow's history, where the Temporal UI shows it beside the decision; the saga itself
 * reads neither, so signals sent without them (older clients, the Temporal CLI) act the same.
 */
export interface OperatorSignalArgs {
  note?: string;
  by?: string;
}

/** Operator signal: run the stuck compensation(s) again (after fixing the cause). */
export const retryCompensationSignal = defineSignal<[OperatorSignalArgs?]>('retryCompensation');
/** Operator signal: the stuck compensation(s) were undone by hand; carry on without them. */
export const markCompensationResolvedSignal = defineSignal<[OperatorSignalArgs?]>('markCompensationResolved');

/** Operator signal: run the stuck forward step again (after fixing the cause), with a fresh deadline. */
export const retryStepSignal = defineSignal<[OperatorSignalArgs?]>('retryStep');
/** Operator signal: give up on the stuck forward step; the saga compensates what it did. */
export const abandonStepSignal = defineSignal<[OperatorSignalArgs?]>('abandonStep');

/** What the operator decided for a forward step stuck past its deadline. */
export type StepEscalationDecision = 'retry' | 'abandon';

export interface StuckCompensation {
  step: string;
  error: string;
  attempt: number;
}

export interface SagaSnapshot {
  phase: SagaPhase;
  /** Steps whose action completed, in order. */
  completedSteps: string[];
  /** The step running now, if any. */
  currentStep: string | null;
  /** Compensations finished so far, in the order they finished. */
  compensations: CompensationOutcome[];
  stuck: StuckCompensation[];
  /** A forward step past its deadline, waiting for an operator. */
  stuckStep: StuckCompensation | null;
}

export interface SagaOptions {
  /** Run compensations concurrently instead of last-in-first-out. Default false. */
  parallelCompensation?: boolean;
  /** Keyword search attribute that mirrors the phase. Default `SagaPhase`; `null` to skip. */
  phaseSearchAttribute?: typeof SagaPhaseKey | null;
  /**
   * Called on every change (step started or done, phase, compensation outcome). Default:
   * `setCurrentDetails` with a generic checklist; workflows pass their own renderer.
   */
  onChange?: (snapshot: SagaSnapshot) => void;
}

const errorMessage = (err: unknown): string => {
  let e = err as { message?: string; cause?: unknown } | undefined;
  // Activity failures wrap the interesting error as their cause.
  while (e?.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  return e?.message ?? String(err);
};

/** Markdown for the Temporal UI's "current details" panel. */
export function renderSagaDetails(snapshot: SagaSnapshot, options: { steps?: boolean } = {}): string {
  const lines = [`**Saga phase:** ${snapshot.phase}`, ''];
  if (options.steps !== false) {
    for (const step of snapshot.completedSteps) lines.push(`- [x] ${step}`);
    if (snapshot.currentStep) lines.push(`- [ ] ${snapshot.currentStep} (running)`);
  }
  if (snapshot.compensations.length) {
    lines.push('', '**Compensations**', '');
    for (const c of snapshot.compensations) lines.push(`- [x] undo ${c.step} (${c.status}, ${c.attempts} run(s))`);
  }
  if (snapshot.stuckStep) {
    const s = snapshot.stuckStep;
    lines.push('', '**Step stuck**: needs an operator', '');
    lines.push(`- ${s.step} (escalation #${s.attempt}): ${s.error}`);
    lines.push('', 'Fix the cause, then signal `retryStep`; or signal `abandonStep` to compensate the saga.');
  }
  if (snapshot.stuck.length) {
    lines.push('', '**Compensation stuck**: needs an operator', '');
    for (const s of snapshot.stuck) lines.push(`- undo ${s.step} (escalation #${s.attempt}): ${s.error}`);
    lines.push(
      '',
      'Fix the cause, then signal `retryCompensation`; or undo it by hand and signal `markCompensationResolved`.',
    );
  }
  return lines.join('\n');
}

/**
 * Workflow-side saga: each step registers its compensation before its action runs, so a
 * step that timed out but did succeed is still undone (compensations must therefore be
 * idempotent and tolerate "nothing to undo"). `compensate()` runs them in a
 * non-cancellable scope; one that keeps failing parks the saga in COMPENSATION_STUCK until
 * an operator signal, rather than being swallowed.
 */
export class Saga {
  private readonly compensations: { step: string; run: () => Promise<void> }[] = [];
  private readonly snapshotState: SagaSnapshot = {
    phase: 'RUNNING',
    completedSteps: [],
    currentStep: null,
    compensations: [],
    stuck: [],
    stuckStep: null,
  };
  private operatorSignals = 0;
  private lastDecision: EscalationDecision = 'retry';
  private stepSignals = 0;
  private lastStepDecision: StepEscalationDecision = 'retry';

  constructor(private readonly options: SagaOptions = {}) {
    setHandler(
      retryCompensationSignal,
      () => {
        this.lastDecision = 'retry';
        this.operatorSignals++;
      },
      { description: 'Retry compensations that are stuck (after fixing their cause).' },
    );
    setHandler(
      markCompensationResolvedSignal,
      () => {
        this.lastDecision = 'resolved';
        this.operatorSignals++;
      },
      { description: 'Declare stuck compensations undone by hand; the saga carries on without them.' },
    );
    setHandler(
      retryStepSignal,
      () => {
        this.lastStepDecision = 'retry';
        this.stepSignals++;
      },
      { description: 'Run the forward step that passed its deadline again (after fixing its cause).' },
    );
    setHandler(
      abandonStepSignal,
      () => {
        this.lastStepDecision = 'abandon';
        this.stepSignals++;
      },
      { description: 'Give up on the forward step that passed its deadline: the saga compensates.' },
    );
    this.setPhase('RUNNING');
  }

  get snapshot(): SagaSnapshot {
    // (structuredClone is not available in the workflow sandbox)
    const s = this.snapshotState;
    return {
      phase: s.phase,
      completedSteps: [...s.completedSteps],
      currentStep: s.currentStep,
      compensations: s.compensations.map((c) => ({ ...c })),
      stuck: s.stuck.map((x) => ({ ...x })),
      stuckStep: s.stuckStep ? { ...s.stuckStep } : null,
    };
  }

  /**
   * Runs one step. `compensate` is registered before `action` starts; omit it for steps
   * with nothing to undo.
   */
  async step<T>(name: string, action: () => Promise<T>, compensate?: () => Promise<void>): Promise<T> {
    if (compensate) this.compensations.push({ step: name, run: compensate });
    this.snapshotState.currentStep = name;
    this.changed();
    const result = await action();
    this.snapshotState.currentStep = null;
    this.snapshotState.completedSteps.push(name);
    this.changed();
    return result;
  }

  /**
   * Parks the saga on a forward step that failed past its deadline (SagaPhase `STEP_STUCK`,
   * current details) until an operator signals `retryStep` or `abandonStep`.
   */
  async escalateStep(step: string, error: unknown, attempt: number): Promise<StepEscalationDecision> {
    const seen = this.stepSignals;
    this.snapshotState.stuckStep = { step, error: errorMessage(error), attempt };
    this.setPhase('STEP_STUCK');
    await condition(() => this.stepSignals > seen);
    this.snapshotState.stuckStep = null;
    this.setPhase('RUNNING');
    return this.lastStepDecision;
  }

  /** Marks the saga finished successfully. */
  complete(): void {
    this.setPhase('COMPLETED');
  }

  /** Undoes every registered step (last first unless parallel); survives workflow cancellation. */
  async compensate(): Promise<CompensationOutcome[]> {
    this.snapshotState.currentStep = null;
    this.setPhase('COMPENSATING');
    const outcomes = await CancellationScope.nonCancellable(() =>
      runCompensations(this.compensations, {
        parallel: this.options.parallelCompensation,
        escalate: (request) => this.escalate(request.step, request.error, request.attempt),
        onOutcome: (outcome) => {
          this.snapshotState.compensations.push(outcome);
          this.changed();
        },
      }),
    );
    this.setPhase('COMPENSATED');
    return outcomes;
  }

  private async escalate(step: string, error: unknown, attempt: number): Promise<EscalationDecision> {
    const seen = this.operatorSignals;
    this.snapshotState.stuck.push({ step, error: errorMessage(error), attempt });
    this.setPhase('COMPENSATION_STUCK');
    await condition(() => this.operatorSignals > seen);
    this.snapshotState.stuck = this.snapshotState.stuck.filter((s) => s.step !== step);
    if (this.snapshotState.stuck.length === 0) this.setPhase('COMPENSATING');
    return this.lastDecision;
  }

  private setPhase(phase: SagaPhase): void {
    this.snapshotState.phase = phase;
    const key = this.options.phaseSearchAttribute === undefined ? SagaPhaseKey : this.options.phaseSearchAttribute;
    if (key) upsertSearchAttributes([{ key, value: phase }]);
    this.changed();
  }

  private changed(): void {
    if (this.options.onChange) this.options.onChange(this.snapshot);
    else setCurrentDetails(renderSagaDetails(this.snapshotState));
  }
}
