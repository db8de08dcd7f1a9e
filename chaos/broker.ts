import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Restartable } from '../src/cluster/cluster';
import { findOnPath } from '../src/util/executable';
import { freePort, isReachable } from '../src/util/free-port';
import { waitFor } from '../src/util/wait';

/** The broker under test: its URL for the roles, and how to take it down and bring it back. */
export interface ChaosBroker extends Restartable {
  transport: 'nats' | 'rabbitmq';
  /** Variables the roles need to reach it. */
  env: Record<string, string>;
  /** Leaves it running (RabbitMQ) or stops it (our own nats-server). */
  close(): Promise<void>;
}

const execFileAsync = promisify(execFile);

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
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    transport: 'nats',
    env: { TRANSPORT: 'nats', NATS_URL: `nats://127.0.0.1:${port}` },
    kill,
    start,
    close: kill,
  };
}

/**
 * The machine's RabbitMQ (AMQP_URL), stopped and started with `rabbitmqctl stop_app` /
 * `start_app`: the node's application goes down with every connection, as in an outage.
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
    // Never leave the shared broker stopped.
    close: async () => (down ? rabbitmqctl('start_app') : undefined),
  };
}
