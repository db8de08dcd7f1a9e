import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { simulatedActivityDeps } from '../../src/processes/activity-deps';
import { replayHistoryFiles } from '../../src/processes/replay';
import { seedCatalog } from '../../src/store/catalog';
import { startDevServer, type RunningDevServer } from '../../src/temporal/dev-server';
import {
  encryptionDataConverter,
  generatePayloadKey,
  KEY_ID_METADATA,
  parsePayloadKeys,
} from '../../src/temporal/payload-codec';
import { freePort } from '../../src/util/free-port';
import { waitFor } from '../../src/util/wait';
import { createWorker } from '../../src/worker';
import { approveUpdate } from '../../src/workflows';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testEnv } from '../helpers/env';
import { orderInput, startOrder, waitForSagaStatus } from '../helpers/orders';
import { installQuietRuntime } from '../helpers/temporal';

// Orders carry personal data: with encryption on, Temporal (its histories, its database, its
// CLI) sees ciphertext only; the API's codec route decodes for operators; keys rotate.

const run = promisify(execFile);
const KEY_A = generatePayloadKey('key-a');
const KEY_B = generatePayloadKey('key-b');
const onlyA = encryptionDataConverter(parsePayloadKeys(KEY_A));
const rotatedToB = encryptionDataConverter(parsePayloadKeys(`${KEY_A},${KEY_B}`));
/** A shipping address no other test uses, to look for in Temporal's storage. */
const secretAddress = () => ({
  line1: `${randomUUID().slice(0, 8)} Confidential Road`,
  city: 'Privacyville',
  postalCode: '99999',
  country: 'DE',
});
const BIG_ORDER = { items: [{ sku: 'SKU-0010', quantity: 11 }], approvalThresholdCents: 100_000 };

let dir: string;
let db: TestDatabase;
let server: RunningDevServer;
let connection: Connection;
let workerConnection: NativeConnection;
const running: { worker: Worker; done: Promise<void> }[] = [];

async function startWorker(taskQueue: string, dataConverter: DataConverter): Promise<Worker> {
  const worker = await createWorker({
    connection: workerConnection,
    namespace: 'default',
    taskQueue,
    deps: simulatedActivityDeps(db.pool),
    workflowBundle: { codePath: testEnv('workflowBundle') },
    dataConverter,
    overrides: { shutdownGraceTime: '2 seconds' },
  });
  running.push({ worker, done: worker.run() });
  return worker;
}

async function stopWorker(worker: Worker): Promise<void> {
  worker.shutdown();
  await running.find((r) => r.worker === worker)!.done;
}

const clientWith = (dataConverter: DataConverter) => new Client({ connection, namespace: 'default', dataConverter });

/**
 * Every payload of a history as the server stores it, raw: `data` ones went through the codec;
 * search attributes (the server indexes them) and headers (the correlation id) never do.
 */
async function storedPayloads(client: Client, workflowId: string) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  type Where = 'data' | 'searchAttributes' | 'header';
  const found: { where: Where; metadata: Record<string, string>; data: Buffer }[] = [];
  const walk = (value: unknown, where: Where): void => {
    if (!value || typeof value !== 'object') return;
    if (Array.isArray(value)) return value.forEach((v) => walk(v, where));
    const o = value as Record<string, unknown>;
    if (o.metadata && typeof o.metadata === 'object' && 'data' in o) {
      const metadata = Object.fromEntries(
        Object.entries(o.metadata as Record<string, Uint8Array>).map(([k, v]) => [k, Buffer.from(v).toString()]),
      );
      found.push({ where, metadata, data: Buffer.from((o.data as Uint8Array | null) ?? []) });
    }
    for (const [k, v] of Object.entries(o)) {
      if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
        walk(v, k === 'searchAttributes' || k === 'header' ? k : where);
      }
    }
  };
  walk(history.events, 'data');
  return found;
}
const encoded = (payloads: Awaited<ReturnType<typeof storedPayloads>>) => payloads.filter((p) => p.where === 'data');

beforeAll(async () => {
  installQuietRuntime();
  dir = mkdtempSync(path.join(os.tmpdir(), 'saga-encryption-'));
  db = await createTestDatabase();
  await seedCatalog(db.pool);
  // A server of its own, on a SQLite file: its storage can be searched for clear text.
  server = await startDevServer({
    cli: { path: testEnv('temporalCli'), source: 'env' },
    port: await freePort(),
    dbFilename: path.join(dir, 'temporal.sqlite'),
    logFile: path.join(dir, 'temporal.log'),
  });
  connection = await Connection.connect({ address: server.address });
  workerConnection = await NativeConnection.connect({ address: server.address });
});
afterAll(async () => {
  for (const { worker, done } of running.splice(0)) {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await done.catch(() => undefined);
  }
  await workerConnection?.close();
  await connection?.close();
  await server?.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('an order with encryption on', () => {
  const taskQueue = `encrypted-${randomUUID()}`;
  const address = secretAddress();
  const input = orderInput({ shippingAddress: address, paymentToken: 'tok_visa' });
  const workflowId = `order-${input.orderId}`;
  let app: FastifyInstance;

  beforeAll(async () => {
    const worker = await startWorker(taskQueue, onlyA);
    const client = clientWith(onlyA);
    const handle = await startOrder(client, taskQueue, input);
    expect(await handle.result()).toMatchObject({ status: 'CONFIRMED' });
    await stopWorker(worker);
    app = buildApp({
      pool: db.pool,
      temporal: client,
      taskQueue,
      orders: { approvalThresholdCents: 100_000, approvalTimeout: '1 hour' },
      apiKeys: [
        { name: 'ops', role: 'operator', key: 'operator-key-0123456789' },
        { name: 'shop', role: 'customer', key: 'customer-key-0123456789' },
      ],
      temporalUi: { url: 'http://127.0.0.1:8233', namespace: 'default' },
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('leaves only ciphertext in the history: every payload sealed under the current key', async () => {
    const all = await storedPayloads(clientWith(onlyA), workflowId);
    const payloads = encoded(all);
    expect(payloads.length).toBeGreaterThan(5);
    expect(payloads.every((p) => p.metadata.encoding === 'binary/encrypted')).toBe(true);
    expect(new Set(payloads.map((p) => p.metadata[KEY_ID_METADATA]))).toEqual(new Set(['key-a']));
    // Search attributes and headers too: no address, no payment token anywhere.
    const raw = Buffer.concat(all.map((p) => p.data)).toString('latin1');
    expect(raw).not.toContain('Confidential Road');
    expect(raw).not.toContain('tok_visa');
    // Activity summaries (user metadata: "Schedule shipment to 99999 Privacyville") go through the codec too.
    expect(raw).not.toContain('Privacyville');
  });

  it('shows ciphertext to `temporal workflow show`', async () => {
    const { stdout } = await run(testEnv('temporalCli'), [
      'workflow',
      'show',
      '--address',
      server.address,
      '--workflow-id',
      workflowId,
      '--output',
      'json',
    ]);
    // The CLI prints payload data in base64 (or decoded JSON for json/plain): look in both.
    const decoded = [...stdout.matchAll(/"([A-Za-z0-9+/]{16,}={0,2})"/g)].map((m) =>
      Buffer.from(m[1]!, 'base64').toString('latin1'),
    );
    expect(stdout).toContain(workflowId);
    expect(stdout).toContain(Buffer.from('binary/encrypted').toString('base64'));
    for (const text of [stdout, ...decoded]) {
      expect(text).not.toContain('Confidential Road');
      expect(text).not.toContain(address.line1);
    }

    // `saga replay` of that export: deterministic with the keys; without them it says why.
    const file = path.join(dir, 'encrypted-history.json');
    writeFileSync(file, stdout);
    expect(await replayHistoryFiles([file], { dataConverter: onlyA })).toEqual([{ file, workflowType: 'orderSaga' }]);
    const [keyless] = await replayHistoryFiles([file], {
      dataConverter: encryptionDataConverter(parsePayloadKeys(KEY_B)),
    });
    expect(keyless!.error).toMatch(/encrypted with key \\*"key-a/);
  });

  it("leaves no shipping address in Temporal's database files", () => {
    const files = readdirSync(dir).filter((f) => f.startsWith('temporal.sqlite'));
    const stored = Buffer.concat(files.map((f) => readFileSync(path.join(dir, f)))).toString('latin1');
    // The check can see clear text: the workflow id is stored as such.
    expect(stored).toContain(workflowId);
    expect(stored).not.toContain('Confidential Road');
    expect(stored).not.toContain(address.line1);
  });

  it('decodes through the codec route for an operator, and for nobody else', async () => {
    const payloads = encoded(await storedPayloads(clientWith(onlyA), workflowId));
    const body = {
      payloads: payloads.map((p) => ({
        metadata: Object.fromEntries(
          Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
        ),
        data: p.data.toString('base64'),
      })),
    };
    const post = (key?: string, origin?: string) =>
      app.inject({
        method: 'POST',
        url: '/codec/decode',
        headers: {
          'x-namespace': 'default',
          ...(key ? { 'x-api-key': key } : {}),
          ...(origin ? { origin } : {}),
        },
        payload: body,
      });

    const decoded = await post('operator-key-0123456789', 'http://localhost:8233');
    expect(decoded.statusCode).toBe(200);
    expect(decoded.headers['access-control-allow-origin']).toBe('http://localhost:8233');
    const clear = (decoded.json() as typeof body).payloads.map((p) => Buffer.from(p.data, 'base64').toString());
    expect(clear.join('\n')).toContain(address.line1);
    expect(
      (decoded.json() as typeof body).payloads.every(
        (p) => Buffer.from(p.metadata.encoding!, 'base64').toString() !== 'binary/encrypted',
      ),
    ).toBe(true);

    const anonymous = await post(undefined, 'http://127.0.0.1:8233');
    expect(anonymous.statusCode).toBe(401);
    // The UI sees the refusal, not a network error.
    expect(anonymous.headers['access-control-allow-origin']).toBe('http://127.0.0.1:8233');
    expect(JSON.stringify(anonymous.json())).not.toContain('Confidential');
    expect((await post('customer-key-0123456789')).statusCode).toBe(403);

    const otherNamespace = await app.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: { 'x-namespace': 'elsewhere', 'x-api-key': 'operator-key-0123456789' },
      payload: body,
    });
    expect(otherNamespace.statusCode).toBe(400);
  });

  it('answers the browser preflight for the UI origin only', async () => {
    const preflight = (origin: string) =>
      app.inject({
        method: 'OPTIONS',
        url: '/codec/decode',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace,authorization',
        },
      });
    const ui = await preflight('http://127.0.0.1:8233');
    expect(ui.statusCode).toBe(204);
    expect(ui.headers['access-control-allow-origin']).toBe('http://127.0.0.1:8233');
    expect(ui.headers['access-control-allow-headers']).toContain('x-namespace');
    const stranger = await preflight('https://evil.example');
    expect(stranger.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('says which key it lacks instead of decoding, on the route too', async () => {
    const underB = await clientWith(
      encryptionDataConverter(parsePayloadKeys(KEY_B)),
    ).options.loadedDataConverter.payloadCodecs[0]!.encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"x"') },
    ]);
    const reply = await app.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: { 'x-api-key': 'operator-key-0123456789' },
      payload: {
        payloads: underB.map((p) => ({
          metadata: Object.fromEntries(
            Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
          ),
          data: Buffer.from(p.data!).toString('base64'),
        })),
      },
    });
    expect(reply.statusCode).toBe(400);
    expect(reply.body).toMatch(/key \\"key-b\\"|key "key-b"/);
  });
});

describe('key rotation', () => {
  it('finishes an order started under key A on a worker whose current key is B, A kept', async () => {
    const taskQueue = `rotation-${randomUUID()}`;
    const input = orderInput({ ...BIG_ORDER, shippingAddress: secretAddress() });
    const workerA = await startWorker(taskQueue, onlyA);
    const handleA = await startOrder(clientWith(onlyA), taskQueue, input);
    await waitForSagaStatus(handleA, 'AWAITING_APPROVAL');
    await stopWorker(workerA);

    // The rotation: every process moves to B as current, A stays for what it sealed.
    await startWorker(taskQueue, rotatedToB);
    const handleB = clientWith(rotatedToB).workflow.getHandle(`order-${input.orderId}`);
    await handleB.executeUpdate(approveUpdate, { args: [{ decidedBy: 'ops-rotation' }] });
    expect(await handleB.result()).toMatchObject({ status: 'CONFIRMED' });

    const keys = encoded(await storedPayloads(clientWith(rotatedToB), `order-${input.orderId}`)).map(
      (p) => p.metadata[KEY_ID_METADATA],
    );
    expect(keys[0]).toBe('key-a'); // the input, sealed before the rotation
    expect(keys.at(-1)).toBe('key-b'); // the result, sealed after
    expect(keys.every((k) => k === 'key-a' || k === 'key-b')).toBe(true);
  });

  it('fails the workflow task loudly when the worker lacks the key, and goes on once it has it', async () => {
    const taskQueue = `lacking-${randomUUID()}`;
    const input = orderInput({ ...BIG_ORDER, shippingAddress: secretAddress() });
    await startOrder(clientWith(onlyA), taskQueue, input);
    const handle = clientWith(rotatedToB).workflow.getHandle(`order-${input.orderId}`);
    const onlyB = await startWorker(taskQueue, encryptionDataConverter(parsePayloadKeys(KEY_B)));
    await waitFor(
      async () => {
        const { events } = await handle.fetchHistory();
        return events!.some((e) =>
          e.workflowTaskFailedEventAttributes?.failure?.message?.includes('encrypted with key "key-a"'),
        );
      },
      { timeoutMs: 30_000, description: 'a workflow task failure naming key-a' },
    );
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await stopWorker(onlyB);
    await startWorker(taskQueue, rotatedToB);
    await waitForSagaStatus(handle, 'AWAITING_APPROVAL');
    await handle.terminate('test over');
  });
});
