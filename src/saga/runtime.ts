import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  isCancellation,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import { RetryState, type ActivityOptions, type Duration } from '@temporalio/common';
import {
  COMPENSATION_DEFAULTS,
  STEP_DEFAULTS,
  checklistItemOf,
  checklistOf,
  commandSuffix,
  type ActivityCall,
  type SagaContext,
  type SagaControl,
  type SagaDefinition,
  type SagaStepDefinition,
  type SagaStop,
} from './definition';
import { Saga, renderSagaDetails, type SagaOptions, type SagaSnapshot, type StuckCompensation } from './saga';
import type { CompensationOutcome } from './compensations';

/** A decision to stop (customer cancel, rejection, timeout): not an error of the saga. */
export class SagaStopped extends Error {
  override readonly name = 'SagaStopped';
  constructor(readonly stop: SagaStop) {
    super(stop.reason);
  }
}

/** Reason recorded when a forward step's deadline passed (or an operator abandoned it). */
export const DEADLINE_EXCEEDED = 'step_deadline_exceeded';

export interface SagaRunOptions<I, S> {
  /** Called on every change, to update the workflow's status and current details. */
  onChange?: (run: SagaRun<I, S>) => void;
  /** Per-step deadline overrides for this run (e.g. from the workflow input). */
  deadlines?: Partial<Record<string, Duration>>;
  /** Keyword search attribute mirroring the saga phase. Default `SagaPhase`; `null` to skip. */
  phaseSearchAttribute?: SagaOptions['phaseSearchAttribute'];
  /** Run compensations concurrently instead of last-in-first-out. Default false. */
  parallelCompensation?: boolean;
}

export type SagaOutcome =
  { completed: true } | { completed: false; stop: SagaStop; compensations: CompensationOutcome[] };

/** What every saga's status query reports about its progress. */
export interface SagaProgress {
  /** The checklist item running now. */
  step: string | null;
  completedSteps: string[];
  compensations: { step: string; status: string }[];
  sagaPhase: SagaSnapshot['phase'];
  /** Compensations waiting for an operator (retryCompensation / markCompensationResolved). */
  stuck: StuckCompensation[];
  /** A forward step past its deadline, waiting for an operator (retryStep / abandonStep). */
  stuckStep: StuckCompensation | null;
}

/** The progress of a saga that has not run a step yet (a fresh object each time: statuses are mutated). */
export const notStarted = (): SagaProgress => ({
  step: null,
  completedSteps: [],
  compensations: [],
  sagaPhase: 'RUNNING',
  stuck: [],
  stuckStep: null,
});

export interface ChecklistLine {
  item: string;
  done: boolean;
  running: boolean;
}

/**
 * The step ran out of time: either its deadline passed during an attempt (a TimeoutFailure),
 * or the server gave up retrying because the next attempt would start after it (then the
 * cause is the last attempt's error, and the retry state says TIMEOUT).
 */
const isDeadline = (err: unknown): boolean =>
  err instanceof ActivityFailure && (err.cause instanceof TimeoutFailure || err.retryState === RetryState.TIMEOUT);

/** How a failure reads in `order.cancelled`-style events: the business reason and the step. */
export function describeStop(err: unknown, step: string | null): SagaStop {
  if (err instanceof SagaStopped) return err.stop;
  if (isCancellation(err)) return { reason: 'workflow_cancelled', failedStep: step, by: null };
  if (isDeadline(err)) return { reason: DEADLINE_EXCEEDED, failedStep: step, by: null };
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    return { reason: err.cause.type ?? err.cause.message, failedStep: step, by: null };
  }
  return { reason: (err as Error)?.message ?? 'unknown_error', failedStep: step, by: null };
}

/**
 * Runs a declared saga inside a workflow: each step's activity with its summary, retry
 * policy and deadline; compensations registered before each step; a requested stop honoured
 * at checklist boundaries; a deadline compensated or escalated as the step says; on any
 * stop, compensation (non-cancellable) and then the definition's stop activity. Command ids
 * are `<workflowId>/<kebab activity>`, stable across retries and replays.
 */
export class SagaRun<I, S> {
  readonly saga: Saga;
  readonly ctx: SagaContext<I, S>;
  private causationId: string;
  private snapshotCache: SagaSnapshot | null = null;
  private readonly activities = proxyActivities<Record<string, (input: unknown) => Promise<unknown>>>({
    startToCloseTimeout: STEP_DEFAULTS.startToCloseTimeout,
  });
  private readonly control: SagaControl = {
    stop: (reason, failedStep, by = null) => {
      throw new SagaStopped({ reason, failedStep, by });
    },
    stopIfRequested: (failedStep) => this.stopIfRequested(failedStep),
  };

  constructor(
    readonly definition: SagaDefinition<I, S, string>,
    input: I,
    state: S,
    private readonly options: SagaRunOptions<I, S> = {},
  ) {
    this.ctx = { input, state };
    this.causationId = definition.causationOf(input);
    this.saga = new Saga({
      phaseSearchAttribute: options.phaseSearchAttribute,
      parallelCompensation: options.parallelCompensation,
      onChange: (snapshot) => {
        this.snapshotCache = snapshot;
        this.options.onChange?.(this);
      },
    });
  }

  get snapshot(): SagaSnapshot {
    return this.snapshotCache ?? this.saga.snapshot;
  }

  /** The checklist item running now (a step's checklist name), if any. */
  get currentItem(): string | null {
    const current = this.snapshot.currentStep;
    if (!current) return null;
    const step = this.definition.steps.find((s) => s.name === current);
    return step ? checklistItemOf(step) : current;
  }

  checklist(): ChecklistLine[] {
    const { completedSteps } = this.snapshot;
    const running = this.currentItem;
    return checklistOf(this.definition as SagaDefinition<never, never>).map(({ item, steps }) => ({
      item,
      done: completedSteps.includes(steps.at(-1)!),
      running: running === item,
    }));
  }

  /** Markdown checklist for the UI; `stopped` marks where a stopped saga stopped. */
  renderChecklist(stopped: SagaStop | null): string {
    return this.checklist()
      .map(({ item, done, running }) => {
        const note = running ? ' (running)' : stopped?.failedStep === item ? ` — stopped: ${stopped.reason}` : '';
        return `- [${done ? 'x' : ' '}] ${item}${note}`;
      })
      .join('\n');
  }

  /** The compensation and escalation part of the current details (no step list). */
  renderDetails(): string {
    return renderSagaDetails(this.snapshot, { steps: false });
  }

  /** The saga's part of a workflow's status query. */
  progress(): SagaProgress {
    const snapshot = this.snapshot;
    return {
      step: this.currentItem,
      completedSteps: snapshot.completedSteps,
      compensations: snapshot.compensations.map((c) => ({ step: c.step, status: c.status })),
      sagaPhase: snapshot.phase,
      stuck: snapshot.stuck,
      stuckStep: snapshot.stuckStep,
    };
  }

  /**
   * Markdown for the Temporal UI's current details: the workflow's `header`, why it stopped,
   * the checklist, then compensations and escalations. Paragraphs are separated by blank
   * lines so the UI keeps them apart.
   */
  currentDetails(header: string, failure: { reason: string; failedStep: string | null } | null): string {
    const blocks = [
      header,
      failure ? `**Cancelled:** ${failure.reason} (step: ${failure.failedStep ?? 'none'})` : null,
      this.renderChecklist(failure ? { ...failure, by: null } : null),
      this.renderDetails(),
    ];
    return blocks.filter((b) => b !== null).join('\n\n');
  }

  /**
   * Runs the saga to its end. `onStopping` runs after a stop is decided and before the
   * compensations (to mark the saga as cancelling).
   */
  async execute(hooks: { onStopping?: (stop: SagaStop) => void } = {}): Promise<SagaOutcome> {
    try {
      let item: string | null = null;
      for (const step of this.definition.steps) {
        if (step.when && !step.when.test(this.ctx)) continue;
        const next = checklistItemOf(step);
        if (item !== null && next !== item) this.stopIfRequested(next);
        item = next;
        await step.before?.(this.ctx, this.control);
        const result = await this.saga.step(
          step.name,
          () => this.runForward(step),
          step.compensation ? () => this.runCompensation(step.compensation!) : undefined,
        );
        step.after?.(this.ctx, result);
      }
      this.saga.complete();
      return { completed: true };
    } catch (err) {
      const stop = describeStop(err, this.saga.snapshot.currentStep);
      hooks.onStopping?.(stop);
      // Even a cancelled workflow undoes what it did and says so.
      const compensations = await CancellationScope.nonCancellable(async () => {
        const outcomes = await this.saga.compensate();
        const manuallyResolved = outcomes.filter((o) => o.status === 'resolved-manually').map((o) => o.step);
        const { onStop } = this.definition;
        await this.call(
          { activity: onStop.activity, summary: '' },
          this.forwardOptions(undefined),
          onStop.summary(this.ctx, stop),
          onStop.input(this.ctx, { ...stop, manuallyResolved }),
        );
        return outcomes;
      });
      return { completed: false, stop, compensations };
    }
  }

  private stopIfRequested(failedStep: string): void {
    const requested = this.definition.stopRequested?.(this.ctx);
    if (requested) throw new SagaStopped({ reason: requested.reason, failedStep, by: requested.by });
  }

  private forwardOptions(step: SagaStepDefinition<I, S> | undefined): ActivityOptions {
    const defaults = { ...STEP_DEFAULTS, ...this.definition.defaults };
    const deadline = step ? (this.options.deadlines?.[step.name] ?? step.deadline ?? defaults.deadline) : undefined;
    return {
      startToCloseTimeout: defaults.startToCloseTimeout,
      retry: step?.retry ?? defaults.retry,
      ...(deadline !== undefined ? { scheduleToCloseTimeout: deadline } : {}),
    };
  }

  private async runForward(step: SagaStepDefinition<I, S>): Promise<unknown> {
    const onDeadline = step.onDeadline ?? this.definition.defaults?.onDeadline ?? STEP_DEFAULTS.onDeadline;
    // Past the pivot any activity failure waits for an operator; before it, only a passed
    // deadline of a step that says so.
    const escalates = (err: unknown) =>
      step.retriable
        ? err instanceof ActivityFailure && !isCancellation(err)
        : isDeadline(err) && onDeadline === 'escalate';
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.call(step, this.forwardOptions(step));
      } catch (err) {
        if (!escalates(err)) throw err;
        let decision = await this.saga.escalateStep(step.name, err, attempt);
        // Nothing to abandon to past the pivot (the API refuses it): only a retry moves on.
        while (decision === 'abandon' && step.retriable)
          decision = await this.saga.escalateStep(step.name, err, attempt);
        if (decision === 'abandon') throw err;
      }
    }
  }

  private runCompensation(call: ActivityCall<I, S>): Promise<void> {
    const defaults = { ...COMPENSATION_DEFAULTS, ...this.definition.compensationDefaults };
    return this.call(call, { startToCloseTimeout: defaults.startToCloseTimeout, retry: defaults.retry }).then(
      () => undefined,
    );
  }

  private async call(
    call: Pick<ActivityCall<I, S>, 'activity' | 'summary' | 'input'>,
    options: ActivityOptions,
    summary?: string,
    extra?: Record<string, unknown>,
  ): Promise<unknown> {
    const { workflowId } = workflowInfo();
    const input = {
      commandId: `${workflowId}/${commandSuffix(call.activity)}`,
      ...this.definition.commandFields(this.ctx.input),
      causationId: this.causationId,
      ...(extra ?? call.input?.(this.ctx)),
    };
    const text = summary ?? (typeof call.summary === 'function' ? call.summary(this.ctx) : call.summary);
    const result = await this.activities[call.activity]!.executeWithOptions({ ...options, summary: text }, [input]);
    // Causation chain: each command is caused by the last event the saga appended.
    const lastEventId = (result as { lastEventId?: string | null } | undefined)?.lastEventId;
    if (lastEventId) this.causationId = lastEventId;
    return result;
  }
}
