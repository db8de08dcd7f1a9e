import type { Duration, RetryPolicy } from '@temporalio/common';

/**
 * A saga declared once as a table of steps. The same table drives the workflow (`SagaRun`),
 * the UI checklist and current details, the generated flow docs (`saga catalog`) and the
 * replay tests. Pure data and pure functions: no Temporal workflow imports, so Node-side
 * tooling reads it too.
 */

/** What happens when a forward step's deadline passes. */
export type DeadlineAction =
  /** Undo every completed step and stop the saga (the default). */
  | 'compensate'
  /**
   * Park the saga (SagaPhase `STEP_STUCK`, current details) until an operator signals
   * `retryStep` (run it again, with a fresh deadline) or `abandonStep` (compensate). For
   * steps after which undoing is worse than waiting, e.g. once money was captured.
   */
  | 'escalate';

/** What step functions see: the saga's input and its own mutable state. */
export interface SagaContext<I, S> {
  readonly input: I;
  readonly state: S;
}

/**
 * The activities a saga calls: their names only (`'holdRoom' | 'chargeCard'`: inputs and
 * results unchecked), or their types (`BookingActivities`, the object the worker registers):
 * then each step's `input` must give what its activity takes besides the command fields, and
 * `after` receives what it returns.
 */
export type SagaActivities = string | object;

/** The activity names of a saga's activities. */
export type ActivityName<A> = A extends string ? A : Extract<keyof A, string>;

/** What the runtime passes every activity by itself: the command id, the causation, the command fields. */
type Supplied<C> = 'commandId' | 'causationId' | keyof C;

/** What a step's `input` must give its activity `K` (everything unchecked when only names are known). */
export type StepInput<A, K, C> = A extends string
  ? Record<string, unknown>
  : K extends keyof A
    ? A[K] extends (input: infer P) => unknown
      ? Omit<P, Supplied<C>>
      : never
    : never;

/** What activity `K` returns (unknown when only names are known). */
export type StepResult<A, K> = A extends string
  ? unknown
  : K extends keyof A
    ? A[K] extends (...args: never[]) => infer R
      ? Awaited<R>
      : unknown
    : unknown;

/** `input` may be left out only where the activity needs nothing beyond the command fields. */
type InputOf<I, S, X> =
  Record<never, never> extends X ? { input?(ctx: SagaContext<I, S>): X } : { input(ctx: SagaContext<I, S>): X };

/**
 * One activity call of a step. Its command id is `<workflowId>/<kebab-case activity>`; it
 * receives the command fields (`commandId`, `causationId`, the saga's `commandFields`) and
 * what `input` returns.
 */
export type ActivityCall<I, S, A extends SagaActivities = string, C = Record<string, unknown>> = {
  [K in ActivityName<A>]: CallOf<I, S, A, C, K>;
}[ActivityName<A>];

/** The call of activity `K`. */
type CallOf<I, S, A extends SagaActivities, C, K> = {
  /** The activity's registered name. */
  activity: K;
  /** One line shown for the call in the Temporal UI's event history. */
  summary: string | ((ctx: SagaContext<I, S>) => string);
} & InputOf<I, S, StepInput<A, K, C>>;

/** A step's options besides its activity call. */
export interface SagaStepOptions<I, S, A extends SagaActivities, C> {
  /** The step's name: the saga's completed-steps list and the failed step of a stopped saga. */
  name: string;
  /** The UI checklist item; consecutive steps sharing one show as one. Default: `name`. */
  checklist?: string;
  /** Runs only when `test` holds; `describe` says when, for the docs. */
  when?: { describe: string; test: (ctx: SagaContext<I, S>) => boolean };
  /** Undoes the step; registered before the step runs (a step that timed out may still have happened). */
  compensation?: ActivityCall<I, S, A, C>;
  /** Retry policy for transient failures. Default: the saga's `defaults.retry`. */
  retry?: RetryPolicy;
  /** Schedule-to-close deadline over all attempts. Default: the saga's `defaults.deadline`. */
  deadline?: Duration;
  /** What happens when the deadline passes. Default: the saga's `defaults.onDeadline`. */
  onDeadline?: DeadlineAction;
  /**
   * The step comes after the saga's point of no return (its pivot: e.g. the goods of a return
   * are back), so it must eventually succeed rather than be undone: any failure, a business
   * error as well as a passed deadline, parks the saga (`STEP_STUCK`) for an operator, who can
   * only retry it once the cause is fixed; abandoning it is refused. Such a step has no
   * compensation, and every step after it is retriable too. Default false.
   */
  retriable?: boolean;
  /** Waits before the step runs (e.g. for an operator's decision); may stop the saga. */
  before?: (ctx: SagaContext<I, S>, control: SagaControl) => Promise<void>;
}

/** One forward step: its activity call (typed by the activity), its options, and `after` typed by its result. */
export type SagaStepDefinition<I, S, A extends SagaActivities = string, C = Record<string, unknown>> = {
  [K in ActivityName<A>]: CallOf<I, S, A, C, K> &
    SagaStepOptions<I, S, A, C> & {
      /** Folds the activity's result into the saga's state. */
      after?(ctx: SagaContext<I, S>, result: StepResult<A, K>): void;
    };
}[ActivityName<A>];

/** Why a saga stopped: its reason, the step it stopped at, who stopped it (null: the saga itself). */
export interface SagaStop {
  reason: string;
  failedStep: string | null;
  by: string | null;
}

/** What `before` hooks may do besides waiting. */
export interface SagaControl {
  /** Stops the saga: completed steps are compensated and the stop activity runs. */
  stop(reason: string, failedStep: string | null, by?: string | null): never;
  /** Stops the saga when `stopRequested` says so (a customer cancel), at `failedStep`. */
  stopIfRequested(failedStep: string): void;
}

export interface StepDefaults {
  /** Per attempt. Default 10 s. */
  startToCloseTimeout: Duration;
  /** Default: 200 ms doubling to 5 s, unlimited attempts (bounded by the deadline). */
  retry: RetryPolicy;
  /** Default 5 minutes. */
  deadline: Duration;
  /** Default `compensate`. */
  onDeadline: DeadlineAction;
}

export interface CompensationDefaults {
  /** Per attempt. Default 10 s. */
  startToCloseTimeout: Duration;
  /** Default: 200 ms doubling to 2 s, 5 attempts; then the saga escalates to an operator. */
  retry: RetryPolicy;
}

/**
 * A saga table. `A`: its activities, by name or (checked) by type; `C`: the fields every
 * command carries besides `commandId` and `causationId` (what `commandFields` returns).
 */
export interface SagaDefinition<I, S, A extends SagaActivities = string, C = Record<string, unknown>> {
  /** The workflow type that runs this saga. */
  name: string;
  /** One line for the docs. */
  description: string;
  /** Fields every command carries besides `commandId` and `causationId` (e.g. `{ orderId }`). */
  commandFields: (input: I) => C;
  /** The first command's causation id (usually the request's correlation id). */
  causationOf: (input: I) => string;
  /** The forward steps, in order. */
  steps: readonly SagaStepDefinition<I, S, A, C>[];
  /** Runs after the compensations of a stopped saga, recording the outcome. */
  onStop: {
    [K in ActivityName<A>]: {
      activity: K;
      summary: (ctx: SagaContext<I, S>, stop: SagaStop) => string;
      input(ctx: SagaContext<I, S>, stop: SagaStop & { manuallyResolved: string[] }): StepInput<A, K, C>;
      /** When it runs, for the docs. */
      describe: string;
    };
  }[ActivityName<A>];
  /** A stop someone asked for (e.g. a customer cancel), honoured at checklist boundaries. */
  stopRequested?: (ctx: SagaContext<I, S>) => { reason: string; by: string | null } | null;
  /** Overrides of the step and compensation defaults. */
  defaults?: Partial<StepDefaults>;
  compensationDefaults?: Partial<CompensationDefaults>;
}

export const STEP_DEFAULTS: StepDefaults = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds' },
  deadline: '5 minutes',
  onDeadline: 'compensate',
};

export const COMPENSATION_DEFAULTS: CompensationDefaults = {
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '200 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '2 seconds',
    maximumAttempts: 5,
  },
};

export class SagaDefinitionError extends Error {
  override readonly name = 'SagaDefinitionError';
}

/** Checks a saga table once, where it is declared: unique step names and activities, at least one step. */
export function defineSaga<I, S, const A extends SagaActivities = string, C = Record<string, unknown>>(
  definition: SagaDefinition<I, S, A, C>,
): SagaDefinition<I, S, A, C> {
  if (definition.steps.length === 0) throw new SagaDefinitionError(`Saga ${definition.name} has no steps`);
  const seen = new Set<string>();
  for (const step of definition.steps) {
    if (seen.has(step.name)) throw new SagaDefinitionError(`Saga ${definition.name} has two steps named ${step.name}`);
    seen.add(step.name);
  }
  const activities = [
    ...definition.steps.flatMap((s) => [s.activity, ...(s.compensation ? [s.compensation.activity] : [])]),
    definition.onStop.activity,
  ];
  const pivot = definition.steps.findIndex((s) => s.retriable);
  if (pivot >= 0) {
    const wrong = definition.steps.slice(pivot).find((s) => !s.retriable || s.compensation);
    if (wrong) {
      throw new SagaDefinitionError(
        `Saga ${definition.name}: step ${wrong.name} comes after a retriable step, so it must be retriable and have no compensation`,
      );
    }
  }
  const twice = activities.find((a, i) => activities.indexOf(a) !== i);
  // The command id derives from the activity name: one activity per saga run, or ids collide.
  if (twice) throw new SagaDefinitionError(`Saga ${definition.name} calls activity ${twice} twice`);
  return definition;
}

/** `reserveInventory` → `reserve-inventory`: the command id's last segment. */
export const commandSuffix = (activity: string): string => activity.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export const checklistItemOf = (step: Pick<SagaStepDefinition<never, never>, 'name' | 'checklist'>): string =>
  step.checklist ?? step.name;

export interface ChecklistItem {
  item: string;
  /** The steps behind the item, in order; it is done when the last one is. */
  steps: string[];
  /** Set when some step of the item runs only under a condition. */
  condition?: string;
}

/** The UI checklist: one item per run of consecutive steps sharing a checklist name. */
export function checklistOf(definition: Pick<SagaDefinition<never, never>, 'steps'>): ChecklistItem[] {
  const items: ChecklistItem[] = [];
  for (const step of definition.steps) {
    const name = checklistItemOf(step);
    const last = items.at(-1);
    if (last?.item === name) last.steps.push(step.name);
    else items.push({ item: name, steps: [step.name] });
    if (step.when) items.at(-1)!.condition ??= step.when.describe;
  }
  return items;
}

/** The saga's flow for docs: each checklist item with its activities, undo and condition. */
export interface FlowStep {
  step: string;
  activities: string[];
  undo?: string;
  condition?: string;
}

export function flowOf(definition: SagaDefinition<never, never>): FlowStep[] {
  return checklistOf(definition).map(({ item, steps, condition }) => {
    const defs = steps.map((name) => definition.steps.find((s) => s.name === name)!);
    const undo = defs.find((d) => d.compensation)?.compensation?.activity;
    return {
      step: item,
      activities: defs.map((d) => d.activity),
      ...(undo ? { undo } : {}),
      ...(condition ? { condition } : {}),
    };
  });
}
