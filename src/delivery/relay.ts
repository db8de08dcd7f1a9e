import type { Logger } from '../logger';
import { publishSpans } from './spans';
import type { Pool } from '../store/pool';
import type { ConsumerTopology, Publisher, Transport } from './contract';
import { backoffDelay } from '../util/backoff';
import { pause } from '../util/pause';
import { AdvisoryLock, loggedTakeover } from './leader-lock';
import { positionOf, type LogPosition, type RawEvent } from './contract';
import { advanceCheckpoint, CheckpointConflictError, loadCheckpoint, readCommitted } from './reader';
import type { EventsWakeup } from './wakeup';

/** The relay's checkpoint row (one per transport, so switching brokers starts that broker afresh). */
export const relaySubscriber = (transport: string): string => `relay:${transport}`;
/** The advisory lock the one active relay of a transport holds. */
export const relayLockName = (transport: string): string => `saga:${relaySubscriber(transport)}`;

export interface RelayOptions {
  pool: Pool;
  /** For the leader lock's own connection. */
  connectionString: string;
  transport: Transport;
  /** Every consumer's queues, declared before the first publish. */
  topology: readonly ConsumerTopology[];
  wakeup: EventsWakeup;
  logger: Logger;
  /** Events per publish batch. Default 500. */
  batchSize?: number;
  /**
   * Batches published before the oldest one's confirms are awaited: with 2 the next batch is
   * read and sent while the broker confirms the last one. Default: the transport's
   * `relayPipelineDepth` (RabbitMQ 2, NATS 1).
   */
  pipelineDepth?: number;
  /** Poll interval when no notification arrives. Default 1 s. */
  pollIntervalMs?: number;
  /** How often a standby tries to become the active relay. Default 1 s. */
  standbyRetryMs?: number;
  /**
   * How long the active relay may stop answering (frozen, not dead: its connection and lock
   * stay) before a standby ends its lock connection and takes over. Default 10 s.
   */
  takeoverAfterMs?: number;
  /** Backoff while the broker is down. Defaults 200 ms doubling to 10 s, with jitter. */
  backoff?: { initialMs: number; maxMs: number };
  /** Called after each confirmed batch (metrics). */
  onPublished?: (count: number) => void;
}

export type RelayRole = 'starting' | 'standby' | 'active' | 'stopped';

/** A batch sent to the broker whose confirms may still be outstanding. */
interface InFlightBatch {
  count: number;
  /** The position of its last event: the checkpoint once it is confirmed. */
  to: LogPosition;
  confirmed: Promise<void>;
}

/**
 * Reads committed events in order, publishes them in batches with confirms, and moves its
 * checkpoint past a batch only once the broker confirmed it and every batch before it. Exactly one relay is active (advisory lock); the others are hot
 * standbys that take over when the active one's connection ends, or when it stops answering
 * (`takeoverAfterMs`: a frozen relay's connection stays open). A crash between the
 * publish and the checkpoint re-publishes that batch: brokers deduplicate (NATS, by
 * Nats-Msg-Id) or consumers do (the inbox).
 */
export class Relay {
  private running = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private publisher: Publisher | undefined;
  private readonly lock: AdvisoryLock;
  role: RelayRole = 'starting';
  lastError: string | undefined;
  published = 0;

  constructor(private readonly options: RelayOptions) {
    this.lock = new AdvisoryLock(
      options.connectionString,
      relayLockName(options.transport.kind),
      'saga-relay',
      // Standbys keep their connection between tries: /delivery counts them.
      'saga-relay-standby',
      loggedTakeover(options.logger, 'the active relay', options.takeoverAfterMs),
    );
  }

  get subscriber(): string {
    return relaySubscriber(this.options.transport.kind);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    this.options.wakeup.wakeAll();
    await this.loop;
    await this.publisher?.close();
    this.publisher = undefined;
    await this.lock.release();
    this.role = 'stopped';
  }

  private async run(): Promise<void> {
    const { logger, pool } = this.options;
    const depth = Math.max(1, this.options.pipelineDepth ?? this.options.transport.relayPipelineDepth);
    let failures = 0;
    /** The stored checkpoint, and where the next read starts (past the batches in flight). */
    let committed: LogPosition | undefined;
    let readFrom: LogPosition | undefined;
    const inFlight: InFlightBatch[] = [];
    while (this.running) {
      if (!this.lock.held) {
        await settle(inFlight);
        committed = readFrom = undefined;
        if (!(await this.lock.tryAcquire())) {
          if (this.role !== 'standby') logger.info('relay on standby: another relay is active');
          this.role = 'standby';
          await pause(this.options.standbyRetryMs ?? 1000, this.abort.signal);
          continue;
        }
        logger.info({ subscriber: this.subscriber }, 'relay is active');
        this.role = 'active';
      }
      try {
        this.publisher ??= await this.options.transport.createPublisher(this.options.topology);
        if (!committed || !readFrom) readFrom = committed = await loadCheckpoint(pool, this.subscriber);
        if (inFlight.length < depth) {
          const seen = this.options.wakeup.generation;
          const events = await readCommitted(pool, readFrom, this.options.batchSize ?? 500);
          if (events.length > 0) {
            inFlight.push(this.send(this.publisher, events));
            readFrom = positionOf(events.at(-1)!);
            continue;
          }
          if (inFlight.length === 0) {
            await this.options.wakeup.wait(this.options.pollIntervalMs ?? 1000, seen);
            continue;
          }
        }
        committed = await this.confirmOldest(inFlight, committed);
        if (failures > 0) logger.info({ afterFailures: failures }, 'relay publishing again');
        failures = 0;
        this.lastError = undefined;
      } catch (err) {
        // Whatever is still in flight is published again from the checkpoint.
        await settle(inFlight);
        committed = readFrom = undefined;
        this.lastError = (err as Error).message;
        if (err instanceof CheckpointConflictError) {
          logger.warn('relay checkpoint moved by another relay; standing down');
          await this.lock.release();
          continue;
        }
        await this.publisher?.close();
        this.publisher = undefined;
        const delay = backoffDelay(failures++, this.options.backoff ?? { initialMs: 200, maxMs: 10_000 });
        logger.warn({ err: (err as Error).message, retryInMs: delay }, 'relay cannot publish; retrying');
        await pause(delay, this.abort.signal);
      }
    }
    // Stopping: the batches already sent are confirmed and checkpointed, not published twice.
    try {
      while (inFlight.length > 0 && committed && this.lock.held) {
        committed = await this.confirmOldest(inFlight, committed);
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'relay stopped before its last batch was confirmed');
    }
    await settle(inFlight);
  }

  /** Sends a batch; its confirms are awaited later, in order, by `confirmOldest`. */
  private send(publisher: Publisher, events: RawEvent[]): InFlightBatch {
    const spans = publishSpans(events, this.options.transport.kind);
    const confirmed = publisher.publish(events, spans.traceparents).then(
      () => spans.end(),
      (err: unknown) => {
        spans.end(err);
        throw err;
      },
    );
    // Awaited in order later; a rejection before then is not an unhandled one.
    confirmed.catch(() => undefined);
    return { count: events.length, to: positionOf(events.at(-1)!), confirmed };
  }

  /** Awaits the oldest batch's confirms and moves the checkpoint past it; returns the new checkpoint. */
  private async confirmOldest(inFlight: InFlightBatch[], from: LogPosition): Promise<LogPosition> {
    const batch = inFlight[0]!;
    await batch.confirmed;
    // A relay that lost its lock mid-publish must not move the checkpoint: the CAS refuses.
    await advanceCheckpoint(this.options.pool, this.subscriber, from, batch.to);
    inFlight.shift();
    this.options.logger.debug({ events: batch.count, from, to: batch.to }, 'relay published a batch');
    this.published += batch.count;
    this.options.onPublished?.(batch.count);
    return batch.to;
  }
}

/** Waits until every batch in flight has its answer (whatever it is) and forgets them. */
async function settle(inFlight: InFlightBatch[]): Promise<void> {
  await Promise.allSettled(inFlight.map((b) => b.confirmed));
  inFlight.length = 0;
}
