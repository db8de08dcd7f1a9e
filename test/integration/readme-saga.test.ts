import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { explore } from '../../src/explore/explore';
import { formatMatrix } from '../../src/explore/matrix';
import { scenariosOf } from '../../src/explore/scenarios';
import { targetOf } from '../../src/cli/explore-command';
import { installPlugins, loadPlugins } from '../../src/processes/plugins';
import { readStream } from '../../src/store/event-store';
import { waitFor } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { docExampleFiles, EXTENDING_GUIDE } from '../helpers/doc-examples';
import { typeErrors } from '../helpers/typecheck';
import { testEnv } from '../helpers/env';
import { connectTestTemporal, installQuietRuntime, testDataConverter, type TestTemporal } from '../helpers/temporal';

// docs/extending.md's "Write your own saga" is a complete example: this test takes its code blocks as
// they are (only the package imports point at the sources), type-checks them and runs the
// saga on the real Temporal server and PostgreSQL, happy and compensating.

const ROOT = path.resolve(__dirname, '../..');
const DIR = path.join(ROOT, '.tmp', `readme-saga-${process.pid}`);

/** The guide's files, with the package imports resolved to src/. */
function exampleFiles(): { name: string; code: string }[] {
  const src = path.relative(DIR, path.join(ROOT, 'src'));
  return docExampleFiles(EXTENDING_GUIDE, 'Write your own saga').map(({ name, code }) => ({
    name,
    code: code
      .replace(/'saga-orchestrator\/workflow'/g, `'${src}/workflow'`)
      .replace(/'saga-orchestrator'/g, `'${src}'`),
  }));
}

let files: { name: string; code: string }[];
let db: TestDatabase;
let temporal: TestTemporal;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  // The booking saga's exploration injects activity failures: the worker's warnings are noise.
  installQuietRuntime('ERROR');
  files = exampleFiles();
  mkdirSync(DIR, { recursive: true });
  for (const f of files) writeFileSync(path.join(DIR, f.name), f.code);
  db = await createTestDatabase();
  temporal = await connectTestTemporal();
  connection = await NativeConnection.connect({ address: testEnv('temporalAddress') });
});
afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
  await connection?.close();
  await temporal?.close();
  await db?.drop();
  rmSync(DIR, { recursive: true, force: true });
});

describe('docs/extending.md: write your own saga', () => {
  it('has the workflow, activities and worker files', () => {
    expect(files.map((f) => f.name).sort()).toEqual([
      'booking.activities.ts',
      'booking.plugin.ts',
      'booking.worker.ts',
      'booking.workflow.ts',
    ]);
  });

  it('type-checks with the project settings', () => {
    expect(
      typeErrors(
        files.map((f) => path.join(DIR, f.name)),
        DIR,
      ),
    ).toEqual([]);
  });

  it('runs: a booking confirms; a declined card releases the room and cancels', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createBookingWorker } = require(path.join(DIR, 'booking.worker.ts')) as {
      createBookingWorker: (o: {
        connection: NativeConnection;
        pool: unknown;
        taskQueue: string;
        dataConverter?: DataConverter;
      }) => Promise<Worker>;
    };
    const taskQueue = `readme-${randomUUID()}`;
    // The suite's payload encryption, as its client has it.
    worker = await createBookingWorker({ connection, pool: db.pool, taskQueue, dataConverter: testDataConverter() });
    running = worker.run();

    const book = (card: string) => {
      const bookingId = randomUUID();
      return temporal.client.workflow
        .execute('bookingSaga', {
          taskQueue,
          workflowId: `booking-${bookingId}`,
          args: [{ bookingId, nights: 2, card, correlationId: randomUUID() }],
        })
        .then((result) => ({ bookingId, result }));
    };
    const types = async (bookingId: string) =>
      (await readStream(db.pool, `booking-${bookingId}`)).map((e) => e.eventType);

    const ok = await book('visa');
    expect(ok.result).toBe('BOOKED');
    expect(await types(ok.bookingId)).toEqual(['booking.room_held', 'booking.charged', 'booking.confirmed']);

    const declined = await book('declined');
    expect(declined.result).toBe('CANCELLED: CardDeclined');
    expect(await types(declined.bookingId)).toEqual([
      'booking.room_held',
      'booking.room_released',
      'booking.cancelled',
    ]);
    // Each event is caused by the one before it (the saga chains causation through the results).
    const stored = await readStream(db.pool, `booking-${ok.bookingId}`);
    const causes = await waitFor(
      async () => {
        const { rows } = await db.pool.query<{ command_id: string; causation_id: string | null }>(
          `SELECT command_id, causation_id FROM processed_commands WHERE command_id LIKE $1 ORDER BY command_id`,
          [`booking-${ok.bookingId}/%`],
        );
        return rows.length === 3 ? rows : undefined;
      },
      { timeoutMs: 5_000, description: 'three processed commands' },
    );
    const chargeCause = causes.find((r) => r.command_id.endsWith('/charge-card'))!.causation_id;
    expect(chargeCause).toBe(stored[0]!.eventId);
  });

  it('explores every failure point of the booking saga through its plugin, as it explores the project’s own', async () => {
    // The plugin as `saga explore bookingSaga` loads it: its events, its consumer, its explore description.
    installPlugins(loadPlugins(['./booking.plugin.ts'], DIR));
    await db.pool.query(
      'CREATE TABLE booking_mails (event_id uuid PRIMARY KEY, booking_id text NOT NULL, text text NOT NULL)',
    );
    const target = targetOf('bookingSaga', db.pool);
    const BOOKING_SAGA = target.saga;
    expect(target.consumers?.map((c) => c.name)).toContain('booking-mailer');
    const report = await explore({
      pool: db.pool,
      client: temporal.client,
      connection,
      namespace: 'default',
      target,
      scenarios: scenariosOf(BOOKING_SAGA),
    });
    const matrix = formatMatrix(report);
    const failed = report.results.flatMap((r) =>
      r.checks.filter((c) => !c.ok).map((c) => `${r.scenario.id}: ${c.name}: ${c.detail}`),
    );
    expect({ failed, matrix }).toEqual({ failed: [], matrix });
    const outcome = (id: string) => report.results.find((r) => r.scenario.id === id)?.outcome;
    expect(report.results).toHaveLength(scenariosOf(BOOKING_SAGA).length);
    expect(outcome('business-failure:chargeCard')).toBe('CANCELLED: ExploredFailure');
    expect(outcome('lost-report:chargeCard')).toBe('BOOKED');
    // confirmBooking escalates: answered with the runtime's signals (the API serves no bookings).
    expect(outcome('deadline-escalated-retried:confirmBooking')).toBe('BOOKED');
    expect(outcome('deadline-escalated-abandoned:confirmBooking')).toBe('CANCELLED: step_deadline_exceeded');
  }, 180_000);
});
