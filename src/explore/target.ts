import { WorkflowUpdateStage, type Client, type WorkflowHandle } from '@temporalio/client';
import type { ConsumerDefinition } from '../delivery/consumer';
import type { SagaDefinition } from '../saga/definition';
import type { Pool } from '../store/pool';
import { pause } from '../util/pause';

/** What a target works with: the database, a Temporal client and the explorer's task queue. */
export interface TargetContext {
  pool: Pool;
  client: Client;
  taskQueue: string;
}

/** One started run of a scenario. */
export interface Run {
  workflowId: string;
  handle: WorkflowHandle;
  /**
   * The API resource the operator routes act on (`orders/<id>`, `returns/<id>`). Absent (a
   * saga the API does not serve): escalations are answered with the saga runtime's signals.
   */
  resource?: string;
  /** Every stream this run writes (its aggregate's, and any it prepared, e.g. the order of a return). */
  streams: string[];
  /** The orders this run touches (their read-model rows are checked against a rebuild). */
  orderIds: string[];
}

/** One invariant's verdict for one run. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * How the explorer runs one saga: its table (the scenarios come from it alone), how to start
 * a run, how to move it past its waits (an approval, goods to arrive), how to ask it to
 * cancel, and which event types end it. Users describe their own sagas the same way.
 */
export interface ExploreTarget {
  saga: SagaDefinition<never, never>;
  /** The event types of which each run's own stream ends with exactly one. */
  terminalEvents: readonly string[];
  /**
   * Starts one run with these per-step deadlines; `beforeStart` gets the saga's workflow id
   * before its workflow starts (the faults are planned for it then, and only for it).
   */
  start(ctx: TargetContext, deadlines: Record<string, string>, beforeStart: (workflowId: string) => void): Promise<Run>;
  /** Called every poll while the run is not finished: answers what the saga waits for. */
  drive?(ctx: TargetContext, run: Run): Promise<void>;
  /** Sends the saga's stop request (resolves once accepted; a refusal is an outcome, not an error). */
  cancel?(ctx: TargetContext, run: Run): Promise<'accepted' | 'refused'>;
  /** Invariants of the adapters' books for one finished run (no payment doubled, stock). */
  checks?(ctx: TargetContext, run: Run): Promise<Check[]>;
  /**
   * The worker the runs need: the saga's workflows and activities. Default: the project's
   * (orderSaga and returnSaga on the simulated adapters).
   */
  worker?: { workflowsPath: string; activities: object };
  /** Consumers each run's events are delivered to, twice. Default: the project's. */
  consumers?: readonly ConsumerDefinition[];
}

/** Starts an update and waits only until the workflow accepted it (its handler may wait for the end). */
export async function acceptedUpdate(
  handle: WorkflowHandle,
  update: string,
  arg: Record<string, unknown>,
): Promise<'accepted' | 'refused'> {
  try {
    const started = await handle.startUpdate(update, { args: [arg], waitForStage: WorkflowUpdateStage.ACCEPTED });
    // A validator's refusal comes back with the start (its result fails at once); an accepted
    // update may run until the saga ends, so its result is not awaited.
    return await Promise.race([
      started.result().then(
        () => 'accepted' as const,
        () => 'refused' as const,
      ),
      pause(300).then(() => 'accepted' as const),
    ]);
  } catch {
    return 'refused';
  }
}
