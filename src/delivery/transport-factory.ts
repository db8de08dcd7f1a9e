import type { EventsWakeup } from './wakeup';
import type { Pool } from '../store/pool';
import { createNatsTransport } from './transports/nats';
import { createPostgresTransport } from './transports/postgres';
import { createRabbitMqTransport } from './transports/rabbitmq';
import type { Transport, TransportKind } from './contract';

export interface TransportSettings {
  kind: TransportKind;
  amqpUrl?: string | undefined;
  natsUrl?: string | undefined;
  /** Broker resource names (tests isolate runs with these). Defaults: saga.events / saga / SAGA_EVENTS / events. */
  names?: { exchange?: string; queuePrefix?: string; stream?: string; subjectPrefix?: string };
}

/** The transport settings of a configuration (`TRANSPORT`, `AMQP_URL`, `NATS_URL`). */
export const transportSettings = (config: {
  transport: TransportKind;
  amqpUrl?: string | undefined;
  natsUrl?: string | undefined;
}): TransportSettings => ({
  kind: config.transport,
  amqpUrl: config.amqpUrl,
  natsUrl: config.natsUrl,
});

/** The transport `TRANSPORT` names (config validation guarantees its URL is set). */
export function createTransport(settings: TransportSettings, deps: { pool: Pool; wakeup: EventsWakeup }): Transport {
  switch (settings.kind) {
    case 'postgres':
      return createPostgresTransport(deps);
    case 'rabbitmq':
      return createRabbitMqTransport({ url: settings.amqpUrl!, ...settings.names });
    case 'nats':
      return createNatsTransport({ url: settings.natsUrl!, ...settings.names });
  }
}
