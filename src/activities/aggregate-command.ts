import { Context } from '@temporalio/activity';
import { currentTraceparent } from '../telemetry/tracing';
import type { Decider, DomainEvent } from '../domain/decider';
import { upcastToLatest, validateNewEvent } from '../events/catalog';
import { currentCorrelation } from '../correlation/context';
import { randomUUID } from 'node:crypto';
import { executeOnceOnStream, findProcessedCommandWithStream } from '../store/commands';
import { readStream, type EventMetadata, type StoredEvent } from '../store/event-store';
import type { Pool, Tx } from '../store/pool';

/**
 * The shape every activity of every event-sourced aggregate shares (Order, Return): in ONE
 * transaction, dedupe on the command id, load and fold the aggregate's stream, decide, apply
 * domain-table changes, append the events at the expected version.
 */

/** What every command of a saga step carries besides the aggregate's id. */
export interface CommandTrace {
  /** Deterministic per saga step (`<workflowId>/<step>`): retries and replays never double-apply. */
  commandId: string;
  /** What caused this command: the saga's previous event, or the request that started it. */
  causationId: string;
}

/** Every activity's result says which event it appended last (null: none), for the causation chain. */
export interface Traced {
  lastEventId: string | null;
}

/** The activity ran without a correlation id (the interceptors put it there). */
export class MissingCorrelationError extends Error {
  override readonly name = 'MissingCorrelationError';
}

export const streamIdOf = (decider: { aggregateType: string }, id: string) => `${decider.aggregateType}-${id}`;

/** Stored events as a decider sees them: upcast to the newest schema version. */
const toDomainEvents = <E extends DomainEvent>(stored: StoredEvent[]): E[] =>
  stored.map(
    (e) => ({ type: e.eventType, data: upcastToLatest(e.eventType, e.schemaVersion, e.payload).payload }) as E,
  );

export interface Loaded<S> {
  state: S;
  /** The stream's version the state reflects (0: no events). */
  version: number;
}

/** The aggregate's state: its stored events, upcast and folded. */
const fold = <S, E extends DomainEvent, C>(decider: Decider<S, E, C>, stored: StoredEvent[]): Loaded<S> => ({
  state: toDomainEvents<E>(stored).reduce(decider.evolve, decider.initialState()),
  version: stored.at(-1)?.streamVersion ?? 0,
});

/** Folds the aggregate's stream (in `db`'s snapshot: a transaction or the pool). */
export async function loadAggregate<S, E extends DomainEvent, C>(
  db: Pool | Tx,
  decider: Decider<S, E, C>,
  id: string,
): Promise<Loaded<S>> {
  return fold(decider, await readStream(db, streamIdOf(decider, id)));
}

/** The activity's span, so the relay and consumers continue its trace (none while tracing is off). */
function traceMetadata(): Pick<EventMetadata, 'traceparent'> {
  const traceparent = currentTraceparent();
  return traceparent ? { traceparent } : {};
}

function activityMetadata(): Pick<EventMetadata, 'workflowId' | 'runId'> {
  try {
    const execution = Context.current().info.workflowExecution;
    return execution ? { workflowId: execution.workflowId, runId: execution.runId } : {};
  } catch {
    return {}; // called outside a worker (tests, scripts)
  }
}

export interface CommandPlan<S, E, C, R> {
  command: C;
  /** Domain-table changes, in the same transaction; `events` is what `decide` produced. */
  apply?: (tx: Tx, events: E[], state: S) => Promise<void>;
  /** What the activity returns (stored for retries). */
  result: (events: E[], state: S) => R;
}

/**
 * Runs one command against one aggregate in ONE transaction. A retry after a crash between
 * commit and completion returns the stored result and writes nothing; a concurrent duplicate
 * waits for the first and then does the same.
 */
export async function runCommand<S, E extends DomainEvent, C, R>(
  pool: Pool,
  decider: Decider<S, E, C>,
  aggregateId: string,
  input: CommandTrace,
  plan: (state: S, tx: Tx) => Promise<CommandPlan<S, E, C, R>> | CommandPlan<S, E, C, R>,
): Promise<R & Traced> {
  const correlationId = currentCorrelation()?.correlationId;
  if (!correlationId) {
    throw new MissingCorrelationError(
      `Command ${input.commandId} has no correlation id (run it through the worker's interceptors)`,
    );
  }
  const trace = { correlationId, causationId: input.causationId };
  // Claim + stream read, then the plan's own statements, then append + stored result: the
  // store merges what it can into one statement each (`executeOnceOnStream`).
  return executeOnceOnStream(
    pool,
    input.commandId,
    streamIdOf(decider, aggregateId),
    async (tx, stored) => {
      const { state } = fold(decider, stored);
      const p = await plan(state, tx);
      const events = decider.decide(p.command, state);
      await p.apply?.(tx, events, state);
      const toAppend = events.map((e) => ({
        // Chosen here: the result names the last one, and is stored by the append itself.
        eventId: randomUUID(),
        eventType: e.type,
        // Validated against the newest schema: an invalid event fails loudly and nothing is written.
        ...validateNewEvent(e.type, e.data),
        metadata: { correlationId, causationId: input.commandId, ...activityMetadata(), ...traceMetadata() },
      }));
      return {
        result: { ...p.result(events, state), lastEventId: toAppend.at(-1)?.eventId ?? null },
        events: toAppend,
      };
    },
    trace,
  );
}

/**
 * Before calling an external service: the stored result when the command already ran (then
 * nothing is called again), else the aggregate's current state after `check` (which throws
 * when the state does not allow the command, so nothing is called either). The call itself is
 * idempotent (keyed by the command id, or harmless to repeat), so a crash before the commit
 * repeats it harmlessly and the retry records it.
 */
export async function beforeExternalCall<S, E extends DomainEvent, C, R>(
  pool: Pool,
  decider: Decider<S, E, C>,
  aggregateId: string,
  commandId: string,
  check: (state: S) => void,
): Promise<{ done: R | undefined; state: S }> {
  const { done, stored } = await findProcessedCommandWithStream<R>(pool, commandId, streamIdOf(decider, aggregateId));
  const { state } = fold(decider, stored);
  if (done === undefined) check(state);
  return { done, state };
}
