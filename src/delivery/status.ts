import { backlogAfter, heldBackEvents, peekCheckpoint } from './reader';
import { relaySubscriber } from './relay';
import type { Pool } from '../store/pool';
import type { TransportKind } from './contract';

/**
 * The state of event delivery as the database knows it, read on demand (any process with a
 * pool can tell): the relay (active, backlog, age of the oldest undelivered event), each
 * consumer's instances and lag per partition, read-model lag, unresolved dead letters, and
 * the events an open transaction holds back from every reader (and which transaction).
 * The API's /delivery and /health, and the delivery gauges on /metrics, all read this.
 */

/** Consumers that keep a read model (their lag is the projection lag). */
const PROJECTIONS = new Set(['order-summary']);

const SQL = {
  // Relays and consumer instances are told apart by their connections' application names; only
  // this database's: another deployment on the same server has processes of the same names.
  processes: `SELECT application_name, count(*)::int AS connections FROM pg_stat_activity
    WHERE datname = current_database()
      AND (application_name IN ('saga-relay', 'saga-relay-standby') OR application_name LIKE 'saga-consumer:%')
    GROUP BY application_name`,
  consumerCheckpoints: `SELECT subscriber, transaction_id::text, global_position FROM subscription_checkpoints
    WHERE subscriber LIKE 'consumer:%'`,
  deadLetters: `SELECT consumer, status, count(*)::int AS n FROM dead_letters
    WHERE status IN ('open', 'parked') GROUP BY consumer, status`,
  // The oldest transaction holding an xid, server-wide (the commit-order readers' horizon is
  // the server's, not this database's), a prepared one included. A role without
  // pg_read_all_stats sees no xid of other roles' sessions: then nothing is found.
  horizonHolder: `SELECT database, pid, application_name, prepared_transaction, transaction_age_seconds FROM (
      SELECT datname AS database, pid, application_name, NULL AS prepared_transaction,
        extract(epoch FROM now() - xact_start)::float AS transaction_age_seconds, age(backend_xid) AS xid_age
      FROM pg_stat_activity WHERE backend_xid IS NOT NULL
      UNION ALL
      SELECT database, NULL, NULL, gid, extract(epoch FROM now() - prepared)::float, age(transaction)
      FROM pg_prepared_xacts
    ) holders ORDER BY xid_age DESC LIMIT 1`,
} as const;

export interface RelayStatus {
  /** A relay holds the leader lock. */
  active: boolean;
  /** Relays waiting to take over (each keeps one connection between its tries). */
  standbys: number;
  backlog: number;
  oldestUndeliveredAgeSeconds: number;
}

export interface PartitionLag {
  partition: number;
  /** Committed events past what the partition has handled. */
  lagEvents: number;
  /** Age of the oldest of them (0 when current). */
  oldestAgeSeconds: number;
}

export interface ConsumerStatus {
  name: string;
  partitions: number;
  /** Running instances (one presence connection each). */
  instances: number;
  partitionsOwned: number;
  lag: PartitionLag[];
  deadLetters: { open: number; parked: number };
}

/** The open transaction that holds committed events back from every commit-order reader. */
export interface HorizonHolder {
  database: string | null;
  /** The session's process id (`pg_terminate_backend` ends it); null for a prepared transaction. */
  pid: number | null;
  applicationName: string | null;
  /** The gid of a prepared (two-phase) transaction (`ROLLBACK PREPARED` ends it). */
  preparedTransaction: string | null;
  transactionAgeSeconds: number | null;
}

export interface HeldBack {
  /** Committed events no relay, consumer or projector may read yet. */
  events: number;
  /** Age of the oldest of them (0 when none). */
  oldestAgeSeconds: number;
  /** The oldest open transaction on the server, when events are held and it can be seen. */
  by: HorizonHolder | null;
}

export interface DeliveryStatus {
  transport: TransportKind;
  relay: RelayStatus | null;
  consumers: ConsumerStatus[];
  /** How far each read model trails the log, in seconds (0 when current). */
  projections: { name: string; lagSeconds: number }[];
  heldBack: HeldBack;
}

export async function deliveryStatus(
  pool: Pool,
  transport: TransportKind,
  consumers: readonly { name: string; partitions: number }[],
): Promise<DeliveryStatus> {
  const [processes, checkpoints, deadLetters, held] = await Promise.all([
    pool.query<{ application_name: string; connections: number }>(SQL.processes),
    pool.query<{ subscriber: string; transaction_id: string; global_position: number }>(SQL.consumerCheckpoints),
    pool.query<{ consumer: string; status: 'open' | 'parked'; n: number }>(SQL.deadLetters),
    heldBack(pool),
  ]);
  const lagByConsumer = new Map<string, PartitionLag[]>();
  for (const row of checkpoints.rows) {
    const [, consumer, partition, via = 'postgres'] = row.subscriber.split(':');
    if (via !== transport) continue; // markers left by another transport
    const b = await backlogAfter(pool, { transactionId: row.transaction_id, globalPosition: row.global_position });
    const lags = lagByConsumer.get(consumer!) ?? [];
    lags.push({
      partition: Number(partition),
      lagEvents: b.events,
      oldestAgeSeconds: b.events > 0 ? b.oldestAgeSeconds : 0,
    });
    lagByConsumer.set(consumer!, lags);
  }
  // Consumers known to the database but not to this process still show (their lag matters).
  const names = [
    ...new Set([...consumers.map((c) => c.name), ...lagByConsumer.keys(), ...deadLetters.rows.map((r) => r.consumer)]),
  ];
  const consumerStatuses = names.map((name): ConsumerStatus => {
    const mine = processes.rows.filter((r) => r.application_name.startsWith(`saga-consumer:${name}:`));
    const letters = deadLetters.rows.filter((r) => r.consumer === name);
    return {
      name,
      partitions: consumers.find((c) => c.name === name)?.partitions ?? lagByConsumer.get(name)?.length ?? 1,
      instances: mine.length,
      // One presence connection per instance, plus one per partition it owns.
      partitionsOwned: mine.reduce((n, r) => n + r.connections - 1, 0),
      lag: (lagByConsumer.get(name) ?? []).sort((a, b) => a.partition - b.partition),
      deadLetters: {
        open: letters.find((r) => r.status === 'open')?.n ?? 0,
        parked: letters.find((r) => r.status === 'parked')?.n ?? 0,
      },
    };
  });
  let relay: RelayStatus | null = null;
  if (transport !== 'postgres') {
    const backlog = await backlogAfter(pool, await peekCheckpoint(pool, relaySubscriber(transport)));
    relay = {
      active: processes.rows.some((r) => r.application_name === 'saga-relay'),
      standbys: processes.rows.find((r) => r.application_name === 'saga-relay-standby')?.connections ?? 0,
      backlog: backlog.events,
      oldestUndeliveredAgeSeconds: backlog.oldestAgeSeconds,
    };
  }
  const projections = consumerStatuses
    .filter((c) => PROJECTIONS.has(c.name))
    // A read model is as stale as the oldest event one of its partitions has not applied.
    .map((c) => ({ name: c.name, lagSeconds: Math.max(0, ...c.lag.map((l) => l.oldestAgeSeconds)) }));
  return { transport, relay, consumers: consumerStatuses, projections, heldBack: held };
}

async function heldBack(pool: Pool): Promise<HeldBack> {
  const held = await heldBackEvents(pool);
  if (held.events === 0) return { ...held, by: null };
  const { rows } = await pool.query<{
    database: string | null;
    pid: number | null;
    application_name: string | null;
    prepared_transaction: string | null;
    transaction_age_seconds: number | null;
  }>(SQL.horizonHolder);
  const row = rows[0];
  const by: HorizonHolder | null = row
    ? {
        database: row.database,
        pid: row.pid,
        applicationName: row.application_name || null,
        preparedTransaction: row.prepared_transaction,
        transactionAgeSeconds: row.transaction_age_seconds,
      }
    : null;
  return { ...held, by };
}
