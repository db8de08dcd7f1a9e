import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import amqp from 'amqplib';
import type { Pausable, Restartable } from '../src/cluster/cluster';
import { CONSUMERS } from '../src/consumers';
import { partitionPatterns } from '../src/delivery/transports/codec';
import { STREAM } from '../src/delivery/transports/nats';
import { EXCHANGE, queueName, unroutedExchange, unroutedQueue } from '../src/delivery/transports/rabbitmq';
import { findOnPath } from '../src/util/executable';
import { freePort, isReachable } from '../src/util/free-port';
import { isAlive } from '../src/util/process-alive';
import { signalIfAlive } from '../src/util/process-tree';
import { waitFor } from '../src/util/wait';
import type { BrokerLog } from './invariants';

/** The broker under test: its URL for the roles, and how to take it down, freeze it and bring it back. */
export interface ChaosBroker extends Restartable, Pausable {
  transport: 'nats' | 'rabbitmq';
  /** Variables the roles need to reach it. */
  env: Record<string, string>;
  /** Called once the topology runs, before the first order: starts recording what is published. */
  record(): Promise<void>;
  /** What the broker holds of the events published so far (read without consuming it). */
  published(): Promise<BrokerLog>;
  /** Leaves it running (RabbitMQ: resumed, started, its audit queue deleted) or stops it (our own nats-server). */
  close(): Promise<void>;
}

const execFileAsync = promisify(execFile);

/** Gives up on a read of the broker that does not finish (a broker that answers nothing). */
function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A nats-server of the suite's own (JetStream stored under `dataDir`), so it can be killed
 * with SIGKILL and restarted on its store without touching anyone else's broker.
 */
export async function ownNatsServer(dataDir: string): Promise<ChaosBroker> {
  const binary = process.env.NATS_SERVER ?? findOnPath('nats-server');
  if (!binary) throw new Error('nats-server is not on PATH (set NATS_SERVER, or run with --transport rabbitmq)');
  const port = await freePort();
  const storeDir = path.join(dataDir, 'nats');
  await mkdir(storeDir, { recursive: true });
  let child: ChildProcess | undefined;
  const start = async () => {
    const started = spawn(binary, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = started;
    let log = '';
    started.stderr!.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-3000)));
    await waitFor(
      async () => {
        if (started.exitCode !== null) throw new Error(`nats-server exited (${started.exitCode}):\n${log}`);
        return isReachable('127.0.0.1', port, 200);
      },
      { timeoutMs: 30_000, description: `nats-server on port ${port}` },
    );
  };
  let paused: ChildProcess | undefined;
  const thaw = () => {
    if (paused?.pid) signalIfAlive(paused.pid, 'SIGCONT');
    paused = undefined;
  };
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGKILL');
    thaw();
    await exited;
  };
  const url = `nats://127.0.0.1:${port}`;
  await start();
  return {
    transport: 'nats',
    env: { TRANSPORT: 'nats', NATS_URL: url },
    kill,
    start,
    async pause() {
      if (!child?.pid || child.exitCode !== null || child.signalCode !== null || paused) return;
      child.kill('SIGSTOP');
      paused = child;
    },
    async resume() {
      if (!paused) return;
      thaw();
      // A stopped server's socket still accepts (the kernel's backlog): wait for an answer.
      await waitFor(
        async () => {
          const nc = await natsConnect({ servers: url, timeout: 2000, reconnect: false }).catch(() => undefined);
          if (!nc) return undefined;
          try {
            return await nc.flush().then(
              () => true,
              () => undefined,
            );
          } finally {
            await nc.close().catch(() => undefined);
          }
        },
        { timeoutMs: 60_000, intervalMs: 250, description: 'nats-server to answer again' },
      );
    },
    // The stream keeps every message: nothing to set up.
    async record() {},
    async published() {
      const nc = await natsConnect({ servers: url, timeout: 5000 });
      try {
        return await within(120_000, `reading stream ${STREAM}`, readStream(nc));
      } finally {
        await nc.close().catch(() => undefined);
      }
    },
    close: kill,
  };
}

/** Every message of the events stream, by its Nats-Msg-Id (the event id), in an ordered consumer of its own. */
async function readStream(nc: Awaited<ReturnType<typeof natsConnect>>): Promise<BrokerLog> {
  const copies = new Map<string, number>();
  const log: BrokerLog = { copies, dedupes: true, source: `stream ${STREAM}` };
  const info = await (await jetstreamManager(nc)).streams.info(STREAM).catch(() => undefined);
  if (!info || info.state.messages === 0) return log;
  const last = info.state.last_seq;
  const messages = await (await jetstream(nc).consumers.get(STREAM)).consume();
  for await (const m of messages) {
    const id = m.headers?.get('Nats-Msg-Id') || `(no Nats-Msg-Id, sequence ${m.seq})`;
    copies.set(id, (copies.get(id) ?? 0) + 1);
    if (m.seq >= last) break;
  }
  return log;
}

/** Signals that end this process: a frozen shared broker is thawed first. */
const FATAL_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * The machine's RabbitMQ (AMQP_URL), stopped and started with `rabbitmqctl stop_app` /
 * `start_app` (the node's application goes down with every connection, as in an outage), and
 * frozen with SIGSTOP / SIGCONT to its Erlang VM (`beam.smp`): a hung broker, whose TCP
 * connections stay open while nothing answers. Being the machine's broker, it is always
 * thawed and started again: by `close()`, and by an exit or a fatal signal of this process.
 */
export async function sharedRabbitMq(amqpUrl: string): Promise<ChaosBroker> {
  const ctl = process.env.RABBITMQCTL ?? findOnPath('rabbitmqctl');
  if (!ctl) throw new Error('rabbitmqctl is not on PATH: the RabbitMQ outage cannot be injected');
  let down = false;
  const rabbitmqctl = async (command: 'stop_app' | 'start_app') => {
    await execFileAsync(ctl, [command], { timeout: 120_000 });
    down = command === 'stop_app';
  };
  const url = new URL(amqpUrl);
  // The VM's pid, as the node itself tells it (the machine may run other Erlang VMs).
  const vmPid = async () => {
    const { stdout } = await execFileAsync(ctl, ['eval', 'os:getpid().'], { timeout: 60_000 });
    const pid = Number(/\d+/.exec(stdout)?.[0]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`rabbitmqctl eval os:getpid() said: ${stdout}`);
    return pid;
  };
  // Asked once up front (rabbitmqctl takes seconds), again only if that VM is gone.
  let vm = await vmPid().catch(() => undefined);
  let frozen: number | undefined;
  const thaw = () => {
    if (frozen !== undefined) signalIfAlive(frozen, 'SIGCONT');
    frozen = undefined;
    process.off('exit', thaw);
    for (const signal of FATAL_SIGNALS) process.off(signal, thawAndDie);
  };
  // Thaws, then lets the signal do what it would have done without this handler.
  function thawAndDie(signal: NodeJS.Signals) {
    thaw();
    process.kill(process.pid, signal);
  }
  const answers = async () => {
    const connection = await amqp.connect(amqpUrl, { timeout: 2000 }).catch(() => undefined);
    if (!connection) return undefined;
    connection.on('error', () => undefined);
    await connection.close().catch(() => undefined);
    return true;
  };

  // A classic queue of the run's own, bound like every consumer queue together: a copy of each
  // message the relays publish of a type some consumer handles. Nobody consumes it.
  const audit = `chaos.audit.${randomUUID().slice(0, 8)}`;
  const types = [...new Set(CONSUMERS.flatMap((c) => [...c.handles]))].sort();
  let recording = false;
  const withChannel = async <T>(fn: (channel: amqp.Channel) => Promise<T>): Promise<T> => {
    const connection = await amqp.connect(amqpUrl, { timeout: 5000 });
    connection.on('error', () => undefined);
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      return await fn(channel);
    } finally {
      await connection.close().catch(() => undefined);
    }
  };

  // The roles use the CLI's names (saga.events, saga.<consumer>.<partition> …), which the run
  // takes over: what an earlier run left there (one stopped half-way) would be delivered into
  // this one, so they start empty and are removed at the end.
  const queues = [
    ...CONSUMERS.flatMap((c) => Array.from({ length: c.partitions }, (_, p) => queueName(c.name, p))),
    unroutedQueue(),
  ];
  const removeTopology = async () => {
    for (const queue of queues) await withChannel((channel) => channel.deleteQueue(queue)).catch(() => undefined);
    for (const exchange of [EXCHANGE, unroutedExchange(EXCHANGE)]) {
      await withChannel((channel) => channel.deleteExchange(exchange)).catch(() => undefined);
    }
  };
  await removeTopology();

  return {
    transport: 'rabbitmq',
    env: { TRANSPORT: 'rabbitmq', AMQP_URL: amqpUrl },
    kill: () => rabbitmqctl('stop_app'),
    async start() {
      await rabbitmqctl('start_app');
      await waitFor(() => isReachable(url.hostname, Number(url.port || 5672), 500), {
        timeoutMs: 60_000,
        description: 'RabbitMQ to accept connections',
      });
    },
    async pause() {
      if (frozen !== undefined) return;
      const pid = vm !== undefined && isAlive(vm) ? vm : (vm = await vmPid());
      process.once('exit', thaw);
      for (const signal of FATAL_SIGNALS) process.once(signal, thawAndDie);
      frozen = pid;
      process.kill(pid, 'SIGSTOP');
    },
    async resume() {
      if (frozen === undefined) return;
      thaw();
      await waitFor(answers, { timeoutMs: 60_000, intervalMs: 250, description: 'RabbitMQ to answer again' });
    },
    async record() {
      // The relay declares the exchange when it first becomes active.
      await waitFor(
        () =>
          withChannel((channel) => channel.checkExchange(EXCHANGE)).then(
            () => true,
            () => undefined,
          ),
        { timeoutMs: 60_000, intervalMs: 500, description: `the relay to declare exchange ${EXCHANGE}` },
      );
      await withChannel(async (channel) => {
        await channel.assertQueue(audit, { durable: true });
        recording = true;
        const buckets = partitionPatterns(0, 1)[0]!;
        for (const type of types) await channel.bindQueue(audit, EXCHANGE, `${buckets}.${type}`);
      });
    },
    async published() {
      const copies = new Map<string, number>();
      const log: BrokerLog = { copies, dedupes: false, types, source: `queue ${audit}` };
      const read = withChannel(async (channel) => {
        const { messageCount } = await channel.checkQueue(audit);
        if (messageCount === 0) return;
        // The first messageCount messages, unacknowledged: closing the channel puts them back.
        let seen = 0;
        await new Promise<void>((resolve, reject) => {
          channel.once('close', () => reject(new Error(`channel on ${audit} closed`)));
          void channel
            .consume(audit, (m) => {
              if (!m || seen >= messageCount) return;
              const id = m.properties.messageId ? String(m.properties.messageId) : '(no message id)';
              copies.set(id, (copies.get(id) ?? 0) + 1);
              if (++seen === messageCount) resolve();
            })
            .catch(reject);
        });
      });
      await within(120_000, `reading queue ${audit}`, read);
      return log;
    },
    // Never leave the shared broker frozen or stopped, nor the audit queue behind.
    async close() {
      thaw();
      if (down) await rabbitmqctl('start_app');
      await waitFor(answers, { timeoutMs: 60_000, intervalMs: 500, description: 'RabbitMQ to answer' });
      if (recording) await withChannel((channel) => channel.deleteQueue(audit));
      await removeTopology();
    },
  };
}
