import { testDataConverter } from '../helpers/temporal';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { seedCatalog } from '../../src/store/catalog';
import { readStream } from '../../src/store/event-store';
import { waitFor } from '../../src/util/wait';
import type { OrderSagaInput } from '../../src/workflows';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testEnv } from '../helpers/env';
import { heldAtGateway, orderInput, startOrder, stockOf, SAGA_EVENTS } from '../helpers/orders';

// Kills the worker process (SIGKILL) while many sagas are in flight, starts a new one, and
// checks that every saga ends with exactly the events it should have: none lost, none doubled.

const ROOT = path.resolve(__dirname, '../..');
const SAGAS = 40;

let db: TestDatabase;
let connection: Connection;
let client: Client;
const taskQueue = `crash-${randomUUID()}`;
const workers: ChildProcess[] = [];

function startWorkerProcess(): Promise<ChildProcess> {
  // `node --import tsx` (not the tsx CLI, which runs a second process): SIGKILL must hit the worker itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/worker-process.ts'], {
    cwd: ROOT,
    env: { ...process.env, WORKER_DATABASE_URL: db.url, WORKER_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      output += c.toString();
      if (output.includes('worker ready')) resolve(child);
    });
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready:\n${output}`)));
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  await seedCatalog(db.pool);
  connection = await Connection.connect({ address: testEnv('temporalAddress') });
  client = new Client({ connection, dataConverter: testDataConverter() });
});
afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await Promise.all(
    workers.map((w) => (w.exitCode === null && w.signalCode === null ? new Promise((r) => w.once('exit', r)) : null)),
  );
  await connection?.close();
  await db?.drop();
});

const EXPECTED: Record<string, string[]> = {
  confirmed: [...SAGA_EVENTS.CONFIRMED],
  declined: [...SAGA_EVENTS.DECLINED],
  refused: [...SAGA_EVENTS.ADDRESS_REFUSED],
};

/** A mix of outcomes: happy, transiently failing gateway, declined card, refused address. */
function scenario(i: number): { kind: keyof typeof EXPECTED; input: OrderSagaInput } {
  const sku = `SKU-000${(i % 3) + 1}`;
  const base = { items: [{ sku, quantity: 1 + (i % 2) }] };
  switch (i % 4) {
    case 0:
      return { kind: 'confirmed', input: orderInput(base) };
    case 1:
      return { kind: 'confirmed', input: orderInput({ ...base, paymentToken: 'tok_processingError' }) };
    case 2:
      return { kind: 'declined', input: orderInput({ ...base, paymentToken: 'tok_chargeDeclined' }) };
    default:
      return {
        kind: 'refused',
        input: orderInput({ ...base, shippingAddress: { line1: 'x', city: 'y', postalCode: '00000', country: 'DE' } }),
      };
  }
}

describe('crash safety', () => {
  it('a worker killed with SIGKILL mid-flight loses and doubles nothing', async () => {
    const skus = ['SKU-0001', 'SKU-0002', 'SKU-0003'];
    const stockBefore = Object.fromEntries(await Promise.all(skus.map(async (s) => [s, await stockOf(db.pool, s)])));
    const first = await startWorkerProcess();

    const sagas = Array.from({ length: SAGAS }, (_, i) => scenario(i));
    const handles = await Promise.all(sagas.map((s) => startOrder(client, taskQueue, s.input)));

    // Kill while work is under way: some events written, far from all.
    const total = sagas.reduce((n, s) => n + EXPECTED[s.kind]!.length, 0);
    await waitFor(
      async () => {
        const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
        return rows[0]!.n >= total / 4;
      },
      { timeoutMs: 60_000, intervalMs: 20, description: 'sagas to make progress' },
    );
    first.kill('SIGKILL');
    const { rows: atCrash } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    expect(atCrash[0]!.n).toBeLessThan(total); // the crash really happened mid-flight

    await startWorkerProcess();
    const results = await Promise.all(handles.map((h) => h.result()));

    for (const [i, s] of sagas.entries()) {
      expect(results[i]!.status).toBe(s.kind === 'confirmed' ? 'CONFIRMED' : 'CANCELLED');
      const events = await readStream(db.pool, `order-${s.input.orderId}`);
      expect({ order: i, types: events.map((e) => e.eventType) }).toEqual({ order: i, types: EXPECTED[s.kind] });
      expect(events.map((e) => e.streamVersion)).toEqual(events.map((_, v) => v + 1));
    }
    // Side effects match the events exactly: stock taken only for confirmed orders, and the
    // gateway holds money only for confirmed (captured) orders.
    for (const sku of skus) {
      const sold = sagas
        .filter((s) => s.kind === 'confirmed' && s.input.items[0]!.sku === sku)
        .reduce((n, s) => n + s.input.items[0]!.quantity, 0);
      expect({ sku, stock: await stockOf(db.pool, sku) }).toEqual({ sku, stock: stockBefore[sku] - sold });
    }
    for (const s of sagas.filter((x) => x.kind !== 'confirmed')) {
      expect(await heldAtGateway(db.pool, s.input.orderId)).toBe(0);
    }
    const authorizations = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM simulators.gateway_authorizations`,
    );
    expect(authorizations.rows[0]!.n).toBe(sagas.filter((s) => s.kind !== 'declined').length);
  });
});
