import type { Logger } from '../logger';
import { publishSpans } from '../telemetry/delivery-spans';
import type { Pool } from '../store/pool';
import type { ConsumerTopology, Publisher, Transport } from '../transports/transport';
import { backoffDelay } from '../util/backoff';
import { pause } from '../util/pause';
import { AdvisoryLock } from './leader-lock';
import {
  advanceCheckpoint,
  CheckpointConflictError,
  loadCheckpoint,
  positionOf,
  readCommitted,
  type LogPosition,
} from './reader';
import type { EventsWakeup } from './wakeup';

/** The relay's checkpoint row (one per transport, so switching brokers starts that broker afresh). */
export const relaySubscriber = (transport: string): string => `relay:${transport}`;

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
  /** Poll interval when no notification arrives. Default 1 s. */
  pollIntervalMs?: number;
  /** How often a standby tries to become the active relay. Default 1 s. */
  standbyRetryMs?: number;
  /** Backoff while the broker is down. Defaults 200 ms doubling to 10 s, with jitter. */
  backoff?: { initialMs: number; maxMs: number };
  /** Called after each confirmed batch (metrics). */
  onPublished?: (count: number) => void;
}

export type RelayRole = 'starting' | 'standby' | 'active' | 'stopped';

/**
 * Reads committed events in order, publishes them in batches with confirms, and only then
 * moves its checkpoint. Exactly one relay is active (advisory lock); the others are hot
 * standbys that take over when the active one's connection ends. A crash between the
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
      `saga:${relaySubscriber(options.transport.kind)}`,
      'saga-relay',
      // Standbys keep their connection between tries: /delivery counts them.
      'saga-relay-standby',
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
    const { logger } = this.options;
    let failures = 0;
    let position: LogPosition | undefined;
    while (this.running) {
      if (!this.lock.held) {
        position = undefined;
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
        position ??= await loadCheckpoint(this.options.pool, this.subscriber);
        const seen = this.options.wakeup.generation;
        const events = await readCommitted(this.options.pool, position, this.options.batchSize ?? 500);
        if (events.length === 0) {
          await this.options.wakeup.wait(this.options.pollIntervalMs ?? 1000, seen);
          continue;
        }
        const spans = publishSpans(events, this.options.transport.kind);
        try {
          await this.publisher.publish(events, spans.traceparents);
          spans.end();
        } catch (err) {
          spans.end(err);
          throw err;
        }
        // A relay that lost its lock mid-publish must not move the checkpoint: the CAS refuses.
        const to = positionOf(events.at(-1)!);
        await advanceCheckpoint(this.options.pool, this.subscriber, position, to);
        logger.debug({ events: events.length, from: position, to }, 'relay published a batch');
        position = to;
        this.published += events.length;
        this.options.onPublished?.(events.length);
        if (failures > 0) logger.info({ afterFailures: failures }, 'relay publishing again');
        failures = 0;
        this.lastError = undefined;
      } catch (err) {
        position = undefined;
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
  }
}
