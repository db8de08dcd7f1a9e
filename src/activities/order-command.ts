import { Context } from '@temporalio/activity';
import { fold, decide, type OrderCommand, type OrderEvent, type OrderState } from '../domain/order';
import { upcastToLatest, validateNewEvent } from '../events/catalog';
import { currentCorrelation } from '../correlation/context';
import { executeOnce } from '../store/commands';
import { appendToStream, readStream, type EventMetadata, type StoredEvent } from '../store/event-store';
import type { Pool, Tx } from '../store/pool';

/** Every order activity's input carries these. */
export interface OrderCommandInput {
  /** Deterministic per saga step (`<workflowId>/<step>`): retries and replays never double-apply. */
  commandId: string;
  orderId: string;
  /** What caused this command: the saga's previous event, or the request that started it. */
  causationId: string;
}

/** Every order activity's result says which event it appended last (null: none), for the causation chain. */
export interface Traced {
  lastEventId: string | null;
}

/** The activity ran without a correlation id (the interceptors put it there). */
export class MissingCorrelationError extends Error {
  override readonly name = 'MissingCorrelationError';
}

export const orderStreamId = (orderId: string) => `order-${orderId}`;

/** Stored events as the decider sees them: upcast to the newest schema version. */
const toOrderEvents = (stored: StoredEvent[]): OrderEvent[] =>
  stored.map(
    (e) => ({ type: e.eventType, data: upcastToLatest(e.eventType, e.schemaVersion, e.payload).payload }) as OrderEvent,
  );

export interface LoadedOrder {
  state: OrderState;
  version: number;
}

export async function loadOrder(db: Pool | Tx, orderId: string): Promise<LoadedOrder> {
  const stored = await readStream(db, orderStreamId(orderId));
  return { state: fold(toOrderEvents(stored)), version: stored.at(-1)?.streamVersion ?? 0 };
}

function activityMetadata(): Pick<EventMetadata, 'workflowId' | 'runId'> {
  try {
    const execution = Context.current().info.workflowExecution;
    return execution ? { workflowId: execution.workflowId, runId: execution.runId } : {};
  } catch {
    return {}; // called outside a worker (tests, scripts)
  }
}

export interface OrderCommandPlan<R> {
  command: OrderCommand;
  /** Domain-table changes, in the same transaction; `events` is what `decide` produced. */
  apply?: (tx: Tx, events: OrderEvent[], state: OrderState) => Promise<void>;
  /** What the activity returns (stored for retries). */
  result: (events: OrderEvent[], state: OrderState) => R;
}

/**
 * The shape of every order activity: in ONE transaction, dedupe on the command id, load
 * and fold the order stream, decide, apply domain changes, append the events at the
 * expected version. A retry after a crash between commit and completion returns the
 * stored result and writes nothing.
 */
export async function runOrderCommand<R>(
  pool: Pool,
  input: OrderCommandInput,
  plan: (state: OrderState, tx: Tx) => Promise<OrderCommandPlan<R>> | OrderCommandPlan<R>,
): Promise<R & Traced> {
  const correlationId = currentCorrelation()?.correlationId;
  if (!correlationId) {
    throw new MissingCorrelationError(
      `Command ${input.commandId} has no correlation id (run it through the worker's interceptors)`,
    );
  }
  const trace = { correlationId, causationId: input.causationId };
  return executeOnce(
    pool,
    input.commandId,
    async (tx) => {
      const { state, version } = await loadOrder(tx, input.orderId);
      const p = await plan(state, tx);
      const events = decide(p.command, state);
      await p.apply?.(tx, events, state);
      const appended = await appendToStream(
        tx,
        orderStreamId(input.orderId),
        version,
        events.map((e) => ({
          eventType: e.type,
          // Validated against the newest schema: an invalid event fails loudly and nothing is written.
          ...validateNewEvent(e.type, e.data),
          metadata: { correlationId, causationId: input.commandId, ...activityMetadata() },
        })),
      );
      return { ...p.result(events, state), lastEventId: appended.at(-1)?.eventId ?? null };
    },
    trace,
  );
}
