import { positionOf, type LogPosition } from '../contract';
import { advanceCheckpoint, loadCheckpoint, readCommitted } from '../reader';
import type { EventsWakeup } from '../wakeup';
import type { Pool } from '../../store/pool';
import {
  BrokerUnavailableError,
  type ConsumerTopology,
  type Delivery,
  type PartitionSource,
  type Transport,
} from '../contract';

/**
 * The checkpoint row of one consumer partition: `consumer:<name>:<partition>` reading the log
 * directly, `consumer:<name>:<partition>:<transport>` as a progress marker behind a broker.
 */
export const consumerSubscriber = (consumer: string, partition: number, transport = 'postgres'): string =>
  `consumer:${consumer}:${partition}${transport === 'postgres' ? '' : `:${transport}`}`;

/**
 * Each consumer partition reads the events table itself with its own checkpoint: no broker,
 * no relay. A batch is acknowledged by moving the checkpoint past it (compare-and-set).
 */
class PostgresPartitionSource implements PartitionSource {
  private cursor: LogPosition;

  constructor(
    private readonly pool: Pool,
    private readonly wakeup: EventsWakeup,
    private readonly subscriber: string,
    private committed: LogPosition,
  ) {
    this.cursor = committed;
  }

  async fetch(max: number, waitMs: number): Promise<Delivery[]> {
    const seen = this.wakeup.generation;
    let events = await readCommitted(this.pool, this.cursor, max);
    if (events.length === 0) {
      await this.wakeup.wait(waitMs, seen);
      events = await readCommitted(this.pool, this.cursor, max);
    }
    if (events.length) this.cursor = positionOf(events.at(-1)!);
    return events.map((event) => ({ kind: 'event', event }));
  }

  async ack(deliveries: Delivery[]): Promise<void> {
    const last = deliveries.at(-1);
    if (!last || last.kind !== 'event') return;
    const to = positionOf(last.event);
    await advanceCheckpoint(this.pool, this.subscriber, this.committed, to);
    this.committed = to;
  }

  async rewind(): Promise<void> {
    this.cursor = this.committed;
  }

  async close(): Promise<void> {}
}

export function createPostgresTransport(deps: { pool: Pool; wakeup: EventsWakeup }): Transport {
  return {
    kind: 'postgres',
    needsRelay: false,
    relayPipelineDepth: 1,
    async createPublisher() {
      throw new BrokerUnavailableError('The postgres transport has no broker to publish to: consumers read the log');
    },
    async openPartition(topology: ConsumerTopology, partition: number) {
      const subscriber = consumerSubscriber(topology.consumer, partition);
      const committed = await loadCheckpoint(deps.pool, subscriber);
      return new PostgresPartitionSource(deps.pool, deps.wakeup, subscriber, committed);
    },
    async close() {},
  };
}
