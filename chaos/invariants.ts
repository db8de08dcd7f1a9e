import { isDeepStrictEqual } from 'node:util';
import { CONSUMERS } from '../src/consumers';
import { ORDER_TERMINAL_EVENTS } from '../src/domain/order';
import { rebuildOrderSummary } from '../src/consumers/rebuild';
import type { Pool } from '../src/store/pool';
import { EXPECTED, type OrderKind } from './orders';

/** One invariant's verdict, as the report prints it. */
export interface InvariantResult {
  name: string;
  ok: boolean;
  /** What was checked (counts), or the first violations. */
  detail: string;
}

export interface PlacedOrder {
  orderId: string;
  kind: OrderKind;
}

// All checks read the orders this run placed (ids passed in) and the whole log of its database.
const SQL = {
  terminal: `SELECT stream_id, count(*)::int AS n, min(event_type) AS type, min(payload->>'reason') AS reason
    FROM events WHERE stream_id = ANY($1) AND event_type = ANY($2)
    GROUP BY stream_id`,
  repeatedTypes: `SELECT stream_id, event_type, count(*)::int AS n FROM events WHERE stream_id = ANY($1)
    GROUP BY stream_id, event_type HAVING count(*) > 1`,
  summaries: `SELECT order_id::text, status, saga_phase FROM order_summary WHERE order_id = ANY($1::uuid[])`,
  authorizations: `SELECT o.order_id, count(a.*)::int AS n, count(a.*) FILTER (WHERE a.status = 'CAPTURED')::int AS captured
    FROM unnest($1::text[]) AS o(order_id)
    LEFT JOIN simulators.gateway_authorizations a ON a.idempotency_key LIKE 'order-' || o.order_id || '/%'
    GROUP BY o.order_id`,
  stock: `SELECT sku, stock FROM products`,
  confirmedQuantities: `SELECT r.sku, sum(r.quantity)::int AS quantity FROM reservations r
    WHERE r.order_id = ANY($1::uuid[]) AND r.status = 'RESERVED' GROUP BY r.sku`,
  undelivered: `SELECT count(*)::int AS n FROM events e
    WHERE e.event_type = ANY($2) AND NOT EXISTS (SELECT 1 FROM inbox i WHERE i.consumer = $1 AND i.event_id = e.event_id)`,
  // Per event, not in total: a lost notification and a stray one must not cancel out.
  notifications: `SELECT
      (SELECT count(*)::int FROM events e WHERE e.event_type = ANY($1)) AS events,
      (SELECT count(*)::int FROM events e WHERE e.event_type = ANY($1)
        AND NOT EXISTS (SELECT 1 FROM customer_notifications n WHERE n.event_id = e.event_id)) AS missing,
      (SELECT count(*)::int FROM customer_notifications n WHERE NOT EXISTS
        (SELECT 1 FROM events e WHERE e.event_id = n.event_id AND e.event_type = ANY($1))) AS stray`,
  deadLetters: `SELECT consumer, event_type, left(error, 200) AS error FROM dead_letters`,
  // This database's relays only: other applications' relays may share the server.
  relays: `SELECT count(*) FILTER (WHERE application_name = 'saga-relay')::int AS active,
      count(*) FILTER (WHERE application_name = 'saga-relay-standby')::int AS standby
    FROM pg_stat_activity WHERE datname = current_database()`,
  relayedEvents: `SELECT event_id::text FROM events WHERE $1::text[] IS NULL OR event_type = ANY($1)`,
  summarySnapshot: `SELECT order_id, customer_id, status, saga_phase, state, timeline, last_event_id,
      last_stream_version, last_position, last_event_at, created_at FROM order_summary ORDER BY order_id`,
} as const;

const streamOf = (orderId: string) => `order-${orderId}`;
/** Confirmed, cancelled, or never placed: the domain's list, so a new ending is counted too. */
const TERMINAL = [...ORDER_TERMINAL_EVENTS];
const first = (violations: string[]) => violations.slice(0, 5).join('; ') + (violations.length > 5 ? ' …' : '');

/** Every saga ended as its input calls for: status and phase in the read model, reason in the event. */
export async function outcomes(pool: Pool, orders: PlacedOrder[]): Promise<InvariantResult> {
  const ids = orders.map((o) => o.orderId);
  const summaries = new Map(
    (await pool.query(SQL.summaries, [ids])).rows.map((r: { order_id: string; status: string; saga_phase: string }) => [
      r.order_id,
      r,
    ]),
  );
  const terminal = new Map(
    (await pool.query(SQL.terminal, [ids.map(streamOf), TERMINAL])).rows.map(
      (r: { stream_id: string; reason: string }) => [r.stream_id, r],
    ),
  );
  const violations: string[] = [];
  for (const { orderId, kind } of orders) {
    const expected = EXPECTED[kind];
    const summary = summaries.get(orderId);
    const reason = terminal.get(streamOf(orderId))?.reason ?? undefined;
    if (summary?.status !== expected.status || summary?.saga_phase !== expected.sagaPhase) {
      violations.push(`${kind} ${orderId}: ${summary?.status ?? 'missing'}/${summary?.saga_phase ?? '-'}`);
    } else if (expected.reason && reason !== expected.reason) {
      violations.push(`${kind} ${orderId}: cancelled for ${reason}, not ${expected.reason}`);
    }
  }
  return {
    name: 'every saga terminal with the outcome its input calls for',
    ok: violations.length === 0,
    detail: violations.length ? first(violations) : `${orders.length} orders`,
  };
}

/** Per order: exactly one terminal event, and no event type twice. */
export async function eventsPerOrder(pool: Pool, orders: PlacedOrder[]): Promise<InvariantResult[]> {
  const streams = orders.map((o) => streamOf(o.orderId));
  const terminal = (await pool.query(SQL.terminal, [streams, TERMINAL])).rows as { stream_id: string; n: number }[];
  const counted = new Map(terminal.map((r) => [r.stream_id, r.n]));
  const wrong = streams.filter((s) => counted.get(s) !== 1).map((s) => `${s}: ${counted.get(s) ?? 0}`);
  const repeated = (await pool.query(SQL.repeatedTypes, [streams])).rows as {
    stream_id: string;
    event_type: string;
    n: number;
  }[];
  return [
    {
      name: 'exactly one terminal event per order',
      ok: wrong.length === 0,
      detail: wrong.length ? first(wrong) : `${streams.length} streams`,
    },
    {
      name: 'no event type twice in an order stream',
      ok: repeated.length === 0,
      detail: repeated.length
        ? first(repeated.map((r) => `${r.stream_id} ${r.event_type} ×${r.n}`))
        : `${streams.length} streams`,
    },
  ];
}

/**
 * No effect doubled: the payment simulator's books hold at most one authorization per order,
 * captured exactly for the confirmed ones; stock went down by exactly what confirmed orders hold.
 */
export async function effects(
  pool: Pool,
  orders: PlacedOrder[],
  stockBefore: Map<string, number>,
): Promise<InvariantResult[]> {
  const ids = orders.map((o) => o.orderId);
  const confirmed = new Set(orders.filter((o) => EXPECTED[o.kind].status === 'CONFIRMED').map((o) => o.orderId));
  const books = (await pool.query(SQL.authorizations, [ids])).rows as {
    order_id: string;
    n: number;
    captured: number;
  }[];
  const doubled = books
    .filter((b) => b.n > 1 || b.captured !== (confirmed.has(b.order_id) ? 1 : 0))
    .map((b) => `${b.order_id}: ${b.n} authorizations, ${b.captured} captured`);
  const reserved = new Map(
    ((await pool.query(SQL.confirmedQuantities, [[...confirmed]])).rows as { sku: string; quantity: number }[]).map(
      (r) => [r.sku, r.quantity],
    ),
  );
  const stockAfter = (await pool.query(SQL.stock)).rows as { sku: string; stock: number }[];
  const drift = stockAfter
    .filter((p) => (stockBefore.get(p.sku) ?? p.stock) - p.stock !== (reserved.get(p.sku) ?? 0))
    .map((p) => `${p.sku}: ${stockBefore.get(p.sku)} → ${p.stock}, confirmed orders hold ${reserved.get(p.sku) ?? 0}`);
  return [
    {
      name: "no payment doubled in the simulator's books",
      ok: doubled.length === 0,
      detail: doubled.length ? first(doubled) : `${books.length} orders, ${confirmed.size} captured once`,
    },
    {
      name: 'stock moved by exactly what confirmed orders hold',
      ok: drift.length === 0,
      detail: drift.length ? first(drift) : `${stockAfter.length} products`,
    },
  ];
}

/** How many events each consumer has not handled yet (0 everywhere once delivery caught up). */
export async function undelivered(pool: Pool): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const c of CONSUMERS) {
    out[c.name] = (await pool.query(SQL.undelivered, [c.name, [...c.handles]])).rows[0].n;
  }
  return out;
}

/** Every event reached every consumer that handles it, and took effect once. */
export async function delivery(pool: Pool): Promise<InvariantResult[]> {
  const missing = Object.entries(await undelivered(pool)).filter(([, n]) => n > 0);
  const notifier = CONSUMERS.find((c) => c.name === 'notifier')!;
  const { events, missing: lost, stray } = (await pool.query(SQL.notifications, [[...notifier.handles]])).rows[0];
  return [
    {
      name: 'every event delivered to every consumer',
      ok: missing.length === 0,
      detail: missing.length
        ? missing.map(([c, n]) => `${c}: ${n} missing`).join(', ')
        : CONSUMERS.map((c) => c.name).join(', '),
    },
    {
      name: 'each notification sent once',
      ok: lost === 0 && stray === 0,
      detail: `${events} events: ${lost} without their notification, ${stray} notifications for no such event`,
    },
  ];
}

/** The incrementally built read model equals a rebuild from the log. */
export async function readModel(pool: Pool): Promise<InvariantResult> {
  const before = (await pool.query(SQL.summarySnapshot)).rows;
  await rebuildOrderSummary(pool);
  const after = (await pool.query(SQL.summarySnapshot)).rows;
  const differing = before.filter((row, i) => !isDeepStrictEqual(row, after[i])).map((r) => String(r.order_id));
  const ok = before.length === after.length && differing.length === 0;
  return {
    name: 'order_summary equals a rebuild',
    ok,
    detail: ok ? `${before.length} rows` : `${before.length} vs ${after.length} rows; differ: ${first(differing)}`,
  };
}

/** Nothing in dead letters: the run sends no bad input, so any dead letter was put there by a fault. */
export async function deadLetters(pool: Pool): Promise<InvariantResult> {
  const rows = (await pool.query(SQL.deadLetters)).rows as { consumer: string; event_type: string; error: string }[];
  return {
    name: 'no dead letters caused by faults',
    ok: rows.length === 0,
    detail: rows.length ? first(rows.map((r) => `${r.consumer} ${r.event_type}: ${r.error}`)) : '0 dead letters',
  };
}

/** The relays as PostgreSQL sees them: holders of the leader lock, and standbys waiting for it. */
export interface RelaySample {
  active: number;
  standby: number;
}

/** Who holds the relays' advisory lock now (the application names the lock gives their connections). */
export async function relayLeadership(pool: Pool): Promise<RelaySample> {
  return (await pool.query<RelaySample>(SQL.relays)).rows[0]!;
}

/** What the broker holds of the relays' messages, by event id. */
export interface BrokerLog {
  /** Event id → copies the broker holds. */
  copies: Map<string, number>;
  /**
   * Whether a second copy is a defect. NATS drops a re-publish by its Nats-Msg-Id (the event
   * id) within the stream's duplicate window; RabbitMQ keeps it, and the consumers' inboxes
   * give it no second effect, so copies there are counted, not failed.
   */
  dedupes: boolean;
  /** The event types it holds (RabbitMQ: those some consumer handles, as its queues are bound); undefined: all. */
  types?: readonly string[];
  /** Where it was read (the report names it). */
  source: string;
}

/**
 * After every PostgreSQL fault (kill or hang) with a broker transport, exactly one relay held
 * the leader lock once everything was ready again; and, over the whole run, the broker holds
 * every relayed event (none lost between confirm and checkpoint), no message that is no event,
 * and, where it deduplicates (NATS), each event exactly once.
 */
export async function relays(
  pool: Pool,
  afterPostgresFaults: (RelaySample & { fault: string })[],
  log: BrokerLog,
): Promise<InvariantResult> {
  const leadership = afterPostgresFaults
    .filter((s) => s.active !== 1)
    .map((s) => `after ${s.fault}: ${s.active} relays active`);
  const events = new Set(
    (
      (await pool.query<{ event_id: string }>(SQL.relayedEvents, [log.types ?? null])).rows as { event_id: string }[]
    ).map((r) => r.event_id),
  );
  const missing = [...events].filter((id) => !log.copies.has(id));
  const stray = [...log.copies.keys()].filter((id) => !events.has(id));
  const repeated = [...log.copies].filter(([, n]) => n > 1);
  const violations = [
    ...leadership,
    ...(missing.length ? [`${missing.length} events not in ${log.source} (${missing.slice(0, 3).join(', ')})`] : []),
    ...(stray.length ? [`${stray.length} messages for no such event (${stray.slice(0, 3).join(', ')})`] : []),
    ...(log.dedupes && repeated.length
      ? [`${repeated.length} events published twice (${repeated.slice(0, 3).map(([id, n]) => `${id} ×${n}`)})`]
      : []),
  ];
  const copies = [...log.copies.values()].reduce((a, b) => a + b, 0);
  return {
    name: 'one active relay after each PostgreSQL fault; nothing published twice',
    ok: violations.length === 0,
    detail: violations.length
      ? first(violations)
      : `${afterPostgresFaults.length} PostgreSQL faults, one relay active after each; ${events.size} events in ${log.source}` +
        (log.dedupes
          ? ' once each'
          : `, ${copies - events.size} re-published copies (${repeated.length} events) absorbed by the inboxes`),
  };
}

export async function stockLevels(pool: Pool): Promise<Map<string, number>> {
  return new Map(((await pool.query(SQL.stock)).rows as { sku: string; stock: number }[]).map((r) => [r.sku, r.stock]));
}
