import { defineConsumer, type ConsumedEvent } from '../consumers/consumer';
import { evolve, initialState, type OrderEvent, type OrderState } from '../domain/order';
import { EVENT_DEFINITIONS, eventDefinition } from '../events/catalog';
import type { Tx } from '../store/pool';

/**
 * The order-summary projection: one row per order, folded with the Order aggregate's own
 * `evolve` (one definition of what each event means), plus a timeline and how fresh it is.
 * Applying is idempotent per stream version, so a rebuild and the live projector may both
 * see an event without harm.
 */

export interface TimelineEntry {
  type: string;
  version: number;
  at: string;
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
}

/** The saga's phase as its events tell it. */
function phaseAfter(phase: SummaryPhase, eventType: string): SummaryPhase {
  if (eventType === 'order.confirmed') return 'COMPLETED';
  if (eventType === 'order.cancelled') return 'COMPENSATED';
  return eventDefinition(eventType).compensation ? 'COMPENSATING' : phase;
}

/** Folds one event into a summary (pure). Events at or below the summary's version change nothing. */
export function applyToSummary(summary: OrderSummary | undefined, event: ConsumedEvent): OrderSummary | undefined {
  if (summary && event.version <= summary.lastStreamVersion) return summary;
  const state = evolve(summary?.state ?? initialState(), { type: event.eventType, data: event.payload } as OrderEvent);
  if (!state.orderId || !state.customerId) return undefined; // nothing before order.created
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
  };
}

/** SQL of one summary table (the live one, or a rebuild's). */
export function summarySql(table: string) {
  return {
    load: `SELECT order_id, customer_id, status, saga_phase, state, timeline, last_event_id, last_stream_version, last_position,
        last_event_at, created_at FROM ${table} WHERE order_id = $1 FOR UPDATE`,
    upsert: `INSERT INTO ${table} (order_id, customer_id, status, saga_phase, state, timeline, last_event_id,
        last_stream_version, last_position, last_event_at, created_at, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())
      ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, saga_phase = excluded.saga_phase,
        state = excluded.state,
        timeline = excluded.timeline, last_event_id = excluded.last_event_id,
        last_stream_version = excluded.last_stream_version, last_position = excluded.last_position,
        last_event_at = excluded.last_event_at, updated_at = now()
      WHERE ${table}.last_stream_version < excluded.last_stream_version`,
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
});

/** Applies one event to the summary table `table` inside `tx`. */
export async function projectInto(tx: Tx, table: string, event: ConsumedEvent): Promise<void> {
  const orderId = event.payload.orderId as string;
  const sql = summarySql(table);
  const { rows } = await tx.query<SummaryRow>(sql.load, [orderId]);
  const next = applyToSummary(rows[0] ? toSummary(rows[0]) : undefined, event);
  // Nothing before order.created, and nothing for a version already applied.
  if (!next || (rows[0] && next.lastStreamVersion === rows[0].last_stream_version)) return;
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
  ]);
}

export const ORDER_SUMMARY_TABLE = 'order_summary';

/** Every order event type: the summary reflects the whole story, compensations included. */
export const ORDER_EVENT_TYPES = EVENT_DEFINITIONS.filter((d) => d.aggregateType === 'order').map((d) => d.type);

export const orderSummaryProjector = defineConsumer({
  name: 'order-summary',
  handles: ORDER_EVENT_TYPES,
  handle: (event, tx) => projectInto(tx, ORDER_SUMMARY_TABLE, event),
});
