import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Fault } from './scenarios';

/**
 * The explorer's fault points: an activity interceptor installed only on the explorer's own
 * worker (never on a production worker), keyed by workflow id, so many scenarios run at
 * once on one worker and each activity of each run fails exactly as its scenario says.
 */
export class FaultPlan {
  private readonly faults = new Map<string, Map<string, Fault>>();
  private readonly gates = new Map<string, { open: () => void; opened: Promise<void>; reached: () => void }>();
  private readonly reached = new Set<string>();
  /** Activities whose report was lost once, by `<workflowId>/<activity>`. */
  readonly lostReports = new Set<string>();

  /** Plans the faults of one run. */
  plan(workflowId: string, faults: Record<string, Fault>): void {
    this.faults.set(workflowId, new Map(Object.entries(faults)));
    for (const [activity, fault] of Object.entries(faults)) {
      if (fault.kind !== 'gate') continue;
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      const key = `${workflowId}/${activity}`;
      this.gates.set(key, { open, opened, reached: () => this.reached.add(key) });
    }
  }

  /** The fault is repaired: the activity runs normally from its next attempt. */
  clear(workflowId: string, activity?: string): void {
    if (activity === undefined) this.faults.delete(workflowId);
    else this.faults.get(workflowId)?.delete(activity);
  }

  /** Whether the gated activity of this run is running (held at the gate). */
  gateReached(workflowId: string, activity: string): boolean {
    return this.reached.has(`${workflowId}/${activity}`);
  }

  openGate(workflowId: string, activity: string): void {
    this.gates.get(`${workflowId}/${activity}`)?.open();
  }

  faultOf(workflowId: string, activity: string): Fault | undefined {
    return this.faults.get(workflowId)?.get(activity);
  }

  /** The interceptor to install on the explorer's worker. */
  interceptor(): ActivityInterceptorsFactory {
    return (ctx) => ({
      inbound: {
        execute: async (input, next) => {
          const { activityType, attempt } = ctx.info;
          const workflowId = ctx.info.workflowExecution?.workflowId ?? '';
          const fault = this.faultOf(workflowId, activityType);
          switch (fault?.kind) {
            case undefined:
              return next(input);
            case 'business':
              throw ApplicationFailure.nonRetryable(`explored business failure of ${activityType}`, 'ExploredFailure');
            case 'transient':
              throw ApplicationFailure.retryable(`explored outage of ${activityType}`, 'ExploredOutage');
            case 'flaky':
              if (attempt <= fault.failures) {
                throw ApplicationFailure.retryable(`explored failure ${attempt} of ${activityType}`, 'ExploredOutage');
              }
              return next(input);
            case 'lost-report': {
              const result = await next(input);
              // The transaction committed; Temporal hears only of a failed attempt and retries.
              if (attempt === 1) {
                this.lostReports.add(`${workflowId}/${activityType}`);
                throw ApplicationFailure.retryable(`the report of ${activityType} was lost`, 'ExploredLostReport');
              }
              return result;
            }
            case 'gate': {
              const gate = this.gates.get(`${workflowId}/${activityType}`);
              gate?.reached();
              await gate?.opened;
              return next(input);
            }
          }
        },
      },
    });
  }
}
