import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { partitionOf } from '../../src/delivery/transports/codec';
import { waitFor } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import type { TransportSettings } from '../../src/delivery/transport-factory';
import { startDelivery, type Delivery } from '../../src/delivery/start';
import { createLogger } from '../../src/logger';
import {
  appendApproved,
  isolatedTransport,
  newStreamId,
  RECORDER_SQL,
  recordedEffects,
  recorder,
  removeBrokerResources,
  transportsUnderTest,
} from '../helpers/delivery';

// Two consumer instances of the recorder, each in its own process, share its 4 partitions
// over each transport (with a broker, the relay runs in the test). One is killed with SIGKILL,
// or frozen with SIGSTOP (its connections and locks stay open), while events are being
// appended; the survivor takes over every partition, and every event still takes effect
// exactly once, in order per stream. The frozen one, run again, gets its share back.

const ROOT = path.resolve(__dirname, '../..');
const PARTITIONS = 4;
const STREAMS_PER_PARTITION = 10;
const EVENTS_PER_STREAM = 10;
const TOTAL = PARTITIONS * STREAMS_PER_PARTITION * EVENTS_PER_STREAM;
const ALL = Array.from({ length: PARTITIONS }, (_, p) => p);

interface Instance {
  name: string;
  child: ChildProcess;
  /** Partitions of the recorder in the latest state line, or undefined before the first. */
  partitions(): number[] | undefined;
  /** Everything the process wrote, for failure messages. */
  output(): string;
}

let db: TestDatabase;
let settings: TransportSettings;
const children: ChildProcess[] = [];

/** How long a frozen instance may stay silent before the other takes over (the default is 10 s). */
const TAKEOVER_MS = 1500;

function startInstance(name: string, env: Record<string, string> = {}): Promise<Instance> {
  // `node --import tsx` (not the tsx CLI, which runs a second process): SIGKILL must hit the instance itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/delivery-process.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DELIVERY_DATABASE_URL: db.url,
      DELIVERY_TRANSPORT: JSON.stringify(settings),
      DELIVERY_ROLE: 'consume',
      DELIVERY_PARTITIONS: String(PARTITIONS),
      DELIVERY_TAKEOVER_MS: String(TAKEOVER_MS),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  let pending = '';
  let partitions: number[] | undefined;
  const instance: Instance = { name, child, partitions: () => partitions, output: () => output };
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line === 'delivery ready') resolve(instance);
        if (line.startsWith('state ')) {
          const state = JSON.parse(line.slice('state '.length)) as { partitions?: Record<string, number[]> };
          partitions = state.partitions?.recorder;
        }
      }
    });
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code, signal) =>
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${output}`)),
    );
  });
}

/**
 * Freezes the instance (SIGSTOP) while a delivery's transaction of its holds an xid: such a
 * transaction holds back every commit-order reader on the server until it ends. Thawed and
 * tried again a moment later when it froze between two. Resolves whether it was caught so.
 */
async function freezeInTransaction(instance: Instance): Promise<boolean> {
  const holdsXid = async () =>
    (await count(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND backend_xid IS NOT NULL',
      [`delivery-process-${instance.child.pid}`],
    )) > 0;
  for (let attempt = 0; attempt < 500; attempt++) {
    if (!(await holdsXid())) continue;
    instance.child.kill('SIGSTOP');
    if (await holdsXid()) return true;
    instance.child.kill('SIGCONT');
  }
  instance.child.kill('SIGSTOP');
  return false;
}

/** 10 streams per partition, so every partition (and so both instances) has work. */
function streamsByPartition(): string[][] {
  const buckets: string[][] = ALL.map(() => []);
  while (buckets.some((b) => b.length < STREAMS_PER_PARTITION)) {
    const stream = newStreamId();
    const bucket = buckets[partitionOf(stream, PARTITIONS)]!;
    if (bucket.length < STREAMS_PER_PARTITION) bucket.push(stream);
  }
  return buckets;
}

/** Adds what the instances printed to a failed wait's error. */
async function explained<T>(wait: Promise<T>, ...instances: Instance[]): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    const outputs = instances.map((i) => `--- ${i.name}:\n${i.output().slice(-4000)}`).join('\n');
    throw new Error(`${(err as Error).message}\n${outputs}`);
  }
}

const count = async (sql: string, params: unknown[] = []) =>
  (await db.pool.query<{ n: number }>(sql, params)).rows[0]!.n;

async function killAll(): Promise<void> {
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  const exited = running.map((c) => new Promise((r) => c.once('exit', r)));
  for (const c of running) c.kill('SIGKILL');
  await Promise.all(exited);
}

describe.each(transportsUnderTest())('consumer partitions across processes over %s', (kind) => {
  let relay: Delivery | undefined;
  const topology = recorder({ partitions: PARTITIONS });

  beforeEach(async () => {
    settings = isolatedTransport(kind);
    // RabbitMQ keeps a partition's queue with a frozen consumer (single active consumer) until it
    // closes that connection for missed heartbeats: ask for 2 s instead of the broker's 60.
    if (kind === 'rabbitmq') {
      const url = new URL(settings.amqpUrl!);
      url.searchParams.set('heartbeat', '2');
      settings = { ...settings, amqpUrl: url.toString() };
    }
    db = await createTestDatabase();
    await db.pool.query(RECORDER_SQL);
    if (kind !== 'postgres') {
      relay = await startDelivery({
        pool: db.pool,
        connectionString: db.url,
        transport: settings,
        consumers: [],
        topology: [topology],
        relay: true,
        logger: createLogger('silent'),
        intervals: { pollMs: 250, standbyMs: 250 },
      });
    }
  });
  afterEach(async () => {
    await killAll();
    await relay?.stop();
    relay = undefined;
    await removeBrokerResources(settings, [topology]).catch(() => undefined);
    await db?.drop();
  });

  test.each([
    ['killed (SIGKILL)', 'SIGKILL'],
    ['frozen (SIGSTOP)', 'SIGSTOP'],
  ] as const)(
    'two instances split the partitions; when one is %s the survivor takes all, nothing lost or doubled',
    async (_how, signal) => {
      // Frozen, the victim should be caught inside a delivery's transaction: the recorder then
      // lingers in each one a moment.
      const env: Record<string, string> = signal === 'SIGSTOP' ? { DELIVERY_PAUSE_MS: '10' } : {};
      const [first, second] = await Promise.all([startInstance('first', env), startInstance('second', env)]);

      // Both up: the 4 partitions are split between them, each owning some, none owned twice.
      await explained(
        waitFor(
          () => {
            const a = first.partitions();
            const b = second.partitions();
            if (!a?.length || !b?.length) return false;
            const union = [...a, ...b].sort((x, y) => x - y);
            return JSON.stringify(union) === JSON.stringify(ALL);
          },
          { timeoutMs: 60_000, description: 'the partitions to be split between the instances' },
        ),
        first,
        second,
      );
      const split = { first: first.partitions()!, second: second.partitions()! };
      expect(split.first.length).toBeGreaterThanOrEqual(1);
      expect(split.second.length).toBeGreaterThanOrEqual(1);
      expect(split.first.filter((p) => split.second.includes(p))).toEqual([]);
      expect([...split.first, ...split.second].sort((x, y) => x - y)).toEqual(ALL);

      const buckets = streamsByPartition();
      const [victim, survivor] = [first, second];
      let killed!: () => void;
      const afterKill = new Promise<void>((r) => (killed = r));
      const at = { appended: 0, handled: 0, victimPartitions: [] as number[], inTransaction: false };

      // Round by round, one event per stream per transaction; the last rounds only after the kill,
      // so the kill always lands while events are still being appended.
      const writer = (async () => {
        const streams = buckets.flat();
        for (let v = 0; v < EVENTS_PER_STREAM; v++) {
          if (v === EVENTS_PER_STREAM - 3) await afterKill;
          for (const stream of streams) await appendApproved(db.pool, stream, v);
        }
      })();

      // Kill once the victim has taken effect for some events of its own partitions.
      const killer = (async () => {
        await explained(
          waitFor(
            async () => {
              const mine = victim.partitions() ?? [];
              const streams = mine.flatMap((p) => buckets[p]!);
              const appended = await count('SELECT count(*)::int AS n FROM events');
              const victimHandled = await count(
                'SELECT count(*)::int AS n FROM test_deliveries WHERE stream_id = ANY($1)',
                [streams],
              );
              return appended >= TOTAL / 4 && victimHandled > 0;
            },
            { timeoutMs: 60_000, intervalMs: 20, description: 'the victim to be handling events' },
          ),
          victim,
        );
        at.victimPartitions = victim.partitions()!;
        if (signal === 'SIGKILL') victim.child.kill(signal);
        else at.inTransaction = await freezeInTransaction(victim);
        at.appended = await count('SELECT count(*)::int AS n FROM events');
        at.handled = (await recordedEffects(db.pool, 'recorder')).distinct;
        killed();
      })();
      // A failure of either must not leave the other waiting forever.
      await Promise.all([killer.catch((err) => (killed(), Promise.reject(err))), writer]);

      // The kill really happened mid-stream, with the victim owning and handling partitions.
      expect(at.victimPartitions.length).toBeGreaterThanOrEqual(1);
      // Frozen holding a transaction open: its pool's idle timeout (the takeover's) must end it.
      if (signal === 'SIGSTOP') expect(at.inTransaction).toBe(true);
      expect(at.appended).toBeLessThan(TOTAL);
      expect(at.handled).toBeLessThan(TOTAL);
      expect(await count('SELECT count(*)::int AS n FROM events')).toBe(TOTAL);
      if (signal === 'SIGKILL') {
        await waitFor(() => victim.child.signalCode === 'SIGKILL', { description: 'the victim to die' });
      }

      // The survivor takes over every partition.
      await explained(
        waitFor(() => JSON.stringify(survivor.partitions()) === JSON.stringify(ALL), {
          timeoutMs: 60_000,
          description: 'the survivor to own all partitions',
        }),
        survivor,
      );
      expect(survivor.partitions()).toEqual(ALL);

      // Every event took effect exactly once, in order per stream.
      await explained(
        waitFor(async () => (await recordedEffects(db.pool, 'recorder')).distinct >= TOTAL, {
          timeoutMs: 120_000,
          description: `all ${TOTAL} events to take effect`,
        }),
        survivor,
      );
      const effects = await recordedEffects(db.pool, 'recorder');
      expect(effects.doubled).toEqual([]);
      expect(effects.outOfOrder).toEqual([]);
      expect(effects.distinct).toBe(TOTAL);
      expect(effects.total).toBe(TOTAL);
      // Nothing was dead-lettered along the way, and the survivor is still running.
      expect(await count('SELECT count(*)::int AS n FROM dead_letters')).toBe(0);
      expect(survivor.child.exitCode).toBeNull();
      if (signal === 'SIGKILL') return;

      // Run again, the frozen one finds its locks gone and the two share the partitions again;
      // what it had in hand when it froze takes no second effect.
      victim.child.kill('SIGCONT');
      await explained(
        waitFor(
          () => {
            const a = victim.partitions() ?? [];
            const b = survivor.partitions() ?? [];
            const union = [...a, ...b].sort((x, y) => x - y);
            return a.length > 0 && b.length > 0 && JSON.stringify(union) === JSON.stringify(ALL);
          },
          { timeoutMs: 60_000, description: 'the instances to share the partitions again' },
        ),
        victim,
        survivor,
      );
      const after = await recordedEffects(db.pool, 'recorder');
      expect({ doubled: after.doubled, total: after.total }).toEqual({ doubled: [], total: TOTAL });
    },
    240_000,
  );
});
