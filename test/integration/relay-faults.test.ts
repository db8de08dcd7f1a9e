// Faults on the way from the log to the consumers: the relay killed with SIGKILL mid-publish
// and restarted, the active relay killed while a standby waits, and NATS going away under load
// (RabbitMQ's outage is rabbitmq-outage.test.ts: it stops the shared broker, so it runs alone).
// Whatever happens, every event must take effect exactly once, in stream order.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { deliveryStatus } from '../../src/delivery/status';
import type { TransportKind } from '../../src/delivery/contract';
import { findOnPath } from '../../src/util/executable';
import { ownNatsServer } from '../../chaos/broker';
import { waitFor } from '../../src/util/wait';
import {
  atEnd,
  backlogWhileDown,
  brokerMissing,
  catchUpAfterOutage,
  createWorld,
  deliveries,
  describeIf,
  expectEveryEventOnceInOrder,
  handled,
  handledPastCheckpoint,
  killChild,
  Load,
  loadUnderWay,
  note,
  startHere,
  streamMessages,
  undoAfterEach,
  type World,
} from '../helpers/delivery-faults';

const ROOT = path.resolve(__dirname, '../..');
const NATS_SERVER = findOnPath('nats-server');
undoAfterEach();

interface RelayProcess {
  child: ChildProcess;
  /** The role from the latest `state` line. */
  role(): string | undefined;
  /** Everything but `state` lines, for failure messages. */
  log(): string;
}

/** A relay in its own process (test/helpers/delivery-process.ts), on the same broker names. */
function startRelayProcess(world: World, env: Record<string, string> = {}): Promise<RelayProcess> {
  // `node --import tsx` (not the tsx CLI, which runs a second process): SIGKILL must hit the relay itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/delivery-process.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DELIVERY_DATABASE_URL: world.db.url,
      DELIVERY_TRANSPORT: JSON.stringify(world.settings),
      DELIVERY_ROLE: 'relay',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  atEnd('kill a relay process', () => killChild(child));
  let log = '';
  let partial = '';
  let role: string | undefined;
  const relay: RelayProcess = { child, role: () => role, log: () => log };
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('state ')) role = (JSON.parse(line.slice('state '.length)) as { relay?: string }).relay;
        else log += `${line}\n`;
        if (line === 'delivery ready') resolve(relay);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.once('exit', (code, signal) =>
      reject(new Error(`relay process exited (${code ?? signal}) before it was ready:\n${log}`)),
    );
  });
}

/** Two relay processes as deployed; resolves once one is active and the other stands by. */
async function startActiveAndStandby(world: World, env: Record<string, string> = {}) {
  const relays = await Promise.all([startRelayProcess(world, env), startRelayProcess(world, env)]);
  return waitFor(
    () => {
      const active = relays.find((r) => r.role() === 'active');
      const standby = relays.find((r) => r.role() === 'standby');
      return active && standby ? ([active, standby] as const) : undefined;
    },
    { timeoutMs: 15_000, description: 'one active and one standby relay' },
  );
}

/**
 * Kills the relay process between a publish and its checkpoint. Freezes it (SIGSTOP), lets
 * the consumer take what the broker already holds, and looks for handled events past the
 * relay's checkpoint: they prove a batch is out but not checkpointed, so SIGKILL now. Else
 * let it run a moment longer and look again.
 */
async function killWhilePublishing(relay: RelayProcess, world: World, kind: TransportKind) {
  const { pool } = world.db;
  for (let probe = 1; probe <= 60; probe++) {
    relay.child.kill('SIGSTOP');
    let last = -1;
    let still = 0;
    const deadline = Date.now() + 5000;
    while (still < 3 && Date.now() < deadline) {
      const past = await handledPastCheckpoint(pool, kind);
      if (past > 0) {
        await killChild(relay.child);
        return { probe, past };
      }
      const now = await handled(pool);
      still = now === last ? still + 1 : 0;
      last = now;
      await sleep(100);
    }
    relay.child.kill('SIGCONT');
    await sleep(20 + Math.random() * 80);
  }
  throw new Error(`The relay was never caught between a publish and its checkpoint:\n${relay.log()}`);
}

// ---------------------------------------------------------------------------------------------

const BROKERS = ['rabbitmq', 'nats'] as const;

for (const kind of BROKERS) {
  describeIf(brokerMissing(kind), `relay process faults over ${kind}`, () => {
    test('a relay killed with SIGKILL between publish and checkpoint is restarted: every event once, in order', async () => {
      const world = await createWorld(kind);
      const { registry } = await startHere(world, { relay: false });
      const { pool } = world.db;

      // A backlog first, so the relay starts with full batches; writers keep appending.
      const load = new Load(pool, { writers: 6, streamsPerWriter: 8 });
      atEnd('stop the load', () => load.stop());
      await waitFor(() => load.appended >= 1500, { timeoutMs: 30_000, description: 'a backlog' });
      // Then a trickle the consumer keeps up with even on a busy machine (at 15 ms a writer, a
      // CI run with three files at a time piled up 14,500 events the drain did not finish in 60 s).
      load.pauseMs = 40;

      const first = await startRelayProcess(world);
      await waitFor(async () => (await handled(pool)) >= 300, {
        timeoutMs: 30_000,
        description: 'the first relay to deliver',
      });
      const { probe, past } = await killWhilePublishing(first, world, kind);
      expect(first.child.signalCode).toBe('SIGKILL');
      note(`${kind}: relay killed at probe ${probe}, ${past} handled events past its checkpoint`);

      // The log grows while no relay runs; the next one starts from the old checkpoint.
      const appendedAtKill = load.appended;
      await waitFor(() => load.appended >= appendedAtKill + 500, { timeoutMs: 30_000, description: 'more events' });
      await load.stop();
      const second = await startRelayProcess(world);
      const total = await expectEveryEventOnceInOrder(world);
      expect(second.role()).toBe('active');

      const duplicates = await deliveries(registry, 'duplicate');
      note(`${kind}: ${total} events, ${duplicates} duplicate deliveries absorbed by the inbox`);
      if (kind === 'rabbitmq') {
        // The re-published batch reached the consumer again; the inbox gave it no second effect.
        expect(duplicates).toBeGreaterThanOrEqual(past);
      } else {
        // JetStream recognised the re-published batch by Nats-Msg-Id: no second message at all.
        expect(await streamMessages(world.settings)).toBe(total);
      }
    });

    test('the active relay killed with SIGKILL: the standby takes over and every event arrives once, in order', async () => {
      const world = await createWorld(kind);
      await startHere(world, { relay: false });
      const { pool } = world.db;

      const [active, standby] = await startActiveAndStandby(world);
      // What an operator sees (GET /delivery): the active relay and its standby.
      const relayFigures = async () => (await deliveryStatus(pool, kind, [])).relay;
      await waitFor(async () => ((await relayFigures())?.standbys === 1 ? true : undefined), {
        timeoutMs: 15_000,
        description: 'the delivery status to count one standby relay',
      });
      expect(await relayFigures()).toMatchObject({ active: true, standbys: 1 });

      const load = new Load(pool, { writers: 6, streamsPerWriter: 8, max: 3000 });
      atEnd('stop the load', () => load.stop());
      await waitFor(async () => (await handled(pool)) >= 500, {
        timeoutMs: 30_000,
        description: 'the active relay to deliver',
      });
      const handledAtKill = await handled(pool);
      await killChild(active.child);
      const killedAt = Date.now();
      await waitFor(() => standby.role() === 'active', {
        timeoutMs: 15_000,
        description: 'the standby to report itself active',
      });
      const takeoverMs = Date.now() - killedAt;
      expect(handledAtKill).toBeLessThan(3000); // killed mid-flight
      await waitFor(async () => ((await relayFigures())?.standbys === 0 ? true : undefined), {
        timeoutMs: 15_000,
        description: 'the delivery status to count no standby once it took over',
      });
      expect(await relayFigures()).toMatchObject({ active: true, standbys: 0 });

      await load.done();
      const total = await expectEveryEventOnceInOrder(world);
      note(`${kind}: standby active ${takeoverMs} ms after the kill; ${total} events`);
    });
  });
}

describeIf(brokerMissing('rabbitmq'), 'a relay that hangs', () => {
  test('the active relay frozen, its connection open: the standby takes over once it stays silent, every event arrives once, and run again it stands by', async () => {
    const world = await createWorld('rabbitmq');
    await startHere(world, { relay: false });
    const { pool } = world.db;
    // A short takeover for the test (the default is 10 s); the relays log their warnings.
    const env = { DELIVERY_TAKEOVER_MS: '1500', DELIVERY_LOG_LEVEL: 'warn' };
    const [active, standby] = await startActiveAndStandby(world, env);

    const load = new Load(pool, { writers: 6, streamsPerWriter: 8, max: 3000 });
    atEnd('stop the load', () => load.stop());
    await waitFor(async () => (await handled(pool)) >= 500, {
      timeoutMs: 30_000,
      description: 'the active relay to deliver',
    });
    // Frozen, not dead: its process, connections and lock stay; only it no longer answers.
    active.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    await waitFor(() => standby.role() === 'active', {
      timeoutMs: 20_000,
      description: 'the standby to take over from the frozen relay',
    });
    const takeoverMs = Date.now() - frozenAt;
    expect(standby.log()).toContain('the active relay stopped answering; ended its lock connection');

    await load.done();
    const total = await expectEveryEventOnceInOrder(world);
    // Run again, the frozen relay finds its lock gone and stands by behind the new active one.
    active.child.kill('SIGCONT');
    await waitFor(() => active.role() === 'standby', {
      timeoutMs: 15_000,
      description: 'the relay that was frozen to stand by',
    });
    expect(standby.role()).toBe('active');
    note(`rabbitmq: standby active ${takeoverMs} ms after the active relay froze; ${total} events`);
  });
});

// ---------------------------------------------------------------------------------------------

describeIf(
  NATS_SERVER ? null : 'nats-server is not on PATH',
  'NATS outage under load (a nats-server of its own)',
  () => {
    test('nats-server killed with SIGKILL and restarted on its store: every event once, in order', async () => {
      const storeDir = await mkdtemp(path.join(os.tmpdir(), 'saga-nats-'));
      atEnd('remove the NATS store', () => rm(storeDir, { recursive: true, force: true }));
      // The chaos suite's own nats-server: SIGKILLed and restarted on its store.
      const server = await ownNatsServer(storeDir);
      // Registered before the world's clean-up, so it runs after: delivery stops against a live server.
      atEnd('kill nats-server', () => server.close());

      const world = await createWorld('nats', { natsUrl: server.env.NATS_URL, partitions: 2 });
      const { registry } = await startHere(world, { relay: true });

      const load = await loadUnderWay(world);

      const killedAt = Date.now();
      await server.kill();
      await backlogWhileDown(load, load.appended, 'NATS');
      await server.start();
      const startedAt = Date.now();
      const { caughtUpMs, total } = await catchUpAfterOutage(world, load, 'the restart');
      const messages = await streamMessages(world.settings);
      note(
        `nats outage: down ${startedAt - killedAt} ms, caught up ${caughtUpMs} ms later; ${total} events, ` +
          `${messages} messages in the stream, ${await deliveries(registry, 'duplicate')} duplicate deliveries absorbed`,
      );
      // Batches re-published after the outage were recognised by Nats-Msg-Id (the store kept them).
      expect(messages).toBe(total);
    });
  },
);
