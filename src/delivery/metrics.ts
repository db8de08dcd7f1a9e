import { Counter, Gauge, type Registry } from 'prom-client';
import { backlogAfter, peekCheckpoint } from '../outbox/reader';
import { relaySubscriber } from '../outbox/relay';
import type { Pool } from '../store/pool';
import type { TransportKind } from '../transports/transport';
import type { DeliveryOutcome } from '../consumers/process';

/** Consumers that keep a read model (their lag is the projection lag). */
const PROJECTIONS = new Set(['order-summary']);

const SQL = {
  consumerCheckpoints: `SELECT subscriber, transaction_id::text, global_position FROM subscription_checkpoints
    WHERE subscriber LIKE 'consumer:%'`,
  deadLetters: `SELECT consumer, status, count(*)::int AS n FROM dead_letters
    WHERE status IN ('open', 'parked') GROUP BY consumer, status`,
} as const;

/**
 * Delivery figures read from the database at scrape time (any process with a pool can serve
 * them): relay backlog and the age of the oldest undelivered event, per-consumer lag on the
 * Postgres-native transport, unresolved dead letters.
 */
export function registerDeliveryGauges(registry: Registry, pool: Pool, transport: TransportKind): void {
  // One collect fills all four, so a scrape costs a handful of queries.
  let collecting: Promise<void> | undefined;
  const collect = (): Promise<void> =>
    (collecting ??= (async () => {
      try {
        if (transport !== 'postgres') {
          const position = await peekCheckpoint(pool, relaySubscriber(transport));
          const b = await backlogAfter(pool, position);
          backlog.set({ transport }, b.events);
          oldest.set({ transport }, b.oldestAgeSeconds);
        }
        lag.reset();
        projectionLag.reset();
        const projectionAges = new Map<string, number>();
        const { rows } = await pool.query<{ subscriber: string; transaction_id: string; global_position: number }>(
          SQL.consumerCheckpoints,
        );
        for (const row of rows) {
          const [, consumer, partition, via = 'postgres'] = row.subscriber.split(':');
          if (via !== transport) continue; // markers left by another transport
          const b = await backlogAfter(pool, {
            transactionId: row.transaction_id,
            globalPosition: row.global_position,
          });
          lag.set({ consumer: consumer!, partition: partition! }, b.events);
          // A read model is as stale as the oldest event one of its partitions has not applied.
          if (PROJECTIONS.has(consumer!)) {
            const seconds = b.events > 0 ? b.oldestAgeSeconds : 0;
            projectionAges.set(consumer!, Math.max(seconds, projectionAges.get(consumer!) ?? 0));
          }
        }
        for (const [projection, seconds] of projectionAges) projectionLag.set({ projection }, seconds);
        deadLetters.reset();
        const dl = await pool.query<{ consumer: string; status: string; n: number }>(SQL.deadLetters);
        for (const row of dl.rows) deadLetters.set({ consumer: row.consumer, status: row.status }, row.n);
      } finally {
        collecting = undefined;
      }
    })());
  const backlog = new Gauge({
    name: 'saga_relay_backlog_events',
    help: 'Committed events the relay has not published yet',
    labelNames: ['transport'] as const,
    registers: [registry],
    collect: () => collect(),
  });
  const oldest = new Gauge({
    name: 'saga_relay_oldest_undelivered_age_seconds',
    help: 'Age of the oldest committed event the relay has not published yet (0 when none)',
    labelNames: ['transport'] as const,
    registers: [registry],
    collect: () => collect(),
  });
  const lag = new Gauge({
    name: 'saga_consumer_lag_events',
    help: 'Committed events past what a consumer partition has handled (its checkpoint, or its progress behind a broker)',
    labelNames: ['consumer', 'partition'] as const,
    registers: [registry],
    collect: () => collect(),
  });
  const projectionLag = new Gauge({
    name: 'saga_projection_lag_seconds',
    help: 'How far a read model trails the log: age of the oldest committed event it has not applied (0 when current)',
    labelNames: ['projection'] as const,
    registers: [registry],
    collect: () => collect(),
  });
  const deadLetters = new Gauge({
    name: 'saga_dead_letters',
    help: 'Unresolved dead letters by consumer and status (open, parked)',
    labelNames: ['consumer', 'status'] as const,
    registers: [registry],
    collect: () => collect(),
  });
}

/** Counters of the process that runs the relay or consumers. */
export function createDeliveryCounters(registry: Registry, consumers: readonly string[] = []) {
  const deliveries = new Counter({
    name: 'saga_consumer_deliveries_total',
    help: 'Deliveries by consumer and outcome (handled, duplicate, skipped, parked, dead_lettered)',
    labelNames: ['consumer', 'outcome'] as const,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'saga_consumer_retries_total',
    help: 'Handler attempts that failed and were retried',
    labelNames: ['consumer'] as const,
    registers: [registry],
  });
  const published = new Counter({
    name: 'saga_relay_published_total',
    help: 'Events the relay published with broker confirmation',
    labelNames: ['transport'] as const,
    registers: [registry],
  });
  // Series at zero from the start, so rates and alerts see them before the first retry.
  for (const consumer of consumers) {
    retries.inc({ consumer }, 0);
    deliveries.inc({ consumer, outcome: 'handled' }, 0);
  }
  return {
    delivered: (consumer: string, outcome: DeliveryOutcome) => deliveries.inc({ consumer, outcome }),
    retried: (consumer: string) => retries.inc({ consumer }),
    published: (transport: TransportKind, count: number) => published.inc({ transport }, count),
  };
}
export type DeliveryCounters = ReturnType<typeof createDeliveryCounters>;
