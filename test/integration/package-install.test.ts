import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { readStream } from '../../src/store/event-store';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testEnv } from '../helpers/env';
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
};

let dir: string;
let app: string;
let tarball: string;
let packed: string[];
let db: TestDatabase;

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
