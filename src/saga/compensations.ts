/**
 * The pure core of compensation: ordering, parallelism and escalation, with no Temporal
 * imports, so it is unit-tested with fake steps. The workflow-side `Saga` supplies the
 * escalation (search attribute, current details, operator signal) and the non-cancellable scope.
 */

export interface Compensation {
  /** Name of the step this compensation undoes. */
  step: string;
  run: () => Promise<void>;
}

export type CompensationStatus = 'compensated' | 'resolved-manually';

export interface CompensationOutcome {
  step: string;
  status: CompensationStatus;
  /** Runs of `run`, including the one that finally succeeded. */
  attempts: number;
}

export interface EscalationRequest {
  step: string;
  error: unknown;
  /** Failed runs so far for this step. */
  attempt: number;
}

/** What the operator decided for a stuck compensation. */
export type EscalationDecision = 'retry' | 'resolved';

export interface RunCompensationsOptions {
  /** Run all compensations at once instead of last-in-first-out. Default false. */
  parallel?: boolean;
  /** Called when a compensation failed (after its own retries); resolves with what to do. */
  escalate: (request: EscalationRequest) => Promise<EscalationDecision>;
  /** Called after each compensation has finished, in completion order. */
  onOutcome?: (outcome: CompensationOutcome) => void;
}

async function runOne(compensation: Compensation, options: RunCompensationsOptions): Promise<CompensationOutcome> {
  for (let attempt = 1; ; attempt++) {
    let outcome: CompensationOutcome | undefined;
    try {
      await compensation.run();
      outcome = { step: compensation.step, status: 'compensated', attempts: attempt };
    } catch (error) {
      const decision = await options.escalate({ step: compensation.step, error, attempt });
      if (decision === 'resolved')
        outcome = { step: compensation.step, status: 'resolved-manually', attempts: attempt };
    }
    if (outcome) {
      options.onOutcome?.(outcome);
      return outcome;
    }
  }
}

/**
 * Runs compensations for registered steps (given in registration order): last-in-first-out
 * by default, or all at once. A failing compensation is never skipped silently: it is
 * escalated and retried until it succeeds or someone marks it resolved.
 */
export async function runCompensations(
  compensations: readonly Compensation[],
  options: RunCompensationsOptions,
): Promise<CompensationOutcome[]> {
  if (options.parallel) return Promise.all(compensations.map((c) => runOne(c, options)));
  const outcomes: CompensationOutcome[] = [];
  for (const compensation of [...compensations].reverse()) outcomes.push(await runOne(compensation, options));
  return outcomes;
}
