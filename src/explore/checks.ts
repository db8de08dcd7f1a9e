import { isDeepStrictEqual } from 'node:util';
import type { ConsumerDefinition } from '../delivery/consumer';
import { processDelivery, readEvent } from '../delivery/deliver';
import { type RawEvent } from '../delivery/contract';
import { readStreams } from '../delivery/reader';
import { applyToSummary, type OrderSummary } from '../consumers/order-summary';
import { getOrderSummary } from '../consumers/order-summary-queries';
import type { SagaDefinition } from '../saga/definition';
import type { Pool } from '../store/pool';
import { partitionOf } from '../delivery/transports/codec';
import type { Check, Run } from './target';

/** The invariants every explored run must hold, whatever its saga. */

const SQL = {
  notificationsPerEvent: `SELECT e.event_id::text, count(n.*)::int AS n FROM events e
    LEFT JOIN customer_notifications n ON n.event_id = e.event_id
    WHERE e.stream_id = ANY($1) AND e.event_type = ANY($2) GROUP BY e.event_id`,
} as const;

const verdict = (name: string, problems: string[], fine: string): Check => ({
  name,
  ok: problems.length === 0,
  detail: problems.length ? problems.slice(0, 4).join('; ') : fine,
});

/** Exactly one terminal event in the run's own stream; no event type twice in any of its streams. */
export function eventChecks(run: Run, events: readonly RawEvent[], terminal: readonly string[]): Check[] {
  const own = events.filter((e) => e.streamId === run.workflowId);
  const ends = own.filter((e) => terminal.includes(e.eventType)).map((e) => e.eventType);
  const seen = new Map<string, number>();
  for (const e of events) seen.set(`${e.streamId} ${e.eventType}`, (seen.get(`${e.streamId} ${e.eventType}`) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1).map(([key, n]) => `${key} ×${n}`);
  return [
    verdict('exactly one terminal event', ends.length === 1 ? [] : [`${ends.length}: ${ends.join(', ')}`], ends[0]!),
    verdict('no event type twice in a stream', twice, `${events.length} events`),
  ];
}

/**
 * The compensations that ran are exactly the undos of the steps that ran (their activity was
 * scheduled: a step that timed out may still have happened), last first, each once.
 */
export function compensationCheck(saga: SagaDefinition<never, never>, scheduled: readonly string[]): Check {
  const undoOf = new Map(saga.steps.flatMap((s) => (s.compensation ? [[s.activity, s.compensation.activity]] : [])));
  const undos = new Set(undoOf.values());
  // An undo an operator retried is scheduled again: what counts is the order each first ran in.
  const ranUndos = [...new Set(scheduled.filter((a) => undos.has(a)))];
  const stopped = scheduled.includes(saga.onStop.activity);
  const expected = stopped
    ? [...new Set(scheduled)]
        .filter((a) => undoOf.has(a))
        .map((a) => undoOf.get(a)!)
        .reverse()
    : [];
  return verdict(
    'compensations: the undos of the steps that ran, last first',
    isDeepStrictEqual(ranUndos, expected) ? [] : [`ran [${ranUndos.join(', ')}], expected [${expected.join(', ')}]`],
    expected.length ? expected.join(' → ') : 'none needed',
  );
}

/**
 * Delivers every event of the run to every consumer twice, in log order (as a redelivery
 * after a crash would): the second pass must change nothing and nothing is dead-lettered.
 */
export async function deliverTwice(
  pool: Pool,
  consumers: readonly ConsumerDefinition[],
  events: readonly RawEvent[],
): Promise<Check> {
  const problems: string[] = [];
  for (const pass of [1, 2]) {
    for (const event of events) {
      for (const consumer of consumers) {
        const partition = partitionOf(event.streamId, consumer.partitions);
        const outcome = await processDelivery(pool, consumer, partition, { kind: 'event', event });
        if (outcome === 'dead_lettered' || outcome === 'parked') {
          problems.push(`${consumer.name} ${event.eventType}: ${outcome}`);
        } else if (pass === 2 && outcome === 'handled') {
          problems.push(`${consumer.name} ${event.eventType}: handled again`);
        }
      }
    }
  }
  return verdict('each event delivered twice to each consumer, effective once', problems, `${events.length} events`);
}

/** One notification per notified event of the run. */
export async function notificationCheck(pool: Pool, run: Run, notified: readonly string[]): Promise<Check> {
  const { rows } = await pool.query<{ event_id: string; n: number }>(SQL.notificationsPerEvent, [
    run.streams,
    notified,
  ]);
  const wrong = rows.filter((r) => r.n !== 1).map((r) => `${r.event_id}: ${r.n}`);
  return verdict('one notification per event', wrong, `${rows.length} notified events`);
}

/** The read model's row of each order equals a fold of its events. */
export async function readModelCheck(pool: Pool, run: Run, events: readonly RawEvent[]): Promise<Check> {
  const problems: string[] = [];
  for (const orderId of run.orderIds) {
    let folded: OrderSummary | undefined;
    for (const raw of events) {
      if ((raw.payload as { orderId?: string }).orderId !== orderId) continue;
      folded = applyToSummary(folded, readEvent(raw));
    }
    const stored = await getOrderSummary(pool, orderId);
    const view = (s: OrderSummary | undefined) =>
      s && {
        status: s.status,
        sagaPhase: s.sagaPhase,
        lastStreamVersion: s.lastStreamVersion,
        timeline: s.timeline.map((t) => `${t.type}@${t.version}`),
        returnStatus: s.latestReturn?.state.status ?? null,
      };
    if (!isDeepStrictEqual(view(stored), view(folded))) {
      problems.push(`${orderId}: ${JSON.stringify(view(stored))} vs rebuilt ${JSON.stringify(view(folded))}`);
    }
  }
  return verdict('read model equals a rebuild', problems, `${run.orderIds.length} order(s)`);
}

export { readStreams };
