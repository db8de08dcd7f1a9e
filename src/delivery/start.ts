import type { Registry } from 'prom-client';
import type { ConsumerDefinition } from './consumer';
import { topologyOf } from './consumer';
import { ConsumerRunner } from './consumer-runner';
import type { Logger } from '../logger';
import { Relay } from './relay';
import { EventsWakeup } from './wakeup';
import type { Pool } from '../store/pool';
import { createDeliveryCounters } from './metrics';
import { createTransport, type TransportSettings } from './transport-factory';

export interface DeliveryOptions {
  pool: Pool;
  connectionString: string;
  transport: TransportSettings;
  /** Consumers to run here; none: this process only relays. */
  consumers: readonly ConsumerDefinition[];
  /** Run the relay here (ignored for the postgres transport, which needs none). */
  relay: boolean;
  /** Every consumer in the system: the relay declares their queues before publishing. */
  topology: readonly ConsumerDefinition[];
  logger: Logger;
  /** Where counters go (the process's /metrics). */
  registry?: Registry;
  /** Tuning for tests: poll and rebalance intervals. */
  intervals?: { pollMs?: number; rebalanceMs?: number; standbyMs?: number };
  /**
   * How long the active relay, or a consumer instance, may stop answering before a standby or
   * another instance takes its work over (RelayOptions and ConsumerRunnerOptions; default 10 s).
   */
  takeoverAfterMs?: number;
  /** The relay's batches in flight (RelayOptions.pipelineDepth, default 2; the bench compares 1). */
  relayPipelineDepth?: number;
}

export interface Delivery {
  relay: Relay | undefined;
  runner: ConsumerRunner | undefined;
  stop(): Promise<void>;
}

/** Starts the relay (broker transports) and the consumers of one process. */
export async function startDelivery(options: DeliveryOptions): Promise<Delivery> {
  const { logger } = options;
  const wakeup = new EventsWakeup({ connectionString: options.connectionString, logger });
  wakeup.start();
  const transport = createTransport(options.transport, { pool: options.pool, wakeup });
  const counters = options.registry
    ? createDeliveryCounters(
        options.registry,
        options.consumers.map((c) => c.name),
      )
    : undefined;

  const relay =
    options.relay && transport.needsRelay
      ? new Relay({
          pool: options.pool,
          connectionString: options.connectionString,
          transport,
          topology: options.topology.map(topologyOf),
          wakeup,
          logger: logger.child({ component: 'relay' }),
          pollIntervalMs: options.intervals?.pollMs,
          standbyRetryMs: options.intervals?.standbyMs,
          takeoverAfterMs: options.takeoverAfterMs,
          pipelineDepth: options.relayPipelineDepth,
          onPublished: (n) => counters?.published(transport.kind, n),
        })
      : undefined;
  relay?.start();

  let runner: ConsumerRunner | undefined;
  if (options.consumers.length) {
    // At zero from the start where a broker can hold unrouted messages, so an alert sees the first.
    if (transport.openUnrouted) counters?.unrouted(transport.kind, 0);
    runner = new ConsumerRunner({
      pool: options.pool,
      connectionString: options.connectionString,
      transport,
      consumers: options.consumers,
      topology: options.topology,
      logger: logger.child({ component: 'consumers' }),
      pollIntervalMs: options.intervals?.pollMs,
      rebalanceIntervalMs: options.intervals?.rebalanceMs,
      takeoverAfterMs: options.takeoverAfterMs,
      onDelivery: counters?.delivered,
      onRetry: counters?.retried,
      onUnrouted: () => counters?.unrouted(transport.kind),
    });
    await runner.start();
  }

  return {
    relay,
    runner,
    async stop() {
      await runner?.stop();
      await relay?.stop();
      await wakeup.close();
      await transport.close();
    },
  };
}
