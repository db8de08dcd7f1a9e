import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../logger';
import { AdvisoryLock, heartbeat, heartbeatEvery, loggedTakeover, type TakeoverOptions } from './leader-lock';
import type { Pool } from '../store/pool';
import { positionOf } from './contract';
import { recordProgress } from './reader';
import { partitionOf } from './transports/codec';
import { consumerSubscriber } from './transports/postgres';
import type { Delivery, PartitionSource, Transport } from './contract';
import { backoffDelay } from '../util/backoff';
import { pause } from '../util/pause';
import { topologyOf, type ConsumerDefinition } from './consumer';
import { processDelivery, type DeliveryOutcome } from './deliver';

export interface ConsumerRunnerOptions {
  pool: Pool;
  /** For the partition locks' and presence connections. */
  connectionString: string;
  transport: Transport;
  consumers: readonly ConsumerDefinition[];
  /**
   * Every consumer of the system (default: `consumers`). A message the broker could route to
   * none of them (see `Transport.openUnrouted`) is taken to each, as every transport does
   * with an event no queue filters out: unknown types are dead-lettered for each consumer.
   */
  topology?: readonly ConsumerDefinition[];
  logger: Logger;
  /** Deliveries per fetch. Default 100. */
  batchSize?: number;
  /** Longest wait for new deliveries before polling again. Default 1 s. */
  pollIntervalMs?: number;
  /** How often partitions are claimed, balanced and released. Default 1 s. */
  rebalanceIntervalMs?: number;
  /**
   * How long an instance may stop answering (frozen, its connections open) before the others
   * stop counting it and take its partitions over. Default 10 s.
   */
  takeoverAfterMs?: number;
  /** Backoff while the broker or database is down. Default 200 ms doubling to 10 s. */
  backoff?: { initialMs: number; maxMs: number };
  onDelivery?(consumer: string, outcome: DeliveryOutcome): void;
  onRetry?(consumer: string): void;
  /** A message came back from the broker's unrouted queue. */
  onUnrouted?(): void;
}

/** One ordered feed the runner drains: a consumer partition, or the unrouted queue. */
interface Feed {
  log: Record<string, unknown>;
  open(): Promise<PartitionSource>;
  /** Takes one delivery to its end (throws on an infrastructure failure: rewind and retry). */
  handle(delivery: Delivery, signal: AbortSignal): Promise<void>;
  acknowledge(source: PartitionSource, done: Delivery[]): Promise<void>;
}

const UNROUTED = '(unrouted)';

/** The advisory lock (a name hashed to a key) its owning instance holds on a consumer partition. */
export const partitionLockName = (consumer: string, partition: number): string =>
  `saga:consumer:${consumer}:${partition}`;
/** The advisory lock of the one instance draining the broker's unrouted queue. */
export const UNROUTED_LOCK_NAME = `saga:consumer:${UNROUTED}`;

const presenceName = (consumer: string, instance: string) => `saga-consumer:${consumer}:${instance}`;

interface OwnedPartition {
  lock: AdvisoryLock;
  stop: AbortController;
  done: Promise<void>;
}

/**
 * Runs consumers on a transport. Each consumer's partitions are owned through advisory locks
 * (one instance per partition at a time, whatever the transport); every instance takes its
 * fair share — partitions divided by the instances present — and releases the surplus when
 * another instance appears. A partition whose owner dies is claimed by a survivor; so is one
 * whose owner hangs: an instance shows it is alive with a query on each of its connections now
 * and then, and one silent for `takeoverAfterMs` is no longer counted, and its partitions'
 * lock connections are ended by whoever claims them.
 */
export class ConsumerRunner {
  readonly instanceId = randomBytes(4).toString('hex');
  private readonly owned = new Map<string, Map<number, OwnedPartition>>();
  private readonly presence = new Map<string, { client: pg.Client; stopHeartbeat: () => void }>();
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];

  /** Takeover from an instance that hangs (its partition locks, its place in the count). */
  private readonly takeover: TakeoverOptions;

  constructor(private readonly options: ConsumerRunnerOptions) {
    this.takeover = loggedTakeover(options.logger, 'a consumer instance', options.takeoverAfterMs);
  }

  /** A lock this instance takes, under its presence name (so its connections count as it). */
  private lock(name: string, consumer: string): AdvisoryLock {
    return new AdvisoryLock(
      this.options.connectionString,
      name,
      presenceName(consumer, this.instanceId),
      undefined,
      this.takeover,
    );
  }

  /** Partitions this instance owns now, per consumer. */
  ownership(): Record<string, number[]> {
    return Object.fromEntries(
      this.options.consumers.map((c) => [c.name, [...(this.owned.get(c.name)?.keys() ?? [])].sort((a, b) => a - b)]),
    );
  }

  async start(): Promise<void> {
    for (const consumer of this.options.consumers) {
      await this.ensurePresence(consumer.name);
      this.owned.set(consumer.name, new Map());
      this.loops.push(this.balance(consumer));
    }
    if (this.options.transport.openUnrouted) this.loops.push(this.drainUnrouted());
  }

  /**
   * An idle connection per consumer makes this instance count in everyone's fair share; it is
   * re-opened when it drops (a database restart), or this instance would vanish from the count.
   */
  private async ensurePresence(consumer: string): Promise<void> {
    if (this.presence.has(consumer)) return;
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: presenceName(consumer, this.instanceId),
    });
    const entry = { client, stopHeartbeat: () => undefined as void };
    const drop = () => {
      entry.stopHeartbeat();
      if (this.presence.get(consumer) === entry) this.presence.delete(consumer);
    };
    client.on('error', drop);
    client.on('end', drop);
    await client.connect();
    entry.stopHeartbeat = heartbeat(client, heartbeatEvery(this.takeover));
    this.presence.set(consumer, entry);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    await Promise.all(
      [...this.owned.values()].flatMap((partitions) => [...partitions.keys()].map((p) => this.release(partitions, p))),
    );
    const entries = [...this.presence.values()];
    this.presence.clear();
    for (const entry of entries) entry.stopHeartbeat();
    await Promise.all(entries.map((e) => e.client.end().catch(() => undefined)));
  }

  private async liveInstances(consumer: string): Promise<number> {
    const { rows } = await this.options.pool.query<{ n: number }>(
      // This database's instances only: another deployment on the server runs the same names.
      // An instance whose every connection has been idle too long hangs: not counted. (Another
      // role's sessions show no state: counted, as they cannot be judged.)
      `SELECT count(DISTINCT application_name)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name LIKE $1
          AND coalesce(NOT (state = 'idle' AND state_change < now() - make_interval(secs => $2::float / 1000)), true)`,
      [`${presenceName(consumer, '')}%`, this.takeover.afterMs],
    );
    return Math.max(1, rows[0]!.n);
  }

  private async balance(consumer: ConsumerDefinition): Promise<void> {
    const partitions = this.owned.get(consumer.name)!;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        await this.ensurePresence(consumer.name);
        const share = Math.ceil(consumer.partitions / (await this.liveInstances(consumer.name)));
        for (const p of [...partitions.keys()].sort((a, b) => b - a)) {
          if (partitions.size <= share) break;
          await this.release(partitions, p);
        }
        for (let p = 0; p < consumer.partitions && partitions.size < share && !signal.aborted; p++) {
          if (partitions.has(p)) continue;
          const lock = this.lock(partitionLockName(consumer.name, p), consumer.name);
          if (!(await lock.tryAcquire())) continue;
          const stop = new AbortController();
          const owned: OwnedPartition = { lock, stop, done: Promise.resolve() };
          lock.onLost(() => {
            this.options.logger.warn({ consumer: consumer.name, partition: p }, 'partition lock lost');
            stop.abort();
            if (partitions.get(p) === owned) partitions.delete(p);
          });
          partitions.set(p, owned);
          owned.done = this.consume(this.partitionFeed(consumer, p), stop.signal);
          this.options.logger.info(
            { consumer: consumer.name, partition: p, instance: this.instanceId },
            'partition claimed',
          );
        }
      } catch (err) {
        this.options.logger.warn(
          { err: (err as Error).message, consumer: consumer.name },
          'partition balancing failed',
        );
      }
      await pause(this.options.rebalanceIntervalMs ?? 1000, signal);
    }
  }

  private async release(partitions: Map<number, OwnedPartition>, p: number): Promise<void> {
    const owned = partitions.get(p);
    if (!owned) return;
    partitions.delete(p);
    owned.stop.abort();
    await owned.done;
    await owned.lock.release();
  }

  private async acknowledge(source: PartitionSource, consumer: string, partition: number, done: Delivery[]) {
    await source.ack(done);
    const { transport } = this.options;
    if (!transport.needsRelay) return; // the checkpoint itself is the progress
    const last = [...done].reverse().find((d) => d.kind === 'event');
    if (last?.kind === 'event') {
      await recordProgress(
        this.options.pool,
        consumerSubscriber(consumer, partition, transport.kind),
        positionOf(last.event),
      );
    }
  }

  /** The feed of one owned consumer partition. */
  private partitionFeed(consumer: ConsumerDefinition, partition: number): Feed {
    const topology = topologyOf(consumer);
    return {
      log: { consumer: consumer.name, partition },
      open: () => this.options.transport.openPartition(topology, partition),
      handle: async (delivery, signal) => {
        const outcome = await processDelivery(this.options.pool, consumer, partition, delivery, {
          signal,
          onRetry: () => this.options.onRetry?.(consumer.name),
        });
        this.options.onDelivery?.(consumer.name, outcome);
      },
      acknowledge: (source, done) => this.acknowledge(source, consumer.name, partition, done),
    };
  }

  /**
   * The broker's unrouted messages, taken to every consumer in its partition: a type nobody
   * handles is skipped, an unknown one dead-lettered for each (replayable once a handler
   * exists), one a consumer handles (bound after it was published) handled.
   */
  private unroutedFeed(): Feed {
    const everyone = this.options.topology ?? this.options.consumers;
    return {
      log: { consumer: UNROUTED },
      open: () => this.options.transport.openUnrouted!(),
      handle: async (delivery, signal) => {
        this.options.onUnrouted?.();
        for (const consumer of everyone) {
          const partition = delivery.kind === 'event' ? partitionOf(delivery.event.streamId, consumer.partitions) : 0;
          const outcome = await processDelivery(this.options.pool, consumer, partition, delivery, {
            signal,
            onRetry: () => this.options.onRetry?.(consumer.name),
          });
          this.options.onDelivery?.(consumer.name, outcome);
        }
      },
      acknowledge: (source, done) => source.ack(done),
    };
  }

  /** One instance at a time drains the unrouted queue; another takes over when it dies. */
  private async drainUnrouted(): Promise<void> {
    const signal = this.abort.signal;
    const lock = this.lock(UNROUTED_LOCK_NAME, UNROUTED);
    let owner: AbortController | undefined;
    lock.onLost(() => owner?.abort());
    const stopOwner = () => owner?.abort();
    signal.addEventListener('abort', stopOwner);
    while (!signal.aborted) {
      if (await lock.tryAcquire()) {
        owner = new AbortController();
        await this.consume(this.unroutedFeed(), owner.signal);
        owner = undefined;
        await lock.release();
      }
      await pause(this.options.rebalanceIntervalMs ?? 1000, signal);
    }
    signal.removeEventListener('abort', stopOwner);
    await lock.release();
  }

  /** The loop of one owned feed: fetch, handle in order, acknowledge; rewind on failure. */
  private async consume(feed: Feed, signal: AbortSignal): Promise<void> {
    const { logger } = this.options;
    let source: PartitionSource | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        source ??= await feed.open();
        const deliveries = await source.fetch(this.options.batchSize ?? 100, this.options.pollIntervalMs ?? 1000);
        let done = 0;
        try {
          for (const delivery of deliveries) {
            if (signal.aborted) break;
            await feed.handle(delivery, signal);
            done++;
          }
        } finally {
          // Acknowledge what was finished even when the batch stopped half-way.
          if (done > 0) await feed.acknowledge(source, deliveries.slice(0, done));
        }
        if (done < deliveries.length && !signal.aborted) await source.rewind();
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        const delay = backoffDelay(failures++, this.options.backoff ?? { initialMs: 200, maxMs: 10_000 });
        logger.warn(
          { err: (err as Error).message, ...feed.log, retryInMs: delay },
          'consumer cannot proceed; retrying',
        );
        await source?.rewind().catch(async () => {
          await source?.close().catch(() => undefined);
          source = undefined;
        });
        await pause(delay, signal);
      }
    }
    await source?.close().catch(() => undefined);
  }
}
