import { Counter, Gauge, type Registry } from 'prom-client';
import type { Pool } from '../store/pool';
import type { TransportKind } from './contract';
import type { DeliveryOutcome } from './deliver';
import { deliveryStatus } from './status';

/**
 * Delivery figures read from the database at scrape time (any process with a pool can serve
 * them): relay backlog and the age of the oldest undelivered event, per-consumer lag,
 * read-model lag, unresolved dead letters, and the events an open transaction holds back.
 */
export function registerDeliveryGauges(registry: Registry, pool: Pool, transport: TransportKind): void {
  // One collect fills them all, so a scrape costs a handful of queries.
  let collecting: Promise<void> | undefined;
  const collect = (): Promise<void> =>
    (collecting ??= (async () => {
      try {
        const status = await deliveryStatus(pool, transport, []);
        if (status.relay) {
          backlog.set({ transport }, status.relay.backlog);
          oldest.set({ transport }, status.relay.oldestUndeliveredAgeSeconds);
        }
        lag.reset();
        projectionLag.reset();
        deadLetters.reset();
        for (const consumer of status.consumers) {
          for (const p of consumer.lag)
            lag.set({ consumer: consumer.name, partition: String(p.partition) }, p.lagEvents);
          for (const s of ['open', 'parked'] as const) {
            if (consumer.deadLetters[s] > 0)
              deadLetters.set({ consumer: consumer.name, status: s }, consumer.deadLetters[s]);
          }
        }
        for (const p of status.projections) projectionLag.set({ projection: p.name }, p.lagSeconds);
        heldBack.set(status.heldBack.events);
        heldBackAge.set(status.heldBack.oldestAgeSeconds);
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
  const heldBack = new Gauge({
    name: 'saga_events_held_back',
    help: 'Committed events no relay, consumer or projector may read yet: an older transaction is still open on the PostgreSQL server (any database)',
    registers: [registry],
    collect: () => collect(),
  });
  const heldBackAge = new Gauge({
    name: 'saga_events_held_back_age_seconds',
    help: 'Age of the oldest committed event an open transaction holds back from every reader (0 when none)',
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
  const unrouted = new Counter({
    name: 'saga_broker_unrouted_total',
    help: 'Messages the broker could route to no consumer queue (RabbitMQ alternate exchange), taken from the unrouted queue',
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
    unrouted: (transport: TransportKind, count = 1) => unrouted.inc({ transport }, count),
  };
}
export type DeliveryCounters = ReturnType<typeof createDeliveryCounters>;
