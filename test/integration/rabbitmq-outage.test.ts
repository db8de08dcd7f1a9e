// RabbitMQ going away under load: \`rabbitmqctl stop_app\` while writers keep appending, then
// \`start_app\`. Every event must take effect exactly once, in stream order. It stops the broker
// every other file shares, so no other file runs meanwhile.
import { sharedRabbitMq } from '../../chaos/broker';
import { findOnPath } from '../../src/util/executable';
import { isReachable } from '../../src/util/free-port';
import { waitFor } from '../../src/util/wait';
import {
  atEnd,
  BROKER_URL,
  brokerMissing,
  createWorld,
  deliveries,
  describeIf,
  expectEveryEventOnceInOrder,
  handled,
  Load,
  note,
  OUTAGE_BACKLOG,
  startHere,
  stored,
  undoAfterEach,
} from '../helpers/delivery-faults';
import { exclusively } from '../helpers/suite-locks';

exclusively('rabbitmq');
const RABBITMQCTL = findOnPath('rabbitmqctl');
undoAfterEach();

describeIf(
  brokerMissing('rabbitmq') ?? (RABBITMQCTL ? null : 'rabbitmqctl is not on PATH'),
  'RabbitMQ outage under load',
  () => {
    test('rabbitmqctl stop_app, writers keep appending, start_app: every event once, in order', async () => {
      const world = await createWorld('rabbitmq', { partitions: 2 });
      const { delivery, registry } = await startHere(world, { relay: true });
      const { pool } = world.db;
      const amqp = new URL(BROKER_URL.rabbitmq!);
      // The chaos suite's handle on the shared broker: stop_app / start_app, never left stopped.
      const rabbit = await sharedRabbitMq(BROKER_URL.rabbitmq!);
      atEnd('start RabbitMQ again if it is stopped', () => rabbit.close());

      const load = new Load(pool, { writers: 6, streamsPerWriter: 8, pauseMs: 10 });
      atEnd('stop the load', () => load.stop());
      await waitFor(async () => (await handled(pool)) >= 300, { timeoutMs: 30_000, description: 'delivery' });

      const stoppedAt = Date.now();
      try {
        await rabbit.kill();
        expect(await isReachable(amqp.hostname, Number(amqp.port || 5672))).toBe(false);
        const appendedAtStop = load.appended;
        // The relay notices: its next publish fails.
        await waitFor(() => delivery.relay!.lastError, { timeoutMs: 15_000, description: 'the relay to fail' });
        // Load while the broker is down: a backlog of events committed behind its back.
        await waitFor(() => load.appended >= appendedAtStop + OUTAGE_BACKLOG, {
          timeoutMs: 30_000,
          description: 'events appended while RabbitMQ is down',
        });
        expect(load.appended).toBeGreaterThan(appendedAtStop);
      } finally {
        await rabbit.start();
      }
      const startedAt = Date.now();

      // Everything written up to the restart is delivered while writers go on, then they stop.
      const storedAtStart = await stored(pool);
      await waitFor(async () => (await handled(pool)) > storedAtStart, {
        timeoutMs: 45_000,
        description: 'delivery to catch up after start_app',
      });
      const caughtUpAt = Date.now();
      await load.stop();
      const total = await expectEveryEventOnceInOrder(world);
      note(
        `rabbitmq outage: down ${startedAt - stoppedAt} ms (stop_app..start_app), caught up ${caughtUpAt - startedAt} ms ` +
          `later; ${total} events, ${await deliveries(registry, 'duplicate')} duplicate deliveries absorbed`,
      );
    });
  },
);
