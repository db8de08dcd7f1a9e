import { defineConsumer, type ConsumedEvent } from '../delivery/consumer';
import { evolve, initialState, ORDER_CANCELLED_EVENTS, type OrderEvent, type OrderState } from '../domain/order';
import {
  evolve as evolveReturn,
  initialState as initialReturnState,
  type ReturnEvent,
  type ReturnState,
} from '../domain/return';
import { EVENT_DEFINITIONS, eventDefinition } from '../events/catalog';
import type { Tx } from '../store/pool';

/**
 * The order-summary projection: one row per order, folded with the Order aggregate's own
 * `evolve` (one definition of what each event means), plus a timeline and how fresh it is.
 * The order's latest return is folded in too, with the Return aggregate's own `evolve`: its
 * events carry the order id. Applying is idempotent per stream version (the order's stream,
 * and the return's), so a rebuild and the live projector may both see an event without harm.
 */

export interface TimelineEntry {
  type: string;
  version: number;
  at: string;
  /** Set on a return's events: `version` is then the version in that return's stream. */
  returnId?: string;
}

/** The order's latest return, as the summary keeps it. */
export interface SummaryReturn {
  /** The Return aggregate's fold of the events applied. */
  state: ReturnState;
  /** The version of `return-<returnId>` applied last. */
  version: number;
  /** Log position of its `return.opened`: a later return of the same order has a higher one. */
  openedPosition: number;
}

export type SummaryPhase = 'RUNNING' | 'COMPENSATING' | 'COMPENSATED' | 'COMPLETED';
export const SUMMARY_PHASES = [
  'RUNNING',
  'COMPENSATING',
  'COMPENSATED',
  'COMPLETED',
] as const satisfies readonly SummaryPhase[];

export interface OrderSummary {
  orderId: string;
  customerId: string;
  status: OrderState['status'];
  sagaPhase: SummaryPhase;
  state: OrderState;
  timeline: TimelineEntry[];
  lastEventId: string;
  lastStreamVersion: number;
  lastPosition: number;
  lastEventAt: string;
  createdAt: string;
  /** The order's latest return (a new one replaces a cancelled one), or null. */
  latestReturn: SummaryReturn | null;
}

/** The saga's phase as its events tell it. */
function phaseAfter(phase: SummaryPhase, eventType: string): SummaryPhase {
  if (eventType === 'order.confirmed') return 'COMPLETED';
  // Cancelled, or never placed: either way the saga's failure path is over.
  if ((ORDER_CANCELLED_EVENTS as readonly string[]).includes(eventType)) return 'COMPENSATED';
  return eventDefinition(eventType).compensation ? 'COMPENSATING' : phase;
}

/** Return event types: applied to the summary of the order they name. */
const RETURN_TYPES: ReadonlySet<string> = new Set(
  EVENT_DEFINITIONS.filter((d) => d.aggregateType === 'return').map((d) => d.type),
);

/**
 * Return events that never change an order's summary: `return.not_opened` ends a return that
 * was never opened, so it is never the order's latest return (that one began with
 * `return.opened`), and the order's active return stays as it was.
 */
const RETURN_TYPES_NEVER_SHOWN: ReadonlySet<string> = new Set(['return.not_opened']);

/**
 * Folds a return's event into the summary of its order (pure). Events already applied, and
 * events of an earlier return of the order or of a return that is not the summary's current
 * one (other than its `return.opened`), change nothing (the same summary is returned).
 */
function applyReturnEvent(summary: OrderSummary, event: ConsumedEvent): OrderSummary {
  const returnId = event.payload.returnId as string;
  const domainEvent = { type: event.eventType, data: event.payload } as ReturnEvent;
  const current = summary.latestReturn;
  let next: SummaryReturn;
  if (current && current.state.returnId === returnId) {
    if (event.version <= current.version) return summary;
    next = { ...current, state: evolveReturn(current.state, domainEvent), version: event.version };
  } else if (event.eventType === 'return.opened' && (!current || event.globalPosition > current.openedPosition)) {
    next = {
      state: evolveReturn(initialReturnState(), domainEvent),
      version: event.version,
      openedPosition: event.globalPosition,
    };
  } else {
    return summary;
  }
  return {
    ...summary,
    latestReturn: next,
    timeline: [...summary.timeline, { type: event.eventType, version: event.version, at: event.occurredAt, returnId }],
    lastEventId: event.eventId,
    lastPosition: event.globalPosition,
    lastEventAt: event.occurredAt,
  };
}

/** Folds one event into a summary (pure). Events at or below the summary's version change nothing. */
export function applyToSummary(summary: OrderSummary | undefined, event: ConsumedEvent): OrderSummary | undefined {
  if (RETURN_TYPES.has(event.eventType)) return summary && applyReturnEvent(summary, event);
  if (summary && event.version <= summary.lastStreamVersion) return summary;
  const state = evolve(summary?.state ?? initialState(), { type: event.eventType, data: event.payload } as OrderEvent);
  // Nothing before the order's first event (order.created, or order.placement_failed).
  if (!state.orderId || !state.customerId) return undefined;
  return {
    orderId: state.orderId,
    customerId: state.customerId,
    status: state.status,
    sagaPhase: phaseAfter(summary?.sagaPhase ?? 'RUNNING', event.eventType),
    state,
    timeline: [...(summary?.timeline ?? []), { type: event.eventType, version: event.version, at: event.occurredAt }],
    lastEventId: event.eventId,
    lastStreamVersion: event.version,
    lastPosition: event.globalPosition,
    lastEventAt: event.occurredAt,
    createdAt: summary?.createdAt ?? event.occurredAt,
    latestReturn: summary?.latestReturn ?? null,
  };
}

/** Every column of a summary table, in `SummaryRow` order. */
export const SUMMARY_COLUMNS = `order_id, customer_id, status, saga_phase, state, timeline, last_event_id, last_stream_version,
  last_position, last_event_at, created_at, return_id, return_status, return_state, return_stream_version,
  return_opened_position`;

/** SQL of one summary table (the live one, or a rebuild's). */
export function summarySql(table: string) {
  return {
    load: `SELECT ${SUMMARY_COLUMNS} FROM ${table} WHERE order_id = $1 FOR UPDATE`,
    // Written only forward: the order's stream, then its returns (in the order they were opened)
    // and each return's stream. Order events all precede return events: a return needs a
    // confirmed order, and a confirmed order appends nothing more.
    upsert: `INSERT INTO ${table} (order_id, customer_id, status, saga_phase, state, timeline, last_event_id,
        last_stream_version, last_position, last_event_at, created_at, return_id, return_status, return_state,
        return_stream_version, return_opened_position, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, now())
      ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, saga_phase = excluded.saga_phase,
        state = excluded.state,
        timeline = excluded.timeline, last_event_id = excluded.last_event_id,
        last_stream_version = excluded.last_stream_version, last_position = excluded.last_position,
        last_event_at = excluded.last_event_at, return_id = excluded.return_id,
        return_status = excluded.return_status, return_state = excluded.return_state,
        return_stream_version = excluded.return_stream_version,
        return_opened_position = excluded.return_opened_position, updated_at = now()
      WHERE (${table}.last_stream_version, ${table}.return_opened_position, ${table}.return_stream_version)
        < (excluded.last_stream_version, excluded.return_opened_position, excluded.return_stream_version)
      ${
        // The live table announces each change at commit (LISTEN/NOTIFY), for the console's live
        // list: one writer (a single partition), so the commit-serialising cost of NOTIFY is small.
        table === ORDER_SUMMARY_TABLE ? `RETURNING pg_notify('${ORDER_SUMMARY_CHANNEL}', order_id::text)` : ''
      }`,
  };
}

export interface SummaryRow {
  order_id: string;
  customer_id: string;
  status: OrderState['status'];
  saga_phase: SummaryPhase;
  state: OrderState;
  timeline: TimelineEntry[];
  last_event_id: string;
  last_stream_version: number;
  last_position: number;
  last_event_at: Date;
  created_at: Date;
  return_id: string | null;
  return_status: string | null;
  return_state: ReturnState | null;
  return_stream_version: number;
  return_opened_position: number;
}

export const toSummary = (r: SummaryRow): OrderSummary => ({
  orderId: r.order_id,
  customerId: r.customer_id,
  status: r.status,
  sagaPhase: r.saga_phase,
  state: r.state,
  timeline: r.timeline,
  lastEventId: r.last_event_id,
  lastStreamVersion: r.last_stream_version,
  lastPosition: r.last_position,
  lastEventAt: r.last_event_at.toISOString(),
  createdAt: r.created_at.toISOString(),
  latestReturn: r.return_state
    ? { state: r.return_state, version: r.return_stream_version, openedPosition: r.return_opened_position }
    : null,
});

/** A return's event reached the projector before its order's summary exists (retried, then dead-lettered). */
export class OrderSummaryMissingError extends Error {
  override readonly name = 'OrderSummaryMissingError';
}

/** Applies one event to the summary table `table` inside `tx`. */
export async function projectInto(tx: Tx, table: string, event: ConsumedEvent): Promise<void> {
  const orderId = event.payload.orderId as string;
  const sql = summarySql(table);
  const { rows } = await tx.query<SummaryRow>(sql.load, [orderId]);
  const current = rows[0] ? toSummary(rows[0]) : undefined;
  // A return never opened changes no summary, so it needs none: the order may not even exist.
  if (!current && RETURN_TYPES_NEVER_SHOWN.has(event.eventType)) return;
  if (!current && RETURN_TYPES.has(event.eventType)) {
    // Only when the order's own events are stuck (dead-lettered): do not drop the return.
    throw new OrderSummaryMissingError(`${event.eventType} of order ${orderId} arrived before the order's summary`);
  }
  const next = applyToSummary(current, event);
  // Nothing before the order's first event, and nothing already applied.
  if (!next || next === current) return;
  await saveSummary(tx, table, next);
}

/** Writes a summary into `table` unless the row there is already at or past its version. */
export async function saveSummary(tx: Tx, table: string, s: OrderSummary): Promise<void> {
  await tx.query(summarySql(table).upsert, [
    s.orderId,
    s.customerId,
    s.status,
    s.sagaPhase,
    JSON.stringify(s.state),
    JSON.stringify(s.timeline),
    s.lastEventId,
    s.lastStreamVersion,
    s.lastPosition,
    s.lastEventAt,
    s.createdAt,
    s.latestReturn?.state.returnId ?? null,
    s.latestReturn?.state.status ?? null,
    s.latestReturn ? JSON.stringify(s.latestReturn.state) : null,
    s.latestReturn?.version ?? 0,
    s.latestReturn?.openedPosition ?? 0,
  ]);
}

export const ORDER_SUMMARY_TABLE = 'order_summary';
/** Notified with the order id when a row of the live table changes (delivered at commit). */
export const ORDER_SUMMARY_CHANNEL = 'saga_order_summary';

/** Every order event type: the summary reflects the whole story, compensations included. */
export const ORDER_EVENT_TYPES = EVENT_DEFINITIONS.filter((d) => d.aggregateType === 'order').map((d) => d.type);
/** Every return event type: the order's summary shows its return. */
export const RETURN_EVENT_TYPES = [...RETURN_TYPES];
/** What the order-summary projector (and its rebuild) applies. */
export const SUMMARY_EVENT_TYPES = [...ORDER_EVENT_TYPES, ...RETURN_EVENT_TYPES];

export const orderSummaryProjector = defineConsumer({
  name: 'order-summary',
  handles: SUMMARY_EVENT_TYPES,
  handle: (event, tx) => projectInto(tx, ORDER_SUMMARY_TABLE, event),
});
