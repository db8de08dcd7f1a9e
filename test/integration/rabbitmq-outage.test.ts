// RabbitMQ going away under load: \`rabbitmqctl stop_app\` while writers keep appending, then
// \`start_app\`. Every event must take effect exactly once, in stream order. It stops the broker
// every other file shares, so no other file runs meanwhile.
import { sharedRabbitMq } from '../../chaos/broker';
import { findOnPath } from '../../src/util/executable';
import { isReachable } from '../../src/util/free-port';
import { waitFor } from '../../src/util/wait';
import {
  atEnd,
  backlogWhileDown,
  BROKER_URL,
  brokerMissing,
  catchUpAfterOutage,
  createWorld,
  deliveries,
  describeIf,
  loadUnderWay,
  note,
  startHere,
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
      const amqp = new URL(BROKER_URL.rabbitmq!);
      // The chaos suite's handle on the shared broker: stop_app / start_app, never left stopped.
      const rabbit = await sharedRabbitMq(BROKER_URL.rabbitmq!);
      atEnd('start RabbitMQ again if it is stopped', () => rabbit.close());

      const load = await loadUnderWay(world);

      const stoppedAt = Date.now();
      try {
        await rabbit.kill();
        expect(await isReachable(amqp.hostname, Number(amqp.port || 5672))).toBe(false);
        const appendedAtStop = load.appended;
        // The relay notices: its next publish fails.
        await waitFor(() => delivery.relay!.lastError, { timeoutMs: 15_000, description: 'the relay to fail' });
        await backlogWhileDown(load, appendedAtStop, 'RabbitMQ');
      } finally {
        await rabbit.start();
      }
      const startedAt = Date.now();
      const { caughtUpMs, total } = await catchUpAfterOutage(world, load, 'start_app');
      note(
        `rabbitmq outage: down ${startedAt - stoppedAt} ms (stop_app..start_app), caught up ${caughtUpMs} ms ` +
          `later; ${total} events, ${await deliveries(registry, 'duplicate')} duplicate deliveries absorbed`,
      );
    });
  },
);
