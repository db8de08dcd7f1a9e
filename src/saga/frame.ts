import {
  allHandlersFinished,
  condition,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type {
  defineSearchAttributeKey,
  Duration,
  QueryDefinition,
  SearchAttributePair,
  SearchAttributeType,
  UpdateDefinition,
} from '@temporalio/common';
import type { SagaDefinition } from './definition';
import { SagaRun, type SagaOutcome, type SagaProgress } from './runtime';

/** What every framed saga's status query reports: its progress, its own status, a cancel asked for, why it stopped. */
export interface FramedStatus<N extends string> extends SagaProgress {
  status: N;
  /** A cancel was accepted and takes effect at the next step boundary. */
  cancelRequested: boolean;
  failure: { reason: string; failedStep: string | null } | null;
}

/** A stop someone asked for (a customer cancel), as the saga's state holds it. */
export interface StopRequest {
  reason: string;
  by: string | null;
}

export interface SagaFrameOptions<N extends string> {
  /** The keyword search attribute that shows the status (e.g. `OrderStatus`). */
  statusAttribute: ReturnType<typeof defineSearchAttributeKey<typeof SearchAttributeType.KEYWORD>>;
  /** The first line of the Temporal UI's current details. */
  header: () => string;
  /** The status while compensating, once completed, once stopped. */
  names: { stopping: N; completed: N; stopped: N };
}

/**
 * What a saga workflow does around its table, the same for every saga: the status it reports
 * (status query, status search attribute, current details kept in step with the run), the
 * customer cancel update, and the finish (final status, handlers drained). A workflow builds
 * its status and state, calls `start`, registers its own handlers beside the frame's, and
 * returns what `execute` tells it.
 */
export class SagaFrame<
  I,
  S extends { cancelRequest: StopRequest | null },
  N extends string,
  St extends FramedStatus<N>,
> {
  private run: SagaRun<I, S> | undefined;

  constructor(
    readonly status: St,
    private readonly options: SagaFrameOptions<N>,
  ) {}

  /** Shows the status everywhere: the search attribute, the status query, the current details. */
  setStatus(next: N): void {
    this.status.status = next;
    upsertSearchAttributes([{ key: this.options.statusAttribute, value: next }]);
    this.render();
  }

  /** Renders the current details again (after a change to the status's own fields). */
  render(): void {
    // (nothing to show while the run is being constructed; it reports again right after)
    if (this.run) setCurrentDetails(this.run.currentDetails(this.options.header(), this.status.failure));
  }

  /** Builds the run over the table, then sets the search attributes and the first status. */
  start(
    definition: SagaDefinition<I, S, string>,
    input: I,
    state: S,
    start: { deadlines?: Record<string, Duration> | undefined; attributes: SearchAttributePair[]; status: N },
  ): void {
    this.run = new SagaRun(definition, input, state, {
      deadlines: start.deadlines,
      onChange: (r) => {
        Object.assign(this.status, r.progress());
        this.render();
      },
    });
    upsertSearchAttributes(start.attributes);
    this.setStatus(start.status);
  }

  /** The status query. */
  handleStatusQuery(query: QueryDefinition<St>, description: string): void {
    setHandler(query, () => this.status, { description });
  }

  /**
   * The cancel update: records the request in the state (the first one wins), answers once the
   * saga has ended either way (never leaving the update waiting forever); `refusal` says why a
   * cancel is refused now, if it is.
   */
  handleCancel<R>(
    update: UpdateDefinition<St, [R]>,
    cancel: {
      state: S;
      requestOf: (request: R) => StopRequest;
      refusal: () => string | undefined;
      description: string;
    },
  ): void {
    const { completed, stopped } = this.options.names;
    setHandler(
      update,
      async (request: R) => {
        cancel.state.cancelRequest ??= cancel.requestOf(request);
        this.status.cancelRequested = true;
        await condition(() => this.status.status === stopped || this.status.status === completed);
        return this.status;
      },
      {
        description: cancel.description,
        validator: (_request: R) => {
          const refused = cancel.refusal();
          if (refused) throw new Error(refused);
        },
      },
    );
  }

  /** Runs the table to its end, shows the final status and waits for the handlers to finish. */
  async execute(): Promise<SagaOutcome> {
    const { stopping, completed, stopped } = this.options.names;
    const outcome = await this.run!.execute({
      onStopping: (stop) => {
        this.status.failure = { reason: stop.reason, failedStep: stop.failedStep };
        this.setStatus(stopping);
      },
    });
    this.setStatus(outcome.completed ? completed : stopped);
    await condition(allHandlersFinished);
    return outcome;
  }
}
