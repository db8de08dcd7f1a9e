import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { readStream } from '../../src/store/event-store';
import { waitFor } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testEnv } from '../helpers/env';
import { testDataConverter } from '../helpers/temporal';
import { docExampleFiles, EXTENDING_GUIDE } from '../helpers/doc-examples';

// What a team does to adopt the project: pack it (as `npm publish` or an install from git
// would), install the tarball into a project of its own, migrate a fresh database with the
// installed `saga` command, and run the booking saga of docs/extending.md exactly as written (imports of
// `saga-orchestrator` and `saga-orchestrator/workflow`, nothing rewritten) on the real servers.

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const ours = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  overrides: Record<string, unknown>;
};

let dir: string;
let app: string;
let tarball: string;
let packed: string[];
let db: TestDatabase;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'saga-package-'));
  app = path.join(dir, 'booking-app');
  mkdirSync(app);
  // `npm pack` runs `prepare` (the build) first, as an install from git does.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(dir, info!.filename);
  packed = info!.files.map((f) => f.path);

  // The team's project: the package and the Temporal SDK parts its own code imports.
  const sdk = (name: string) => ours.dependencies[name]!;
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({
      name: 'booking-app',
      private: true,
      dependencies: {
        'saga-orchestrator': `file:${tarball}`,
        '@temporalio/client': sdk('@temporalio/client'),
        '@temporalio/common': sdk('@temporalio/common'),
        '@temporalio/worker': sdk('@temporalio/worker'),
      },
      // One protobufjs for the SDK's history reader (`saga replay`), as docs/extending.md says.
      overrides: { protobufjs: ours.overrides.protobufjs },
    }),
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: app,
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const f of docExampleFiles(EXTENDING_GUIDE, 'Write your own saga'))
    writeFileSync(path.join(app, f.name), f.code);
  db = await createTestDatabase({ migrate: false });
}, 420_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Type-checks (and with `outDir`, compiles) the guide's files inside the team's project. */
function compile(options: ts.CompilerOptions): string[] {
  const files = docExampleFiles(EXTENDING_GUIDE, 'Write your own saga').map((f) => path.join(app, f.name));
  // A project as `tsc --init` sets one up (strict, skipLibCheck).
  const program = ts.createProgram(files, {
    strict: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    ...options,
  });
  const emitted = options.noEmit ? undefined : program.emit();
  return [...ts.getPreEmitDiagnostics(program), ...(emitted?.diagnostics ?? [])].map(
    (d) =>
      `${d.file ? path.relative(app, d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
  );
}

describe('the installable package', () => {
  it('packs the build, the migrations and the licence, and nothing of the sources or tests', () => {
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/workflow.js',
      'dist/workflow.d.ts',
      'dist/cli.js',
      'dist/console/index.html',
      'migrations/0001_event_store.sql',
      'LICENSE',
      'README.md',
      'package.json',
    ]) {
      expect(packed).toContain(file);
    }
    expect(packed.filter((f) => /^(src|test|bench|chaos)\//.test(f))).toEqual([]);
  });

  it("type-checks the guide's booking saga against the installed declarations, with either module resolution", () => {
    // `node16` reads the `exports` map; the older `node` resolution (CommonJS projects'
    // default) finds `saga-orchestrator/workflow` through `typesVersions`.
    expect(
      compile({ module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, noEmit: true }),
    ).toEqual([]);
    expect(
      compile({
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        esModuleInterop: true,
        outDir: path.join(app, 'build'),
      }),
    ).toEqual([]);
  });

  it('migrates a fresh database with the installed saga command', async () => {
    const saga = path.join(app, 'node_modules', '.bin', 'saga');
    const { stdout } = await run(saga, ['migrate', '--no-simulators'], {
      cwd: app,
      env: { ...process.env, DATABASE_URL: db.url, PAYMENT_ADAPTER: 'simulator' },
    });
    expect(stdout).toMatch(/Applied migrations: 1, 2, 3/);
    const { rows } = await db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('events', 'processed_commands')",
    );
    expect(rows[0]!.n).toBe(2);
  });

  it("runs the guide's booking saga from the installed package: booked, and declined then compensated", async () => {
    // A plain script of the team's: a worker from the guide's file, two bookings, the answers printed.
    writeFileSync(
      path.join(app, 'build', 'main.js'),
      `const { Client, Connection } = require('@temporalio/client');
const { NativeConnection } = require('@temporalio/worker');
const { createPool } = require('saga-orchestrator');
const { createBookingWorker } = require('./booking.worker');

async function main() {
  const address = process.env.TEMPORAL_ADDRESS;
  const pool = createPool(process.env.DATABASE_URL);
  const taskQueue = 'bookings-' + process.pid;
  const worker = await createBookingWorker({ connection: await NativeConnection.connect({ address }), pool, taskQueue });
  const client = new Client({ connection: await Connection.connect({ address }) });
  const results = await worker.runUntil(async () => {
    const book = async (bookingId, card) => ({
      bookingId,
      result: await client.workflow.execute('bookingSaga', {
        taskQueue,
        workflowId: 'booking-' + bookingId,
        args: [{ bookingId, nights: 2, card, correlationId: 'corr-' + bookingId }],
      }),
    });
    return [await book(process.env.BOOKED_ID, 'visa'), await book(process.env.DECLINED_ID, 'declined')];
  });
  await pool.end();
  process.stdout.write('\\nRESULT ' + JSON.stringify(results) + '\\n');
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
`,
    );
    const booked = `pkg-${process.pid}-ok`;
    const declined = `pkg-${process.pid}-declined`;
    const { stdout } = await run(process.execPath, ['build/main.js'], {
      cwd: app,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: testEnv('temporalAddress'),
        DATABASE_URL: db.url,
        BOOKED_ID: booked,
        DECLINED_ID: declined,
      },
      maxBuffer: 16 * 1024 * 1024,
    });
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line && JSON.parse(line.slice('RESULT '.length))).toEqual([
      { bookingId: booked, result: 'BOOKED' },
      { bookingId: declined, result: 'CANCELLED: CardDeclined' },
    ]);
    const types = async (id: string) => (await readStream(db.pool, `booking-${id}`)).map((e) => e.eventType);
    expect(await types(booked)).toEqual(['booking.room_held', 'booking.charged', 'booking.confirmed']);
    expect(await types(declined)).toEqual(['booking.room_held', 'booking.room_released', 'booking.cancelled']);
  }, 180_000);
});

/** The installed `saga` command, run in the team's project with its plugin named. */
const PLUGIN_ENV = { SAGA_PLUGINS: './build/booking.plugin.js', PAYMENT_ADAPTER: 'simulator' };
const saga = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(path.join(app, 'node_modules', '.bin', 'saga'), args, {
    cwd: app,
    env: { ...process.env, ...PLUGIN_ENV, DATABASE_URL: db.url, TEMPORAL_ADDRESS: testEnv('temporalAddress'), ...env },
    maxBuffer: 16 * 1024 * 1024,
  });

/** A long-running `saga` role of the team's project; resolves once its log says `ready`. */
async function startRole(args: string[], ready: string, env: NodeJS.ProcessEnv): Promise<() => string> {
  const child = spawn(path.join(app, 'node_modules', '.bin', 'saga'), args, {
    cwd: app,
    env: { ...process.env, ...PLUGIN_ENV, DATABASE_URL: db.url, TEMPORAL_ADDRESS: testEnv('temporalAddress'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  const collect = (c: Buffer) => (output = (output + c.toString()).slice(-100_000));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  await waitFor(async () => output.includes(ready) || child.exitCode !== null || undefined, {
    timeoutMs: 120_000,
    description: `saga ${args[0]} to log "${ready}"`,
  });
  if (!output.includes(ready)) throw new Error(`saga ${args[0]} exited:\n${output.slice(-4000)}`);
  return () => output;
}

describe('a team registers its saga as a plugin (SAGA_PLUGINS)', () => {
  const bookingTypes = [
    'booking.cancelled',
    'booking.charged',
    'booking.confirmed',
    'booking.refunded',
    'booking.room_held',
    'booking.room_released',
  ];

  it('keeps its own event catalog: released into its lock, gated, and documented with its saga', async () => {
    await saga(['catalog', '--update-lock']);
    const lock = JSON.parse(readFileSync(path.join(app, 'events.lock.json'), 'utf8')) as { events: object };
    expect(Object.keys(lock.events).sort()).toEqual(bookingTypes);

    // The gate wants a stored sample of every released version.
    const failed = await saga(['catalog', '--check']).then(
      () => '',
      (err: { stderr: string }) => err.stderr,
    );
    expect(failed).toContain('booking.confirmed v1: no stored sample');
    const payloads: Record<string, object> = {
      'booking.room_held': { nights: 2 },
      'booking.cancelled': { reason: 'x' },
    };
    for (const type of bookingTypes) {
      mkdirSync(path.join(app, 'test/fixtures/events', type), { recursive: true });
      writeFileSync(
        path.join(app, 'test/fixtures/events', type, 'v1.json'),
        JSON.stringify({ payload: payloads[type] ?? {} }),
      );
    }
    expect((await saga(['catalog'])).stdout).toMatch(/Wrote docs\/events\.md/);
    expect((await saga(['catalog', '--check'])).stdout).toMatch(/compatible and its docs are current/);
    const docs = readFileSync(path.join(app, 'docs/events.md'), 'utf8');
    for (const type of bookingTypes) expect(docs).toContain(`\`${type}\``);
    expect(docs).toContain('bookingSaga');
    expect(docs).not.toContain('order.created');
    expect(readFileSync(path.join(app, 'docs/asyncapi.yaml'), 'utf8')).toContain('booking.confirmed');
  }, 120_000);

  it('runs the booking saga in `saga worker`; its events reach its own consumer through `saga consume`', async () => {
    // The team's migration for its consumer's table.
    await db.pool.query(
      'CREATE TABLE booking_mails (event_id uuid PRIMARY KEY, booking_id text NOT NULL, text text NOT NULL)',
    );
    const worker = await startRole(['worker'], 'worker running', { TASK_QUEUE: `pkg-orders-${process.pid}` });
    await startRole(['consume'], 'consumers started', {});
    expect(worker()).toContain('"taskQueue":"bookings"');

    const connection = await Connection.connect({ address: testEnv('temporalAddress') });
    try {
      // The installed roles encrypt payloads with the suite's keys (PAYLOAD_KEYS): so does this client.
      const client = new Client({ connection, dataConverter: testDataConverter() });
      const book = async (card: string) => {
        const bookingId = randomUUID();
        const result = await client.workflow.execute('bookingSaga', {
          taskQueue: 'bookings',
          workflowId: `booking-${bookingId}`,
          args: [{ bookingId, nights: 2, card, correlationId: randomUUID() }],
        });
        return { bookingId, result };
      };
      const booked = await book('visa');
      const declined = await book('declined');
      expect([booked.result, declined.result]).toEqual(['BOOKED', 'CANCELLED: CardDeclined']);
      const mails = await waitFor(
        async () => {
          const { rows } = await db.pool.query<{ booking_id: string; text: string }>(
            'SELECT booking_id, text FROM booking_mails WHERE booking_id = ANY($1) ORDER BY text',
            [[booked.bookingId, declined.bookingId]],
          );
          return rows.length === 2 ? rows : undefined;
        },
        { timeoutMs: 30_000, description: 'a mail per finished booking' },
      );
      expect(mails).toEqual([
        { booking_id: declined.bookingId, text: 'Cancelled: CardDeclined' },
        { booking_id: booked.bookingId, text: 'Your booking is confirmed.' },
      ]);
      // Known types: nothing dead-lettered by the project's consumers or the team's.
      const { rows } = await db.pool.query('SELECT consumer, event_type FROM dead_letters');
      expect(rows).toEqual([]);

      // The replay gate takes the team's recorded histories: unchanged code replays; a changed table does not.
      const { stdout: history } = await run(
        testEnv('temporalCli'),
        [
          'workflow',
          'show',
          '--workflow-id',
          `booking-${booked.bookingId}`,
          '--output',
          'json',
          '--address',
          testEnv('temporalAddress'),
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      mkdirSync(path.join(app, 'histories'), { recursive: true });
      writeFileSync(path.join(app, 'histories', 'booked.json'), history);
      const clean = await saga(['replay', 'histories']);
      expect(clean.stdout).toContain('1 of 1 histories replayed cleanly');
      // The package's workflow entry bundles without warnings (its source maps carry their sources).
      expect(clean.stderr).not.toMatch(/warn/i);
      const workflowFile = path.join(app, 'build', 'booking.workflow.js');
      const original = readFileSync(workflowFile, 'utf8');
      expect(original).toContain("activity: 'holdRoom'");
      // The first step now schedules another activity than the recorded run did.
      writeFileSync(workflowFile, original.replace("activity: 'holdRoom'", "activity: 'reserveRoom'"));
      try {
        const replay = await saga(['replay', 'histories']).then(
          (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
          (err: { code: number; stdout: string; stderr: string }) => err,
        );
        expect(replay.code).toBe(1);
        expect(replay.stderr).not.toMatch(/\n\s+at /); // a verdict, not a crash
        expect(replay.stdout).toMatch(/FAIL histories\/booked\.json \(bookingSaga\): .*[Nn]ondetermin/);
      } finally {
        writeFileSync(workflowFile, original);
      }
    } finally {
      await connection.close();
    }
  }, 300_000);

  it('explores the booking saga with `saga explore bookingSaga`', async () => {
    const { stdout } = await saga(['explore', 'bookingSaga', '--quick', '--json', 'explore.json']);
    expect(stdout).toMatch(/## bookingSaga: \d+ scenarios, 0 failed/);
    expect(stdout).toContain('| holdRoom |');
    const report = JSON.parse(readFileSync(path.join(app, 'explore.json'), 'utf8')) as {
      ok: boolean;
      results: { scenario: { id: string } }[];
    };
    expect(report.ok).toBe(true);
    expect(report.results.length).toBeGreaterThan(3);
    expect(existsSync(path.join(app, 'explore.json'))).toBe(true);
  }, 300_000);
});
